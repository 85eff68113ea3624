"""A real HTTP webhook on loopback for the alert tests: records every POST, answers from a script."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Webhook:
    """Serve on 127.0.0.1; `statuses` are the answers to the first POSTs, then 200."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.requests = []  # (monotonic time, path, parsed JSON body, content type)
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                hook.requests.append((time.monotonic(), self.path, json.loads(body), self.headers["Content-Type"]))
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/snaketrain"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def payloads(self):
        return [request[2] for request in self.requests]


def closed_port_url():
    """A loopback URL where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/snaketrain"
