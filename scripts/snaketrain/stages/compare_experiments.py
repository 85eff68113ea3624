"""Put the experiments side by side: results/experiments.csv and .md and the report's experiments page."""

from snaketrain.orchestration import experiments_table
from snaketrain.stage_log import stage_logging

STAGE = "compare_experiments"


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        rows = experiments_table.rows_for(params.base, params.configs, params.sweeps)
        experiments_table.write_tables(rows, output.csv, output.md, output.page)
        logger.info("%d experiments compared; best first: %s", len(rows), ", ".join(r["experiment"] for r in rows))
