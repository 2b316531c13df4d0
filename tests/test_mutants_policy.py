"""The storage policy's values at their edges: what ``make mutate`` found untested in :mod:`hdmf_ai.io.policy`.

A codec or setting that lets a bad parameter through fails later, in the backend, with a message about HDF5 or
numcodecs instead of the setting; a rounding off by one bit stores other numbers than the lossy setting
promises, silently. The presets are built when the module is imported, so their checks run before any test:
these tests build settings themselves. Bit rounding is checked against numcodecs' own BitRound, an independent
implementation of the same rounding (round half to even).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest
from numcodecs.bitround import BitRound as NumcodecsBitRound

from hdmf_ai.io import policy
from hdmf_ai.io.policy import LZ4, BitRound, Blosc, Delta, Gzip, Quantize, Setting, Shuffle, StorageError, Zstd


def refused(build: Callable[[], object], message: str) -> None:
    with pytest.raises(StorageError, match=f"^{re.escape(message)}$"):
        build()


# -- codecs and lossy transforms: both ends of every range accepted, one past either end refused ------------------


@pytest.mark.parametrize(
    ("build", "low", "high", "message"),
    [
        (lambda v: Gzip(level=v), 0, 9, "Gzip: expected a level from 0 to 9; got {}"),
        (lambda v: Zstd(level=v), -7, 22, "Zstd: expected a level from -7 to 22; got {}"),
        (lambda v: Blosc(level=v), 0, 9, "Blosc: expected a level from 0 to 9; got {}"),
        (Quantize, 1, 23, "Quantize: expected bits from 1 to 23; got {}"),
        (BitRound, 0, 22, "BitRound: expected keepbits from 0 to 22 (float32 has 23); got {}"),
    ],
)
def test_a_parameter_is_accepted_at_both_ends_of_its_range_and_refused_past_them(
    build: Callable[[int], object], low: int, high: int, message: str
) -> None:
    assert build(low) == build(low) and build(high) != build(low)
    for bad in (low - 1, high + 1):
        with pytest.raises(StorageError, match=f"^{re.escape(message.format(bad))}$"):
            build(bad)


@pytest.mark.parametrize("cname", ["lz4", "lz4hc", "zstd", "zlib", "blosclz"])
@pytest.mark.parametrize("shuffle", ["none", "byte", "bit"])
def test_blosc_takes_each_of_its_compressors_and_shuffles(cname: str, shuffle: str) -> None:
    codec = Blosc(cname, 5, shuffle)  # type: ignore[arg-type]
    assert (codec.cname, codec.shuffle) == (cname, shuffle)


def test_blosc_refuses_other_spellings_naming_what_it_takes() -> None:
    refused(lambda: Blosc("LZ4"), "Blosc: expected cname lz4, lz4hc, zstd, zlib or blosclz; got 'LZ4'")  # type: ignore[arg-type]
    refused(lambda: Blosc(shuffle="BIT"), "Blosc: expected shuffle 'none', 'byte' or 'bit'; got 'BIT'")  # type: ignore[arg-type]


# -- a setting -------------------------------------------------------------------------------------------------------


def test_a_setting_refuses_codecs_that_are_not_a_tuple_of_codecs() -> None:
    refused(lambda: Setting(codecs=[Shuffle()]), "Setting.codecs: expected a tuple of codecs; got list")  # type: ignore[arg-type]
    refused(
        lambda: Setting(codecs=(Shuffle(), "gzip")),  # type: ignore[arg-type]
        "Setting.codecs: expected Shuffle, Delta, Gzip, Zstd, LZ4 or Blosc; got ['gzip']",
    )
    chain = (Shuffle(), Delta(), Gzip(), Zstd(), LZ4(), Blosc())
    assert Setting(codecs=chain).codecs == chain


def test_a_setting_takes_one_row_one_kib_and_one_chunk_per_shard_and_nothing_less() -> None:
    assert Setting(chunk_kib=1, chunk_rows=1, shard_chunks=1).chunk_shape((10, 3), 8) == (1, 3)
    for bad in ({"chunk_kib": 0}, {"chunk_rows": 0}):
        with pytest.raises(StorageError, match=r"^Setting: chunks need at least one row; got Setting\("):
            Setting(**bad)  # type: ignore[arg-type]
    refused(lambda: Setting(shard_chunks=0), "Setting.shard_chunks: expected >= 1; got 0")


def test_a_settings_dtype_is_checked_when_the_setting_is_made() -> None:
    assert Setting(dtype="float32").dtype == "float32"
    with pytest.raises(TypeError, match="not understood"):  # numpy's own message, naming the type
        Setting(dtype="float33")


@pytest.mark.parametrize(
    ("shape", "itemsize", "chunk_kib", "expected"),
    [
        ((1000, 4), 8, 1, (32, 4)),  # 1 KiB of 32-byte rows
        ((1000, 2, 3), 4, 1, (42, 2, 3)),  # rows of 24 bytes: 42 whole rows fit 1,024 bytes
        ((1000,), 8, 1, (128,)),
        ((10, 4096), 8, 1, (1, 4096)),  # a row larger than the target: one row per chunk
        ((5, 2), 8, 1024, (5, 2)),  # never more rows than the array
        ((5000, 5), 1, 1, (204, 5)),  # 1,024 // 5: not the 205 rows of 1,025 bytes
        ((5000,), 1, 1, (1024,)),  # rows of one byte
        ((10, 0), 8, 1, (10, 0)),  # rows of no bytes
        ((1, 3), 8, 1, (1, 3)),  # one row
        ((0, 3), 8, 1, (1, 3)),  # at least one row per chunk
    ],
)
def test_chunks_hold_as_many_whole_rows_as_the_target_size_allows(
    shape: tuple[int, ...], itemsize: int, chunk_kib: int, expected: tuple[int, ...]
) -> None:
    assert Setting(chunk_kib=chunk_kib).chunk_shape(shape, itemsize) == expected


# -- lossy settings --------------------------------------------------------------------------------------------------


def test_lossy_takes_exactly_one_rounding_and_defaults_to_shuffled_zstd_in_64_kib_chunks() -> None:
    message = "lossy(): give exactly one of quantize_bits= (absolute) or keepbits= (relative)"
    refused(policy.lossy, message)
    refused(lambda: policy.lossy(quantize_bits=8, keepbits=8), message)
    setting = policy.lossy(keepbits=0)
    assert setting == Setting(codecs=(Shuffle(), Zstd(5)), chunk_kib=64, lossy=BitRound(0))
    base = Setting(codecs=(Gzip(1),), chunk_rows=7)
    assert policy.lossy(quantize_bits=3, base=base) == Setting(codecs=(Gzip(1),), chunk_rows=7, lossy=Quantize(3))


def test_lossy_transforms_describe_their_error_bound() -> None:
    assert Quantize(8).describe() == "quantize to multiples of 2**-8: absolute error <= 2**-9 (0.00195)"
    assert BitRound(7).describe() == "bit rounding to 7 mantissa bits: relative error <= 2**-8 (0.00391)"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_quantize_rounds_to_the_nearest_multiple_of_its_step(dtype: str) -> None:
    values = np.array([0.3, 0.6, 0.124, 0.126, 1.0, 0.0], dtype=dtype)
    got = Quantize(2).apply(values)  # multiples of 0.25
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, np.array([0.25, 0.5, 0.0, 0.25, 1.0, 0.0], dtype=dtype))
    np.testing.assert_array_equal(values, np.array([0.3, 0.6, 0.124, 0.126, 1.0, 0.0], dtype=dtype))  # untouched


def _ties_and_randoms(dtype: str, keepbits: int) -> np.ndarray:
    """Random values of every magnitude, and values exactly half way between two kept mantissas (both parities)."""
    rng = np.random.default_rng(keepbits)
    mantissa = {"float32": 23, "float64": 52}[dtype]
    values = (rng.standard_normal(500) * 10.0 ** rng.integers(-8, 8, 500)).astype(dtype)
    uint = np.dtype(f"u{np.dtype(dtype).itemsize}").type
    drop = mantissa - keepbits
    bits = values.view(uint) & ~uint((1 << drop) - 1)  # truncated to keepbits
    half = uint(1 << (drop - 1))
    odd = bits | uint(1 << drop)  # the last kept bit set
    even = bits & ~uint(1 << drop)
    return np.concatenate([values, (odd | half).view(dtype), (even | half).view(dtype)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("keepbits", [0, 1, 7, 21, 22])
def test_bit_rounding_agrees_with_numcodecs(dtype: str, keepbits: int) -> None:
    values = _ties_and_randoms(dtype, keepbits)
    expected = NumcodecsBitRound(keepbits).encode(values).view(dtype)
    got = BitRound(keepbits).apply(values)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got.view(f"u{got.dtype.itemsize}"), expected.view(f"u{got.dtype.itemsize}"))
    assert not np.shares_memory(got, values)


# -- presets ---------------------------------------------------------------------------------------------------------


def test_a_uniform_preset_table_gives_every_kind_its_override_or_the_common_setting() -> None:
    common, label = Setting(chunk_kib=8), Setting(chunk_kib=16)
    table = policy._uniform(common, label=label)
    assert list(table) == list(policy.KINDS)
    assert {kind: s for kind, s in table.items() if s is not common} == {"label": label}


def test_a_preset_falls_back_to_its_float_setting_and_names_a_backend_it_lacks() -> None:
    floats, labels = Setting(chunk_kib=8), Setting(chunk_kib=16)
    preset = policy.Preset("mine", "for a test", hdf5={"float": floats, "label": labels})
    assert preset.setting("hdf5", "label") is labels
    assert preset.setting("hdf5", "embedding") is floats
    for backend in ("parquet", "name"):  # "name" is a field of the preset, not a table
        refused(
            lambda backend=backend: preset.setting(backend, "float"),  # type: ignore[misc]
            f"preset 'mine': no settings for backend {backend!r}; it has hdf5 and zarr",
        )


def test_an_unknown_kind_is_refused_naming_the_column_and_the_kinds() -> None:
    refused(
        lambda: policy.resolve("portable", backend="hdf5", column="loss", kind="text"),
        f"column 'loss': unknown kind 'text'; expected one of {policy.KINDS}",
    )


@pytest.mark.parametrize(
    ("dtype", "kind"),
    [("?", "label"), ("u1", "label"), ("i1", "label"), ("i2", "integer"), ("u8", "integer"), ("f4", "float"),
     ("f8", "float"), ("f2", "float")],
)  # fmt: skip
def test_a_plain_column_takes_its_kind_from_its_dtype(dtype: str, kind: str) -> None:
    from hdmf.common import VectorData

    data = np.zeros(4, dtype=dtype)
    assert policy.column_kind(VectorData(name="c", description="c", data=data), data) == kind


def test_an_attribution_column_is_of_the_attribution_kind() -> None:
    from hdmf_ai.columns import FeatureAttribution

    data = np.zeros((4, 3), dtype="u1")  # not a label, though one byte wide
    column = FeatureAttribution(name="shap", data=data, method="tree_shap", output="predicted_value")
    assert policy.column_kind(column, data) == "attribution"


# -- planning a write --------------------------------------------------------------------------------------------


def _table(**columns: object) -> object:
    from hdmf.common import DynamicTable, VectorData

    n = max((len(v) for v in columns.values() if hasattr(v, "__len__")), default=0)
    vectors = [VectorData(name=name, description=name, data=data) for name, data in columns.items()]
    return DynamicTable(name="t", description="t", columns=vectors, id=list(range(n)))


def _planned(root: object, preset: str | policy.Preset = "portable", **kwargs: object) -> dict[str, policy.Planned]:
    return {p.path: p for p in policy.plan(root, backend="hdf5", preset=preset, storage=kwargs.get("storage"))}  # type: ignore[arg-type]


def test_the_plan_covers_numeric_columns_of_one_row_or_more_and_wrapped_ones() -> None:
    from hdmf.backends.hdf5 import H5DataIO

    wrapped = np.arange(3.0)
    planned = _planned(_table(a=np.arange(3), b=H5DataIO(wrapped, compression="gzip"), c=[1.5, 2.5, 3.5]))
    assert sorted(planned) == ["t/a", "t/b", "t/c", "t/id"]
    assert planned["t/b"].data is wrapped  # the user's wrapper is replaced by the policy's, the data kept
    np.testing.assert_array_equal(planned["t/c"].data, [1.5, 2.5, 3.5])
    assert sorted(_planned(_table(one=np.array([7])))) == ["t/id", "t/one"]


@pytest.mark.parametrize(
    "data", [np.zeros(0), [], [True, False], ["x", "y"]], ids=["empty", "empty-list", "bools", "text"]
)
def test_the_plan_leaves_empty_boolean_lists_and_text_to_hdmf(data: object) -> None:
    assert "t/c" not in _planned(_table(c=data))


def test_the_plan_takes_a_columns_kind_from_its_type() -> None:
    from hdmf_ai import ResultsTable

    probabilities = Setting(chunk_kib=4)
    others = Setting(chunk_kib=8)
    preset = policy.Preset("mine", "t", hdf5={**policy._uniform(others), "probability": probabilities})
    table = ResultsTable(name="results", description="r", n_samples=2)
    table.add_predicted_probability([[0.25, 0.75], [0.5, 0.5]])
    assert _planned(table, preset)["results/predicted_probability"].setting is probabilities


def test_storage_overrides_must_be_settings() -> None:
    refused(lambda: policy.check_storage({"loss": "gzip"}, {"loss"}), "storage['loss']: expected a Setting; got str")  # type: ignore[dict-item]


def test_lossy_rounding_of_integers_is_refused_naming_the_column() -> None:
    item = policy.Planned(None, "t/counts", np.arange(3), policy.lossy(keepbits=3))
    refused(lambda: policy.stored_data(item), "column 't/counts': lossy rounding applies to floats; got dtype int64")
