"""Servers on 127.0.0.1 for the remote-read tests and benchmarks, counting what they serve.

- :class:`MotoS3Server`: moto's S3 server, run from its own virtual environment under ``.cache/motoenv``
  (built with ``refenv.ensure_reference_venv``). moto pulls boto3/botocore at versions that fight s3fs's
  aiobotocore, so the two never share a venv; the project's venv keeps s3fs through the ``remote`` extra.
- :class:`RangeHTTPServer`: a plain HTTP/1.1 server of one directory with ``Range`` support, for the
  ``https://``-style reads (plain ``http://`` on loopback).

Both count requests and response body bytes on the server side: :meth:`counts` and :meth:`reset`.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import re
import subprocess
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self
from urllib.parse import quote, unquote, urlsplit

from refenv import ReferenceEnvUnavailable, ensure_reference_venv

__all__ = [
    "MOTO_REQUIREMENTS",
    "Counts",
    "MotoS3Server",
    "RangeHTTPServer",
    "ReferenceEnvUnavailable",
    "ensure_moto_python",
    "moto_versions",
]

#: The moto server's environment; changing this list rebuilds it.
MOTO_REQUIREMENTS: tuple[str, ...] = ("moto[server]==5.2.5",)

REPO = Path(__file__).resolve().parents[1]
SERVER_SCRIPT = Path(__file__).resolve().parent / "servers" / "moto_counting_server.py"
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Counts:
    """Requests served and response body bytes sent, since the last reset."""

    requests: int
    bytes: int
    by_method: dict[str, int]


def ensure_moto_python(cache_dir: Path | None = None) -> Path:
    """The python of the moto venv (built on first use); raises ReferenceEnvUnavailable when it cannot be."""
    return ensure_reference_venv(cache_dir or REPO / ".cache" / "motoenv", requirements=MOTO_REQUIREMENTS)


def moto_versions(python: Path) -> dict[str, str]:
    """What pip resolved in the moto venv (its versions.json lists the reference stack's names instead)."""
    code = (
        "import json, importlib.metadata as m\n"
        "print(json.dumps({n: m.version(n) for n in ('moto', 'boto3', 'botocore', 'werkzeug', 'flask')}))"
    )
    out = subprocess.run([str(python), "-E", "-s", "-c", code], capture_output=True, text=True, timeout=60, check=True)
    versions: dict[str, str] = json.loads(out.stdout)
    return versions


class MotoS3Server:
    """moto's S3 server in a subprocess on 127.0.0.1, on a port the server picks itself (no race for it).

    Example: ``with MotoS3Server(ensure_moto_python()) as s3: s3.endpoint_url``
    """

    def __init__(self, python: Path) -> None:
        self.python = python
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        # stdin stays open: the server exits when it closes, so it never outlives this process
        self.process = subprocess.Popen(
            [str(self.python), "-E", "-s", str(SERVER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = _read_line(self.process.stdout, START_TIMEOUT_S)
        if not line:
            self.stop()
            raise RuntimeError(f"the moto server did not start within {START_TIMEOUT_S:.0f}s")
        self.port = int(json.loads(line)["port"])
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def counts(self) -> Counts:
        return _counts(json.loads(_get(f"{self.endpoint_url}/_counts")))

    def reset(self) -> None:
        _get(f"{self.endpoint_url}/_reset", method="POST")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read_line(stream: IO[str] | None, timeout: float) -> str:
    """The first line of ``stream``, or '' if none comes within ``timeout`` seconds."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline() if stream else ""), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else ""


def _get(url: str, method: str = "GET") -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=30) as response:
        body: bytes = response.read()
        return body


def _counts(raw: dict[str, Any]) -> Counts:
    return Counts(requests=int(raw["requests"]), bytes=int(raw["bytes"]), by_method=dict(raw["by_method"]))


# -- plain HTTP with Range ----------------------------------------------------------------------------------

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_PIECE = 64 * 1024


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers and aiohttp use it
    server: _CountingHTTPServer

    def handle(self) -> None:
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):  # a client hangs up a kept-alive connection
            super().handle()

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the base class's name)
        pass

    def _serve(self, *, send_body: bool) -> None:
        self.server.count(self.command, 0)
        target = self.server.resolve(self.path)
        if target is None:
            self._reply(404, b"", send_body=send_body)
        elif target.is_dir():
            self._reply(200, _listing(target, self.path), send_body=send_body, content_type="text/html")
        else:
            self._serve_file(target, send_body=send_body)

    def _serve_file(self, target: Path, *, send_body: bool) -> None:
        size = target.stat().st_size
        wanted = _RANGE.match(self.headers.get("Range", "").strip())
        if wanted is None:
            self._reply(200, target.read_bytes() if send_body else b"", send_body=send_body, length=size)
            return
        first, last = wanted.groups()
        start = size - int(last) if not first else int(first)
        stop = size - 1 if not first or not last else min(int(last), size - 1)
        if start >= size or start > stop:
            self._reply(416, b"", send_body=send_body, extra={"Content-Range": f"bytes */{size}"})
            return
        with target.open("rb") as fh:
            fh.seek(start)
            body = fh.read(stop - start + 1)
        self._reply(206, body, send_body=send_body, extra={"Content-Range": f"bytes {start}-{stop}/{size}"})

    def _reply(
        self,
        status: int,
        body: bytes,
        *,
        send_body: bool,
        length: int | None = None,
        content_type: str = "application/octet-stream",
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.send_header("Accept-Ranges", "bytes")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if send_body:
            self._send_body(body)

    def _send_body(self, body: bytes) -> None:
        # in pieces, counting each: a client that stops reading (remfile sizes a file with a GET it drops)
        # is charged only for what reached the socket
        view = memoryview(body)
        try:
            for start in range(0, len(view), _PIECE):
                self.wfile.write(view[start : start + _PIECE])
                self.server.count(None, len(view[start : start + _PIECE]))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _listing(directory: Path, url_path: str) -> bytes:
    base = urlsplit(url_path).path.rstrip("/")
    links = "".join(f'<a href="{base}/{quote(p.name)}">{p.name}</a>\n' for p in sorted(directory.iterdir()))
    return f"<html><body>\n{links}</body></html>\n".encode()


class _CountingHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root.resolve()
        self.lock = threading.Lock()
        self.raw: dict[str, Any] = {}
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.raw = {"requests": 0, "bytes": 0, "by_method": {}}

    def count(self, method: str | None, n_bytes: int) -> None:
        with self.lock:
            if method is not None:
                self.raw["requests"] += 1
                self.raw["by_method"][method] = self.raw["by_method"].get(method, 0) + 1
            self.raw["bytes"] += n_bytes

    def resolve(self, url_path: str) -> Path | None:
        """The file or directory under the root that ``url_path`` names; None outside the root or missing."""
        candidate = (self.root / unquote(urlsplit(url_path).path).lstrip("/")).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.exists():
            return None
        return candidate


class RangeHTTPServer:
    """Serves ``root`` at ``http://127.0.0.1:<port>/`` from a thread, with ``Range`` requests answered.

    Example: ``with RangeHTTPServer(tmp_path) as web: hdmf_ai.read(f"{web.url}/results.h5")``
    """

    def __init__(self, root: Path) -> None:
        self.server = _CountingHTTPServer(root)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def counts(self) -> Counts:
        with self.server.lock:
            return _counts(json.loads(json.dumps(self.server.raw)))

    def reset(self) -> None:
        self.server.reset()

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
