"""Build and drive a separate virtual environment holding the *reference* hdmf-ai.

The reference implementation (``hdmf-ai==0.2.0`` on PyPI) imports as ``hdmf_ai``,
exactly like the package in this repository, so the two can never share an
interpreter.  Interoperability tests therefore run the reference in its own venv
and talk to it only through files and JSON printed on stdout by the scripts in
``tests/reference_scripts/``.

The venv is built once per cache directory and reused while its marker file
matches the requirements below; a lock file serialises concurrent builders
(e.g. pytest-xdist workers).  POSIX only (uses ``fcntl``).

Other environments are built the same way from other requirement lists, e.g.
``ensure_reference_venv(cache, requirements=LEGACY_ZARR_REQUIREMENTS)`` for the
older toolchain that still writes Zarr v2 stores.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "LEGACY_ZARR_REQUIREMENTS",
    "REFERENCE_REQUIREMENTS",
    "SCRIPTS_DIR",
    "ReferenceEnvUnavailable",
    "ReferenceScriptError",
    "ensure_reference_venv",
    "find_python312",
    "reference_versions",
    "run_reference",
]

#: What the reference venv must contain.  Changing this list invalidates the cache.
#: ``hdf5plugin`` is not the reference's dependency: it is what any HDF5 reader needs for the files our
#: ``fast``, ``compact`` and ``compact-lossy`` presets write (Blosc filters), so the compatibility matrix reads them.
REFERENCE_REQUIREMENTS: tuple[str, ...] = (
    "hdmf-ai==0.2.0",
    "hdmf-zarr>=0.14",
    "scikit-learn",
    "hdf5plugin",
)

#: The last toolchain that writes Zarr **v2**: hdmf-zarr 0.13 is the last release
#: pinning ``zarr<3`` (0.14 moved to zarr 3), used with the hdmf 4 line and the
#: pynwb 3 line (which requires ``hdmf<5``) of the same era.  Every distribution
#: that decides what lands on disk is pinned exactly, so the store stays the same
#: when newer releases appear.  Changing this list invalidates that cache too.
LEGACY_ZARR_REQUIREMENTS: tuple[str, ...] = (
    "hdmf-ai==0.2.0",
    "hdmf-zarr==0.13.0",
    "hdmf==4.3.1",
    "pynwb==3.1.3",
    "zarr==2.18.7",
    "numcodecs==0.15.1",
    "numpy==2.2.6",
    "h5py==3.16.0",
    "pandas==2.3.3",
    "scikit-learn==1.9.1",
)

#: Distributions whose resolved versions are recorded in ``versions.json``.
VERSION_DISTRIBUTIONS: tuple[str, ...] = (
    "hdmf-ai",
    "hdmf",
    "hdmf-zarr",
    "zarr",
    "numcodecs",
    "pynwb",
    "h5py",
    "hdf5plugin",
    "numpy",
    "scikit-learn",
)

#: Override the interpreter search (must be Python >= 3.12).
PYTHON_ENV_VAR = "HDMF_AI_REF_PYTHON"

SCRIPTS_DIR = Path(__file__).resolve().parent / "reference_scripts"
MARKER_NAME = "refenv-complete.json"
VERSIONS_NAME = "versions.json"
PIP_TIMEOUT_S = 1800.0
MIN_VERSION = (3, 12)


class ReferenceEnvUnavailable(Exception):
    """The reference venv cannot be built here; tests should skip with this message."""


class ReferenceScriptError(RuntimeError):
    """A reference script exited non-zero; the message carries its stdout/stderr."""


# --------------------------------------------------------------------------- python


def _interpreter_version(candidate: str) -> tuple[tuple[int, int], str] | None:
    """Ask a candidate for its version and real executable.

    pyenv shims exist on PATH even when the version is not activated, so a
    name on PATH proves nothing until it actually runs.
    """
    code = "import sys; print(sys.version_info[0], sys.version_info[1], sys.executable)"
    try:
        out = subprocess.run(
            [candidate, "-c", code], capture_output=True, text=True, timeout=30, check=True
        ).stdout.split(maxsplit=2)
    except (OSError, subprocess.SubprocessError):
        return None
    if len(out) != 3:
        return None
    return (int(out[0]), int(out[1])), out[2].strip()


def _pyenv_root() -> Path:
    """Where pyenv keeps its versions (``pyenv root`` if available, else ``~/.pyenv``)."""
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30, check=True).stdout.strip()
            if out:
                return Path(out)
        except (OSError, subprocess.SubprocessError):
            pass
    return Path.home() / ".pyenv"


def _version_key(path: Path) -> tuple[int, ...]:
    """Sort key so that 3.12.10 ranks above 3.12.9."""
    return tuple(int(p) for p in re.findall(r"\d+", path.name))


def _candidates() -> Iterator[str]:
    """Interpreters to try, best first: override, PATH names, then pyenv versions."""
    override = os.environ.get(PYTHON_ENV_VAR)
    if override:
        yield override
    for name in ("python3.12", "python3.13"):
        found = shutil.which(name)
        if found:
            yield found
    versions = _pyenv_root() / "versions"
    for pattern in ("3.12*", "3.13*"):
        for vdir in sorted(versions.glob(pattern), key=_version_key, reverse=True):
            exe = vdir / "bin" / "python3"
            if exe.is_file():
                yield str(exe)


def find_python312() -> str | None:
    """Return the path of a working Python >= 3.12 interpreter, or None.

    The reference venv needs a modern interpreter while the default ``python3``
    on developer machines may be older.
    """
    for candidate in _candidates():
        info = _interpreter_version(candidate)
        if info and info[0] >= MIN_VERSION:
            return info[1]
    return None


# --------------------------------------------------------------------------- venv


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock so only one process builds the venv."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _wanted_marker(base_python: str, requirements: tuple[str, ...]) -> dict[str, object]:
    """Marker content; any difference from the stored one forces a rebuild."""
    return {"requirements": list(requirements), "base_python": base_python}


def _is_complete(venv: Path, requirements: tuple[str, ...]) -> bool:
    """True if a previous build finished with the given requirement list."""
    marker = venv / MARKER_NAME
    if not marker.is_file() or not _venv_python(venv).exists():
        return False
    try:
        stored = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return bool(stored.get("requirements") == list(requirements))


def _run_checked(cmd: list[str], what: str, timeout: float) -> None:
    """Run a build step; convert any failure into ReferenceEnvUnavailable."""
    try:
        # cwd outside the repository: pip must not take its hdmf_ai.egg-info for an installed hdmf-ai
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=_clean_env(), cwd=Path(cmd[0]).parent
        )
    except subprocess.TimeoutExpired as exc:
        raise ReferenceEnvUnavailable(f"{what} timed out after {timeout:.0f}s") from exc
    except OSError as exc:
        raise ReferenceEnvUnavailable(f"{what} could not start: {exc}") from exc
    if proc.returncode != 0:
        tail = (proc.stdout[-2000:] + "\n" + proc.stderr[-4000:]).strip()
        raise ReferenceEnvUnavailable(f"{what} failed (exit {proc.returncode}):\n{tail}")


def _query_versions(python: Path) -> dict[str, str | None]:
    """Ask the venv which versions pip actually resolved."""
    code = (
        "import json, sys, importlib.metadata as m\n"
        "def v(n):\n"
        "    try: return m.version(n)\n"
        "    except m.PackageNotFoundError: return None\n"
        f"d = {{n: v(n) for n in {list(VERSION_DISTRIBUTIONS)!r}}}\n"
        "d['python'] = sys.version.split()[0]\n"
        "print(json.dumps(d))\n"
    )
    proc = subprocess.run(
        # -P and a neutral cwd: the repository's own hdmf_ai.egg-info (from `pip install -e .`) must not be
        # found on sys.path and reported as the reference's version
        [str(python), "-E", "-s", "-P", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_env(),
        cwd=Path(python).parent,
    )
    if proc.returncode != 0:
        raise ReferenceEnvUnavailable(f"cannot query reference versions: {proc.stderr[-2000:]}")
    versions: dict[str, str | None] = json.loads(proc.stdout)
    return versions


def _build(venv: Path, base_python: str, requirements: tuple[str, ...]) -> None:
    """Create the venv from scratch and install ``requirements`` into it."""
    if venv.exists():
        shutil.rmtree(venv)
    _run_checked([base_python, "-m", "venv", str(venv)], f"creating the venv {venv}", 300)
    python = str(_venv_python(venv))
    _run_checked(
        [python, "-m", "pip", "install", "--disable-pip-version-check", *requirements],
        f"pip install of {' '.join(requirements)}",
        PIP_TIMEOUT_S,
    )
    versions = _query_versions(_venv_python(venv))
    (venv / VERSIONS_NAME).write_text(json.dumps(versions, indent=2, sort_keys=True) + "\n")
    # The marker is written last: its presence means every step above succeeded.
    (venv / MARKER_NAME).write_text(json.dumps(_wanted_marker(base_python, requirements), indent=2) + "\n")
    print(f"[refenv] built venv at {venv}: {versions}", file=sys.stderr)


def ensure_reference_venv(cache_dir: Path, requirements: tuple[str, ...] = REFERENCE_REQUIREMENTS) -> Path:
    """Return the python of the venv in ``cache_dir``, building it if needed.

    ``requirements`` are the pip requirement strings to install (default: the
    reference stack); each cache directory holds one environment, rebuilt when
    its stored requirement list differs.  Raises ReferenceEnvUnavailable when no
    Python >= 3.12 exists or pip fails, so callers can turn that into a skip
    instead of an error.
    """
    requirements = tuple(requirements)
    venv = Path(cache_dir).resolve()
    with _locked(venv.parent / f".{venv.name}.lock"):
        if _is_complete(venv, requirements):
            return _venv_python(venv)
        base_python = find_python312()
        if base_python is None:
            raise ReferenceEnvUnavailable(
                "no Python >= 3.12 found (tried python3.12/python3.13 on PATH, "
                f"pyenv versions 3.12*/3.13*, and ${PYTHON_ENV_VAR})"
            )
        started = time.monotonic()
        try:
            _build(venv, base_python, requirements)
        except ReferenceEnvUnavailable:
            shutil.rmtree(venv, ignore_errors=True)
            raise
        print(f"[refenv] build took {time.monotonic() - started:.1f}s", file=sys.stderr)
        return _venv_python(venv)


def reference_versions(python: Path) -> dict[str, str | None]:
    """Versions of the reference stack (read from versions.json, else queried live)."""
    stored = Path(python).parent.parent / VERSIONS_NAME
    if stored.is_file():
        versions: dict[str, str | None] = json.loads(stored.read_text())
        return versions
    return _query_versions(Path(python))


# --------------------------------------------------------------------------- scripts


def _clean_env() -> dict[str, str]:
    """Environment without variables that could leak this repo's hdmf_ai into the venv.

    PYNWB_NO_CACHE_DIR matters: hdmf-zarr imports pynwb, which pickles its type
    map into ~/.cache/pynwb-hdmf/<pynwb>-<hdmf>/ -- a path shared with any other
    venv holding the same versions.  If hdmf_ai classes are registered first the
    pickle fails half-written and every later ``import pynwb`` dies with EOFError.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.pop("VIRTUAL_ENV", None)
    env["PYTHONNOUSERSITE"] = "1"
    env["PYNWB_NO_CACHE_DIR"] = "1"
    return env


def _as_text(output: str | bytes | None) -> str:
    """TimeoutExpired may carry bytes even in text mode; make it printable."""
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def _script_path(script: str) -> Path:
    """Resolve a bare script name against tests/reference_scripts/."""
    path = Path(script)
    if not path.is_absolute() and not path.exists():
        path = SCRIPTS_DIR / script
    if not path.is_file():
        raise FileNotFoundError(f"reference script not found: {script}")
    return path


def run_reference(python: Path, script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run a reference script in the reference venv and return the finished process.

    ``-E -s`` keep PYTHONPATH and user site-packages out, so the script sees only
    the venv (the script's own directory stays on sys.path for sibling imports).
    Raises ReferenceScriptError with both output streams on a non-zero exit or timeout.
    """
    path = _script_path(script)
    cmd = [str(python), "-E", "-s", str(path), *map(str, args)]
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_clean_env(),
            cwd=path.parent,
        )
    except subprocess.TimeoutExpired as exc:
        raise ReferenceScriptError(
            f"{path.name} timed out after {timeout}s\nstdout:\n{_as_text(exc.stdout)}\nstderr:\n{_as_text(exc.stderr)}"
        ) from exc
    if proc.returncode != 0:
        raise ReferenceScriptError(
            f"{path.name} {' '.join(map(str, args))} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc
