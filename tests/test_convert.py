"""``convert`` and ``hdmf-ai convert``: the same tables, new storage settings, either format."""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest
import zarr
from builders import assert_tables_equal, full_table

import hdmf_ai
from hdmf_ai.cli import main
from hdmf_ai.io.convert import convert
from hdmf_ai.io.policy import StorageError


@pytest.mark.parametrize(("start", "end"), [(".h5", ".zarr"), (".zarr", ".h5"), (".h5", ".h5"), (".zarr", ".zarr")])
def test_convert_keeps_every_table_and_applies_the_new_preset(tmp_path: Path, start: str, end: str) -> None:
    rt = full_table(120)
    source = hdmf_ai.write(rt, tmp_path / f"in{start}", preset="uncompressed")
    target = convert(source, tmp_path / f"out{end}", preset="compact")
    assert_tables_equal(hdmf_ai.read(target), rt)
    assert {t.name for t in hdmf_ai.list_tables(target)} == {"results", "source"}
    if end == ".h5":
        with h5py.File(target, "r") as f:
            assert "32001" in f["results/predicted_probability"]._filters  # Blosc, as compact sets on HDF5
    else:
        codecs = zarr.open_group(str(target), mode="r")["results/predicted_probability"].metadata.to_dict()["codecs"]
        assert "zstd" in str(codecs)


def test_the_cli_converts_with_a_preset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rt = full_table(30)
    source = hdmf_ai.write(rt, tmp_path / "in.zarr")
    assert main(["convert", str(source), str(tmp_path / "out.h5"), "--preset", "portable"]) == 0
    assert "out.h5 (portable)" in capsys.readouterr().out
    assert_tables_equal(hdmf_ai.read(tmp_path / "out.h5"), rt)
    with h5py.File(tmp_path / "out.h5", "r") as f:
        assert f["results/predicted_probability"].compression == "gzip"


def test_the_cli_refuses_an_unknown_preset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = hdmf_ai.write(full_table(5), tmp_path / "in.h5")
    assert main(["convert", str(source), str(tmp_path / "out.h5"), "--preset", "tiny"]) == 2
    assert "invalid choice: 'tiny'" in capsys.readouterr().err
    assert not (tmp_path / "out.h5").exists()


def test_convert_refuses_an_existing_target_and_an_unknown_preset(tmp_path: Path) -> None:
    source = hdmf_ai.write(full_table(5), tmp_path / "in.h5")
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        convert(source, source)
    with pytest.raises(StorageError, match="unknown storage preset 'tiny'"):
        convert(source, tmp_path / "out.zarr", preset="tiny")
    assert not (tmp_path / "out.zarr").exists()
    assert_tables_equal(hdmf_ai.read(convert(source, source, preset="fast", overwrite=True)), full_table(5))
