"""What ``import hdmf_ai`` and reading an HDF5 file load: no Zarr backend, hdmf-zarr, pynwb or matplotlib
until a Zarr store, an NWB file or a figure asks for them; and the public API works after, in the same process.

Each case runs in a fresh interpreter (``sys.modules`` of this one holds whatever other tests imported).
hdmf itself imports zarr (``hdmf.utils``) and pandas (``hdmf.common``) when they are installed: those are
compared against what ``import h5py, hdmf.common`` alone loads, and a run with zarr made unimportable shows
that reading HDF5 never needs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import zarr

#: what reading an HDF5 results file must not load (beyond what hdmf loads by itself)
LAZY = ("zarr", "hdmf_zarr", "pynwb", "matplotlib", "sklearn", "hdmf_ai.io.zarr", "hdmf_ai.io.zarrguard")

WRITE_AND_READ = """
import json, sys
import numpy as np
import hdmf_ai

rt = hdmf_ai.ResultsTable(name="results", description="imports")
rt.add_tvt_split(["train", "test", "test", "validate"])
rt.add_true_label([0, 1, 2, 1])
rt.add_predicted_class([0, 1, 1, 1])
hdmf_ai.write(rt, {path!r})
with hdmf_ai.open({path!r}) as lazy:
    opened = lazy["predicted_class"].data[:].tolist()
back = hdmf_ai.read({path!r})
tables = [t.name for t in hdmf_ai.list_tables({path!r})]
print(json.dumps({{
    "loaded": sorted(m for m in {lazy!r} if sys.modules.get(m) is not None),
    "opened": opened,
    "read": back.true_label.data.tolist(),
    "tables": tables,
}}))
"""


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _loaded_by(statement: str) -> set[str]:
    return set(
        json.loads(_run(f"{statement}\nimport json, sys\nprint(json.dumps([m for m in {LAZY!r} if m in sys.modules]))"))
    )


def test_import_and_an_hdf5_round_trip_load_nothing_hdmf_does_not(tmp_path: Path) -> None:
    path = tmp_path / "t.h5"
    found = json.loads(_run(WRITE_AND_READ.format(path=str(path), lazy=LAZY)))
    baseline = _loaded_by("import h5py, hdmf.common")
    assert set(found["loaded"]) <= baseline, f"loaded beyond hdmf's own: {set(found['loaded']) - baseline}"
    assert not {"hdmf_zarr", "pynwb", "matplotlib", "sklearn", "hdmf_ai.io.zarr"} & set(found["loaded"])
    with h5py.File(path, "r") as f:  # an independent reader of the file the subprocess wrote
        assert found["opened"] == f["results/predicted_class"][:].tolist()
        assert found["read"] == f["results/true_label"][:].tolist()
    assert found["tables"] == ["results"]


def test_reading_hdf5_works_with_zarr_unimportable(tmp_path: Path) -> None:
    path = tmp_path / "t.h5"
    block = "import sys\nfor name in ('zarr', 'hdmf_zarr', 'pynwb', 'matplotlib'):\n    sys.modules[name] = None\n"
    found = json.loads(_run(block + WRITE_AND_READ.format(path=str(path), lazy=LAZY)))
    assert found["loaded"] == []
    with h5py.File(path, "r") as f:
        assert found["opened"] == f["results/predicted_class"][:].tolist()


def test_a_zarr_store_after_an_hdf5_file_loads_its_backend_then(tmp_path: Path) -> None:
    h5, store = tmp_path / "t.h5", tmp_path / "t.zarr"
    out = _run(
        WRITE_AND_READ.format(path=str(h5), lazy=LAZY)
        + f"""
assert "hdmf_ai.io.zarr" not in sys.modules
hdmf_ai.write(rt, {str(store)!r})
print(json.dumps(hdmf_ai.read({str(store)!r}).predicted_class.data.tolist()))
print(json.dumps(sorted(m for m in ("hdmf_zarr", "hdmf_ai.io.zarr") if m in sys.modules)))
"""
    )
    lines = out.strip().splitlines()
    assert json.loads(lines[-1]) == ["hdmf_ai.io.zarr", "hdmf_zarr"]
    group = zarr.open_group(str(store), mode="r")
    assert json.loads(lines[-2]) == np.asarray(group["results/predicted_class"][:]).tolist()


def test_the_registry_suffixes_are_the_backends_own() -> None:
    from hdmf_ai.io.registry import backend_for, backend_names

    for name in backend_names():
        backend = backend_for("x", name)
        for suffix in backend.suffixes:
            assert backend_for(f"file{suffix}") is backend
