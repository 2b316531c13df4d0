"""Reading results files from URLs: ``s3://bucket/key`` and ``https://...``, fetching only the bytes needed.

HDF5 files are read through a file object that fetches byte ranges on demand (fsspec, with a small block
cache); Zarr stores through zarr's ``FsspecStore``, one request per metadata document or chunk. Both need
the ``remote`` extra (``pip install hdmf-ai[remote]``: fsspec, s3fs, aiohttp).

S3 credentials come from where boto does look: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (and
``AWS_SESSION_TOKEN``), ``AWS_PROFILE`` or ``storage_options={"profile": ...}``, the shared credentials and
config files, or the machine's role. Without any, the bucket is read anonymously, as public archives (DANDI,
open-data buckets) are. An S3-compatible store (MinIO, Ceph, moto) is named by
``storage_options={"endpoint_url": "http://host:port"}`` or ``$AWS_ENDPOINT_URL_S3``.

Example: ``hdmf_ai.read("s3://bucket/results.zarr", storage_options={"endpoint_url": "http://127.0.0.1:9000"})``
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from hdmf.backends.io import HDMFIO
from hdmf.build import BuildManager

from ..errors import MissingDependencyError, ResultsFileError
from .backend import Backend, backend_for

__all__ = ["HDF5_BLOCK_SIZE", "HDF5_CACHE", "is_url", "open_remote", "resolve_options", "url_path"]

#: fsspec's cache for remote HDF5 files and its block size: measured in ``benchmarks/remote.py``
#: (``benchmarks/REMOTE.md``). HDF5 reads metadata in small scattered pieces and data in whole chunks;
#: 64 KiB blocks keep small reads small, and the LRU of blocks keeps metadata read once.
HDF5_CACHE = "blockcache"
HDF5_BLOCK_SIZE = 64 * 1024

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]+)://")
_EXPLICIT_S3_CREDENTIALS = ("anon", "key", "secret", "token", "profile", "session")


def is_url(path: object) -> bool:
    """Whether ``path`` is a URL (``s3://``, ``https://``, any fsspec protocol) rather than a local path."""
    if not isinstance(path, str):
        return False
    found = _SCHEME.match(path)
    return found is not None and found.group(1).lower() != "file"


def url_path(url: str) -> str:
    """The path part of a URL (no query string or fragment): what tells its format by its suffix."""
    return urlsplit(url).path


def resolve_options(url: str, storage_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """fsspec's options for ``url``: the caller's, plus anonymous access to S3 when no credentials exist."""
    options = dict(storage_options or {})
    if urlsplit(url).scheme.lower() in ("s3", "s3a") and not any(k in options for k in _EXPLICIT_S3_CREDENTIALS):
        options["anon"] = not _aws_credentials_found()
    return options


def _aws_credentials_found() -> bool:
    """Whether boto's usual chain (environment, profile, config files, machine role) yields credentials."""
    import botocore.session

    try:
        return botocore.session.Session().get_credentials() is not None
    except Exception:  # a broken profile or config file: leave the decision (and its error) to s3fs
        return True


def _filesystem(url: str, options: Mapping[str, Any]) -> tuple[Any, str]:
    try:
        import fsspec.core
    except ImportError:
        raise MissingDependencyError(f"reading {url} needs fsspec; pip install 'hdmf-ai[remote]'") from None
    try:
        return fsspec.core.url_to_fs(url, **options)
    except ImportError as err:  # the protocol's package (s3fs, aiohttp) is missing
        raise MissingDependencyError(f"reading {url} needs {err.name or err}; pip install 'hdmf-ai[remote]'") from err


@contextlib.contextmanager
def open_remote(
    url: str, *, backend: str | None, manager: BuildManager, storage_options: Mapping[str, Any] | None = None
) -> Iterator[tuple[HDMFIO, Backend]]:
    """An hdmf IO object reading ``url``, with the file's cached namespaces loaded into ``manager``.

    Raises FileNotFoundError when nothing is at ``url`` and :class:`ResultsFileError` when it cannot be read.
    """
    chosen = backend_for(url_path(url), backend)
    options = resolve_options(url, storage_options)
    fs, fs_path = _filesystem(url, options)
    with contextlib.ExitStack() as stack:
        try:
            if chosen.name == "hdf5":
                io = _open_hdf5(url, fs, fs_path, manager, stack)
            else:
                io = _open_zarr(url, fs, fs_path, manager, options)
        except (ResultsFileError, MissingDependencyError, FileNotFoundError):
            raise
        except PermissionError as err:
            raise ResultsFileError(
                url, f"access denied ({err}); give credentials (environment, profile or storage_options)"
            ) from err
        except Exception as err:
            raise ResultsFileError(url, f"cannot be opened as {chosen.name}: {err}") from err
        try:
            yield io, chosen
        finally:
            io.close()


def _require(fs: Any, fs_path: str, url: str) -> None:
    if not fs.exists(fs_path):
        raise FileNotFoundError(f"no results file at {url}")


def hdf5_handle(fs: Any, fs_path: str) -> Any:
    """The file object h5py reads a remote HDF5 file through: byte ranges on demand, cached in blocks."""
    return fs.open(fs_path, "rb", cache_type=HDF5_CACHE, block_size=HDF5_BLOCK_SIZE)


def _open_hdf5(url: str, fs: Any, fs_path: str, manager: BuildManager, stack: contextlib.ExitStack) -> HDMFIO:
    from hdmf.backends.hdf5 import HDF5IO

    from .hdf5 import checked_file, load_namespaces

    try:
        handle = stack.enter_context(hdf5_handle(fs, fs_path))
    except FileNotFoundError:
        raise FileNotFoundError(f"no results file at {url}") from None
    try:
        file = checked_file(handle, source=url)
    except (ResultsFileError, PermissionError):
        raise
    except Exception as err:
        raise ResultsFileError(url, f"is not a readable HDF5 file: {err}") from err
    stack.callback(file.close)
    load_namespaces(file, manager.type_map)
    return HDF5IO(file=file, mode="r", manager=manager)


def _open_zarr(url: str, fs: Any, fs_path: str, manager: BuildManager, options: dict[str, Any]) -> HDMFIO:
    from zarr.storage import FsspecStore

    from .safety import GuardedStore
    from .zarr import load_namespaces, reading_io

    root = fs_path.rstrip("/")
    v2 = not fs.exists(f"{root}/zarr.json")
    if v2 and not fs.exists(f"{root}/.zgroup"):
        _require(fs, fs_path, url)
        raise ResultsFileError(url, "is not a Zarr store (no zarr.json or .zgroup at its root)")
    store = GuardedStore(FsspecStore.from_url(url, storage_options=options, read_only=True), source=url)
    load_namespaces(store, manager.type_map, v2=v2)
    return reading_io(store, manager=manager, location=url, v2=v2)
