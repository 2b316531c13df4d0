"""Reading results files from S3 and HTTP: a real S3-compatible server (moto, in its own venv) and a plain HTTP
server with Range support, both on 127.0.0.1, started and stopped by this module.

The servers count requests and body bytes, so the tests can show that a lazy read fetches only what it needs.
Credentials resolve as boto resolves them; each test runs with AWS variables cleared and the instance metadata
lookup disabled, so nothing reaches beyond loopback.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from builders import assert_tables_equal, column_values, full_table

import hdmf_ai
from hdmf_ai.io import remote

s3fs = pytest.importorskip("s3fs", reason="the remote extra (s3fs) is not installed")
pytest.importorskip("aiohttp", reason="the remote extra (aiohttp) is not installed")

from serverenv import MotoS3Server, RangeHTTPServer, ReferenceEnvUnavailable, ensure_moto_python  # noqa: E402

SUFFIX = {"hdf5": ".h5", "zarr": ".zarr"}
BUCKET = "hdmf-ai-tests"
KEY, SECRET = "testing-key", "testing-secret"
N_ROWS = 20_000


@pytest.fixture(scope="session")
def s3() -> Iterator[MotoS3Server]:
    try:
        python = ensure_moto_python()
    except ReferenceEnvUnavailable as err:  # no Python >= 3.12 or no package index: an optional dependency
        pytest.skip(f"the moto server environment cannot be built here: {err}")
    with MotoS3Server(python) as server:
        yield server


@pytest.fixture(scope="session")
def local_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, hdmf_ai.ResultsTable]:
    """One file per backend, with every column, and a store missing a chunk."""
    out = tmp_path_factory.mktemp("remote")
    table = full_table(N_ROWS)
    for backend, suffix in SUFFIX.items():
        hdmf_ai.write(table, out / f"results{suffix}", backend=backend)
    broken = hdmf_ai.write(full_table(50), out / "broken.zarr")
    (broken / "results" / "predicted_class" / "c" / "0").unlink()
    return out, table


@pytest.fixture(scope="session")
def bucket(s3: MotoS3Server, local_files: tuple[Path, hdmf_ai.ResultsTable]) -> str:
    """The files uploaded: private under ``private/``, readable by anyone under ``public/``."""
    out, _ = local_files
    fs = s3fs.S3FileSystem(key=KEY, secret=SECRET, endpoint_url=s3.endpoint_url)
    fs.mkdir(BUCKET)
    for name in ("results.h5", "results.zarr", "broken.zarr"):
        for prefix in ("private", "public"):
            fs.put(str(out / name), f"{BUCKET}/{prefix}/{name}", recursive=(out / name).is_dir())
    for key in fs.find(f"{BUCKET}/public"):
        fs.chmod(key, acl="public-read")
    return BUCKET


@pytest.fixture(scope="session")
def web(local_files: tuple[Path, hdmf_ai.ResultsTable]) -> Iterator[RangeHTTPServer]:
    with RangeHTTPServer(local_files[0]) as server:
        yield server


@pytest.fixture(autouse=True)
def no_ambient_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials, profile or endpoint from this machine; no instance-metadata lookup off loopback."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def signed(s3: MotoS3Server) -> dict[str, Any]:
    return {"endpoint_url": s3.endpoint_url, "key": KEY, "secret": SECRET}


def stored_bytes(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def stored_column_bytes(path: Path, column: str) -> int:
    if path.is_file():
        with h5py.File(path, "r") as f:
            return int(f[column].id.get_storage_size())
    return stored_bytes(path / column)


# -- reading through the public API -----------------------------------------------------------------------


@pytest.mark.parametrize("backend", sorted(SUFFIX))
def test_read_from_s3_returns_the_table_written(
    s3: MotoS3Server, bucket: str, local_files: tuple[Path, hdmf_ai.ResultsTable], backend: str
) -> None:
    back = hdmf_ai.read(f"s3://{bucket}/private/results{SUFFIX[backend]}", storage_options=signed(s3))
    assert_tables_equal(back, local_files[1])


@pytest.mark.parametrize("backend", sorted(SUFFIX))
def test_read_over_http_returns_the_table_written(
    web: RangeHTTPServer, local_files: tuple[Path, hdmf_ai.ResultsTable], backend: str
) -> None:
    back = hdmf_ai.read(f"{web.url}/results{SUFFIX[backend]}")
    assert_tables_equal(back, local_files[1])


@pytest.mark.parametrize("backend", sorted(SUFFIX))
def test_list_tables_of_a_url_matches_the_local_file(
    s3: MotoS3Server, bucket: str, local_files: tuple[Path, hdmf_ai.ResultsTable], backend: str
) -> None:
    url = f"s3://{bucket}/private/results{SUFFIX[backend]}"
    local = local_files[0] / f"results{SUFFIX[backend]}"
    assert hdmf_ai.list_tables(url, storage_options=signed(s3)) == hdmf_ai.list_tables(local)


@pytest.mark.parametrize("backend", sorted(SUFFIX))
def test_lazy_open_fetches_only_the_rows_sliced(
    web: RangeHTTPServer, local_files: tuple[Path, hdmf_ai.ResultsTable], backend: str
) -> None:
    local = local_files[0] / f"results{SUFFIX[backend]}"
    want = column_values(local_files[1]["predicted_probability"])
    web.reset()
    with hdmf_ai.open(f"{web.url}/results{SUFFIX[backend]}") as lazy:
        opened = web.counts().bytes
        got = lazy["predicted_probability"].data[100:200]
        sliced = web.counts().bytes - opened
    np.testing.assert_array_equal(got, want[100:200])
    assert got.dtype == want.dtype
    total, column = stored_bytes(local), stored_column_bytes(local, "results/predicted_probability")
    assert opened < total / 2, f"opening fetched {opened} of {total} bytes"
    # the chunks holding rows 100-200, not the column (the column alone is most of the file)
    assert sliced < column / 2, f"a 100-row slice fetched {sliced} bytes; the column takes {column} on disk"


@pytest.mark.parametrize("backend", sorted(SUFFIX))
def test_selective_to_dataframe_of_a_url_equals_the_local_one(
    web: RangeHTTPServer, local_files: tuple[Path, hdmf_ai.ResultsTable], backend: str
) -> None:
    pytest.importorskip("pandas", reason="to_dataframe needs pandas (the analysis extra)")
    asked: dict[str, Any] = {"columns": ["true_label", "predicted_class"], "rows": slice(10, 60)}
    with hdmf_ai.open(local_files[0] / f"results{SUFFIX[backend]}") as local:
        want = local.to_dataframe(**asked)
    with hdmf_ai.open(f"{web.url}/results{SUFFIX[backend]}") as lazy:
        got = lazy.to_dataframe(**asked)
    assert got.equals(want)


@pytest.mark.parametrize("backend", sorted(SUFFIX))
def test_metrics_of_a_url_equal_those_of_the_local_file(
    s3: MotoS3Server, bucket: str, local_files: tuple[Path, hdmf_ai.ResultsTable], backend: str
) -> None:
    pytest.importorskip("pandas", reason="the analysis functions need pandas (the analysis extra)")
    from hdmf_ai import analysis

    with hdmf_ai.open(local_files[0] / f"results{SUFFIX[backend]}") as local:
        want = analysis.metrics(local)
        breakdown_want = analysis.error_breakdown(local, by="site")
    url = f"s3://{bucket}/private/results{SUFFIX[backend]}"
    with hdmf_ai.open(url, storage_options=signed(s3)) as lazy:
        got = analysis.metrics(lazy)
        breakdown_got = analysis.error_breakdown(lazy, by="site")
    assert got.equals(want)
    assert breakdown_got.groups.equals(breakdown_want.groups)
    assert (breakdown_got.test, breakdown_got.p_value) == (breakdown_want.test, breakdown_want.p_value)


# -- credentials and endpoints ----------------------------------------------------------------------------


@pytest.mark.parametrize("backend", sorted(SUFFIX))
def test_public_object_reads_anonymously_when_no_credentials_exist(
    s3: MotoS3Server, bucket: str, local_files: tuple[Path, hdmf_ai.ResultsTable], backend: str
) -> None:
    url = f"s3://{bucket}/public/results{SUFFIX[backend]}"
    assert remote.resolve_options(url, {"endpoint_url": s3.endpoint_url})["anon"] is True
    back = hdmf_ai.read(url, storage_options={"endpoint_url": s3.endpoint_url})
    assert_tables_equal(back, local_files[1])


def test_private_object_without_credentials_is_refused_naming_the_url(s3: MotoS3Server, bucket: str) -> None:
    url = f"s3://{bucket}/private/results.h5"
    with pytest.raises(hdmf_ai.ResultsFileError, match=rf"{re.escape(url)}.*(denied|Forbidden)"):
        hdmf_ai.read(url, storage_options={"endpoint_url": s3.endpoint_url})


def test_credentials_come_from_the_environment(
    s3: MotoS3Server, bucket: str, local_files: tuple[Path, hdmf_ai.ResultsTable], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    url = f"s3://{bucket}/private/results.zarr"
    assert remote.resolve_options(url, None)["anon"] is False
    back = hdmf_ai.read(url, storage_options={"endpoint_url": s3.endpoint_url})
    assert_tables_equal(back, local_files[1])


def test_credentials_come_from_a_named_profile(
    s3: MotoS3Server,
    bucket: str,
    local_files: tuple[Path, hdmf_ai.ResultsTable],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[results-reader]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    options = {"endpoint_url": s3.endpoint_url, "profile": "results-reader"}
    back = hdmf_ai.read(f"s3://{bucket}/private/results.h5", storage_options=options)
    assert_tables_equal(back, local_files[1])


def test_endpoint_comes_from_the_environment(
    s3: MotoS3Server, bucket: str, local_files: tuple[Path, hdmf_ai.ResultsTable], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)
    back = hdmf_ai.read(f"s3://{bucket}/public/results.h5", storage_options={})
    assert_tables_equal(back, local_files[1])


# -- failures name the URL --------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", sorted(SUFFIX))
def test_missing_remote_file_is_file_not_found_naming_the_url(s3: MotoS3Server, bucket: str, backend: str) -> None:
    url = f"s3://{bucket}/private/absent{SUFFIX[backend]}"
    with pytest.raises(FileNotFoundError, match=re.escape(url)):
        hdmf_ai.read(url, storage_options=signed(s3))


def test_missing_http_file_is_file_not_found(web: RangeHTTPServer) -> None:
    with pytest.raises(FileNotFoundError, match=r"absent\.h5"):
        hdmf_ai.read(f"{web.url}/absent.h5")


@pytest.mark.parametrize("where", ["s3", "http"])
def test_remote_store_missing_a_chunk_is_an_error_not_fill_values(
    s3: MotoS3Server, bucket: str, web: RangeHTTPServer, where: str
) -> None:
    url = f"s3://{bucket}/private/broken.zarr" if where == "s3" else f"{web.url}/broken.zarr"
    options = signed(s3) if where == "s3" else None
    with pytest.raises(hdmf_ai.ResultsFileError, match=r"predicted_class.*missing"):
        hdmf_ai.read(url, storage_options=options)


def test_url_detection_leaves_local_paths_alone() -> None:
    assert remote.is_url("s3://bucket/key.h5")
    assert remote.is_url("https://example.org/a.zarr")
    assert not remote.is_url("results.h5")
    assert not remote.is_url("file:///tmp/results.h5")
    assert not remote.is_url(Path("s3:/bucket/key.h5"))
    assert remote.url_path("https://host/dir/results.h5?X-Amz-Signature=abc") == "/dir/results.h5"
