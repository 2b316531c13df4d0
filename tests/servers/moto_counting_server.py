"""Run moto's S3 server on 127.0.0.1 with a free port, counting what it serves.

Runs in the moto virtual environment (``tests/serverenv.py`` builds it), never in the project's own: moto
pulls boto3/botocore at versions that fight s3fs's aiobotocore. Prints ``{"port": N}`` on stdout once it
listens, and exits when its standard input closes, so a test session that dies takes the server with it.

Besides S3, two paths answer (no bucket name starts with ``_``, so they cannot clash with S3's path-style
addressing): ``GET /_counts`` returns the requests and body bytes served since the last ``POST /_reset``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

COUNTS_PATH = "/_counts"
RESET_PATH = "/_reset"


class CountingApp:
    """A WSGI middleware that counts requests by method and the response body bytes sent."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.counts: dict[str, Any] = {}
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.counts = {"requests": 0, "bytes": 0, "by_method": {}}

    def _add(self, method: str, n_bytes: int, request: bool) -> None:
        with self.lock:
            if request:
                self.counts["requests"] += 1
                self.counts["by_method"][method] = self.counts["by_method"].get(method, 0) + 1
            self.counts["bytes"] += n_bytes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path in (COUNTS_PATH, RESET_PATH):
            if path == RESET_PATH:
                self.reset()
            with self.lock:
                body = json.dumps(self.counts).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        self._add(method, 0, request=True)
        return self._counted(self.app(environ, start_response), method)

    def _counted(self, chunks: Iterable[bytes], method: str) -> Iterable[bytes]:
        try:
            for chunk in chunks:
                self._add(method, len(chunk), request=False)
                yield chunk
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()


def main() -> None:
    # imported here: pytest imports this module for doctests in the project's venv, which has no moto
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    app = CountingApp(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    os.environ["MOTO_PORT"] = str(server.port)  # moto builds some URLs from it, as its own server does
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.port}), flush=True)
    sys.stdin.read()  # returns when the parent closes the pipe or dies
    server.shutdown()


if __name__ == "__main__":
    main()
