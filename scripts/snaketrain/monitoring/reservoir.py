"""A bounded, uniform sample of the inputs the model service answered (reservoir sampling, algorithm R), written
atomically as CSV so that the drift check can read it (monitoring.current). It keeps the input columns the
model takes and nothing else: never headers, tokens or other request metadata."""

import random
import threading


class Reservoir:
    def __init__(self, path, size, columns, seed=0, write_every=100):
        self.path, self.size, self.columns = str(path), int(size), list(columns)
        self.rows, self.seen, self._unwritten = [], 0, 0
        self.write_every = write_every
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, records):
        """Offer rows ({column: value}); each of the rows seen so far stays in the sample with equal chance."""
        with self._lock:
            for record in records:
                row = [record.get(column) for column in self.columns]
                self.seen += 1
                if len(self.rows) < self.size:
                    self.rows.append(row)
                else:
                    slot = self._random.randrange(self.seen)
                    if slot < self.size:
                        self.rows[slot] = row
                self._unwritten += 1
            due = self._unwritten >= self.write_every or self.seen == len(records)
            if due:
                self._unwritten = 0
                rows = list(self.rows)
        if due:
            self.write(rows)

    def write(self, rows=None):
        import pandas as pd

        from snaketrain.table_io import write_csv

        with self._lock:
            rows = list(self.rows) if rows is None else rows
        write_csv(pd.DataFrame(rows, columns=self.columns), self.path)
