"""The one loopback HTTP server of the tests: a real server on 127.0.0.1 that answers from a script and records
every request, for data URLs (GET) and webhooks (POST) alike."""

import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Request:
    time: float  # time.monotonic() when it arrived
    method: str
    path: str
    body: bytes
    headers: dict

    def json(self):
        return json.loads(self.body)


class LoopbackServer:
    """`with LoopbackServer(answers=[(503, b""), ...], default=(200, b"ok")) as server:` serves on a free port of
    127.0.0.1; the scripted (status, body) answers go to the first requests in order, then `default` to every
    other. `server.requests` holds every request received."""

    def __init__(self, answers=(), default=(200, b"ok"), content_type="text/plain"):
        self.answers = list(answers)
        self.default = default
        self.requests = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server._lock:
                    server.requests.append(
                        Request(time.monotonic(), self.command, self.path, body, dict(self.headers.items()))
                    )
                    status, text = server.answers.pop(0) if server.answers else server.default
                data = text.encode() if isinstance(text, str) else text
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = answer  # noqa: N815 - the names http.server calls

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    @property
    def payloads(self):
        """The JSON bodies received (what a webhook was sent)."""
        return [request.json() for request in self.requests]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port_url(path="/"):
    """A loopback URL where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
