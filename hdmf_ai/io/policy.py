"""Storage policy: how each column is laid out on disk (dtype, chunks, codecs, shards), per backend.

Settings are values (frozen dataclasses) that print, compare and go in a table. A :class:`Setting` says how
one column is stored; a :class:`Preset` maps each column *kind* (probability, label, index, embedding, float,
integer) to a setting for HDF5 and one for Zarr. :func:`resolve` picks the setting of one column from a
preset and the user's per-column overrides, and :func:`applied` wraps every column of a file's tree in the
backend's DataIO just before writing (hdmf silently ignores a DataIO of the other backend, so never earlier),
restoring the user's data afterwards.

Presets (numbers from ``benchmarks/RESULTS.md``, N=1,000,000 rows x 100 classes):

- ``portable`` (default): gzip + shuffle on HDF5, which every HDF5 reader (h5py, MATLAB, the reference
  package) has built in; Blosc-Zstd + shuffle on Zarr (codecs of the Zarr v3 core specification).
- ``fast``: Blosc-LZ4 + shuffle; on HDF5 through the optional ``hdf5plugin`` package, which the reader then
  needs too (``pip install hdf5plugin``, or the ``fast`` extra).
- ``compact``: the smallest lossless files: Zstd with bit or byte shuffle, delta for indices on Zarr.
- ``uncompressed``: chunked, no codec: the baseline, and the fastest random access.

Lossy storage is never on by default: pass ``storage={"predicted_probability": lossy(quantize_bits=16)}``
or use the ``compact-lossy`` preset. Feature attributions (kind ``attribution``) keep their dtype on the lossless
presets (float32 stays float32; shap's float64 stays float64, so attributions + base value still give the
model's output to 1e-6 after a round trip); ``compact-lossy`` keeps 16 mantissa bits (relative error of each
value <= 2**-17, so a row's sum moves by at most 2**-17 times the sum of its absolute attributions).
A lossy setting keeps the dtype (float32 stays float32); values are rounded so that the
lossless codec behind it compresses them well, and the rounding is recorded in the dataset's attribute
``hdmf_ai_lossy``.

Example
-------
>>> from hdmf_ai.io.policy import Setting, Zstd, Shuffle, resolve
>>> Setting(codecs=(Shuffle(), Zstd(level=5)), chunk_kib=64).codecs[1]
Zstd(level=5)
>>> resolve("compact", backend="zarr", column="samples", kind="index").codecs
(Delta(), Zstd(level=9))
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import numpy as np

from ..errors import StorageError

__all__ = [
    "KINDS",
    "PRESETS",
    "BitRound",
    "Blosc",
    "Codec",
    "Delta",
    "Gzip",
    "LZ4",
    "Lossy",
    "Preset",
    "Quantize",
    "Setting",
    "Shuffle",
    "StorageError",
    "Zstd",
    "lossy",
    "resolve",
]

#: The column kinds a preset sets; :func:`column_kind` sorts every column into one.
KINDS = ("probability", "label", "index", "embedding", "float", "integer", "attribution")

LOSSY_ATTRIBUTE = "hdmf_ai_lossy"


# -- codecs: the stages of a chain, applied in order on write ------------------------------------------------


@dataclass(frozen=True)
class Shuffle:
    """Byte shuffle: groups the n-th byte of every value together (HDF5 built-in filter)."""


@dataclass(frozen=True)
class Delta:
    """Store differences of consecutive values (Zarr only): ranges and sorted indices become near-constant."""


@dataclass(frozen=True)
class Gzip:
    """Deflate, built into every HDF5 and Zarr reader; slow to write, portable."""

    level: int = 4

    def __post_init__(self) -> None:
        _check_level(self, self.level, 0, 9)


@dataclass(frozen=True)
class Zstd:
    """Zstandard (HDF5 through ``hdf5plugin``; built into Zarr)."""

    level: int = 3

    def __post_init__(self) -> None:
        _check_level(self, self.level, -7, 22)


@dataclass(frozen=True)
class LZ4:
    """LZ4: the fastest, lightest compression (HDF5 through ``hdf5plugin``; Zarr through numcodecs)."""


@dataclass(frozen=True)
class Blosc:
    """Blosc: a blocked meta-compressor with its own byte or bit shuffle (HDF5 through ``hdf5plugin``)."""

    cname: Literal["lz4", "lz4hc", "zstd", "zlib", "blosclz"] = "lz4"
    level: int = 5
    shuffle: Literal["none", "byte", "bit"] = "byte"

    def __post_init__(self) -> None:
        _check_level(self, self.level, 0, 9)
        if self.cname not in ("lz4", "lz4hc", "zstd", "zlib", "blosclz"):
            raise StorageError(f"Blosc: expected cname lz4, lz4hc, zstd, zlib or blosclz; got {self.cname!r}")
        if self.shuffle not in ("none", "byte", "bit"):
            raise StorageError(f"Blosc: expected shuffle 'none', 'byte' or 'bit'; got {self.shuffle!r}")


type Codec = Shuffle | Delta | Gzip | Zstd | LZ4 | Blosc


def _check_level(codec: object, level: int, low: int, high: int) -> None:
    if not low <= level <= high:
        raise StorageError(f"{type(codec).__name__}: expected a level from {low} to {high}; got {level}")


# -- lossy transforms: keep the dtype, drop precision nobody needs ------------------------------------------


@dataclass(frozen=True)
class Quantize:
    """Round to a multiple of ``2**-bits``: absolute error <= ``2**-(bits+1)`` (for probabilities in [0, 1]).

    Values that are multiples of a power of two have trailing zero bits, so shuffle + a lossless codec
    squeeze them; tiny probabilities become exact zeros. float32 keeps multiples of ``2**-bits`` exact up to
    ``bits=23`` for values below 1.
    """

    bits: int

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 23:
            raise StorageError(f"Quantize: expected bits from 1 to 23; got {self.bits}")

    @property
    def max_error(self) -> float:
        return 2.0 ** -(self.bits + 1)

    def describe(self) -> str:
        return f"quantize to multiples of 2**-{self.bits}: absolute error <= 2**-{self.bits + 1} ({self.max_error:.3g})"

    def apply(self, data: np.ndarray) -> np.ndarray:
        scale = data.dtype.type(2.0**self.bits)
        out: np.ndarray = data * scale
        np.rint(out, out=out)
        out /= scale
        return out


@dataclass(frozen=True)
class BitRound:
    """Keep ``keepbits`` mantissa bits (round half to even): relative error <= ``2**-(keepbits+1)``.

    For embeddings and other values of any magnitude; the dropped mantissa bits become zeros.
    """

    keepbits: int

    def __post_init__(self) -> None:
        if not 0 <= self.keepbits <= 22:
            raise StorageError(f"BitRound: expected keepbits from 0 to 22 (float32 has 23); got {self.keepbits}")

    @property
    def max_error(self) -> float:
        return 2.0 ** -(self.keepbits + 1)

    def describe(self) -> str:
        return (
            f"bit rounding to {self.keepbits} mantissa bits: relative error <= 2**-{self.keepbits + 1} "
            f"({self.max_error:.3g})"
        )

    def apply(self, data: np.ndarray) -> np.ndarray:
        uint = np.dtype(f"u{data.dtype.itemsize}")
        drop = {4: 23, 8: 52}[data.dtype.itemsize] - self.keepbits
        if drop <= 0:
            return data.copy()
        bits = data.view(uint).copy()
        one = np.array(1, dtype=uint)
        half_minus_one = np.array((1 << (drop - 1)) - 1, dtype=uint)
        bits += half_minus_one + ((bits >> np.array(drop, dtype=uint)) & one)  # round half to even
        bits &= np.array(~((1 << drop) - 1) & ((1 << (8 * data.dtype.itemsize)) - 1), dtype=uint)
        return bits.view(data.dtype)


type Lossy = Quantize | BitRound


# -- a column's setting, and presets of them ----------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """How one column is stored.

    Parameters
    ----------
    codecs
        The codec chain, in write order, e.g. ``(Shuffle(), Gzip(4))`` or ``(Blosc("lz4", 5, "byte"),)``.
        Empty: no compression.
    chunk_kib
        Target chunk size in KiB; chunks hold whole rows (all columns of a 2-D array), so a row is read
        from one chunk. Ignored when ``chunk_rows`` is given.
    chunk_rows
        Rows per chunk, fixed.
    shard_chunks
        Zarr only: chunks per shard (one stored object holds that many chunks); None stores one object per
        chunk. HDF5 ignores it.
    dtype
        The on-disk dtype; None keeps the column's. An integer type must hold every value; a narrower float
        is lossy and needs ``lossy`` to say so.
    lossy
        An opt-in precision reduction (:class:`Quantize` or :class:`BitRound`), recorded in the file.
    """

    codecs: tuple[Codec, ...] = ()
    chunk_kib: int = 1024
    chunk_rows: int | None = None
    shard_chunks: int | None = None
    dtype: str | None = None
    lossy: Lossy | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.codecs, tuple):
            raise StorageError(f"Setting.codecs: expected a tuple of codecs; got {type(self.codecs).__name__}")
        unknown = [c for c in self.codecs if not isinstance(c, (Shuffle, Delta, Gzip, Zstd, LZ4, Blosc))]
        if unknown:
            raise StorageError(f"Setting.codecs: expected Shuffle, Delta, Gzip, Zstd, LZ4 or Blosc; got {unknown}")
        if self.chunk_kib < 1 or (self.chunk_rows is not None and self.chunk_rows < 1):
            raise StorageError(f"Setting: chunks need at least one row; got {self}")
        if self.shard_chunks is not None and self.shard_chunks < 1:
            raise StorageError(f"Setting.shard_chunks: expected >= 1; got {self.shard_chunks}")
        if self.dtype is not None:
            np.dtype(self.dtype)  # refuses unknown names with numpy's own message

    def chunk_shape(self, shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
        """Whole rows, about ``chunk_kib`` KiB, never more rows than the array has (and at least one)."""
        row_bytes = itemsize * int(np.prod(shape[1:], dtype=np.int64))
        rows = self.chunk_rows or max(1, (self.chunk_kib * 1024) // max(1, row_bytes))
        return (max(1, min(rows, shape[0])), *shape[1:])


@dataclass(frozen=True)
class Preset:
    """Named settings per column kind, one table per backend."""

    name: str
    description: str
    hdf5: Mapping[str, Setting] = field(default_factory=dict)
    zarr: Mapping[str, Setting] = field(default_factory=dict)

    def setting(self, backend: str, kind: str) -> Setting:
        """The setting of a column kind for the backend named ``backend`` (a field of this preset)."""
        table = getattr(self, backend, None)
        if not isinstance(table, Mapping):
            raise StorageError(f"preset '{self.name}': no settings for backend {backend!r}; it has hdf5 and zarr")
        chosen: Setting = table.get(kind) or table["float"]
        return chosen


def lossy(*, quantize_bits: int | None = None, keepbits: int | None = None, base: Setting | None = None) -> Setting:
    """A setting that rounds values before compressing: give ``quantize_bits`` or ``keepbits``.

    ``base`` supplies the codecs and chunks (default: byte shuffle + Zstd level 5, 64 KiB chunks).
    """
    if (quantize_bits is None) == (keepbits is None):
        raise StorageError("lossy(): give exactly one of quantize_bits= (absolute) or keepbits= (relative)")
    rounding: Lossy = Quantize(quantize_bits) if quantize_bits is not None else BitRound(keepbits or 0)
    return replace(base or Setting(codecs=(Shuffle(), Zstd(5)), chunk_kib=64), lossy=rounding)


def _uniform(setting: Setting, **per_kind: Setting) -> dict[str, Setting]:
    return {kind: per_kind.get(kind, setting) for kind in KINDS}


# Chunk sizes: the chunk-shape sweep in benchmarks/RESULTS.md. Small chunks (64 KiB) keep 1,000 random rows
# cheap with a fast codec. HDF5 gzip chunks are encoded and decoded on every core (io/h5chunks.py), where
# 64 KiB beat 32 KiB on every count (1M x 100 float32 probabilities: write 3.5 -> 3.0 s, full read 4.7 -> 4.1 s,
# 1,000 random rows 266 -> 249 ms on a loaded machine) and 128 KiB+ doubles random rows. Zarr-python pays a
# per-chunk cost in Python, so its chunks are larger and packed into shards: 256 KiB chunks, 16 to a 4 MiB
# shard, against the 64 KiB x 64 used before (300k x 100 float32 probabilities, Blosc-Zstd 3: write 3.4 ->
# 1.6 s, full read 2.3 -> 1.6 s, 1,000 random rows 612 -> 217 ms, same size).
_H5_GZIP = Setting(codecs=(Shuffle(), Gzip(1)), chunk_kib=64)
_H5_LZ4 = Setting(codecs=(Blosc("lz4", 5, "byte"),), chunk_kib=64)
_H5_ZSTD = Setting(codecs=(Blosc("zstd", 5, "byte"),), chunk_kib=64)
_H5_ZSTD_BIT = Setting(codecs=(Blosc("zstd", 5, "bit"),), chunk_kib=64)
_Z_ZSTD = Setting(codecs=(Blosc("zstd", 3, "byte"),), chunk_kib=256, shard_chunks=16)
_Z_LZ4 = Setting(codecs=(Blosc("lz4", 5, "byte"),), chunk_kib=256, shard_chunks=16)
_Z_COMPACT = Setting(codecs=(Shuffle(), Zstd(9)), chunk_kib=256, shard_chunks=16)
_Z_DELTA = Setting(codecs=(Delta(), Zstd(9)), chunk_kib=256, shard_chunks=16)
_Z_BIT = Setting(codecs=(Blosc("zstd", 9, "bit"),), chunk_kib=256, shard_chunks=16)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "portable",
            "gzip + shuffle on HDF5 (every reader has it); Blosc-Zstd on Zarr (core codecs)",
            hdf5=_uniform(_H5_GZIP),
            zarr=_uniform(_Z_ZSTD),
        ),
        Preset(
            "fast",
            "Blosc-LZ4 + shuffle; HDF5 readers need hdf5plugin",
            hdf5=_uniform(_H5_LZ4),
            zarr=_uniform(_Z_LZ4),
        ),
        Preset(
            "compact",
            "the smallest lossless files: Zstd with bit/byte shuffle, delta for indices (Zarr)",
            hdf5=_uniform(_H5_ZSTD, label=_H5_ZSTD_BIT, index=_H5_ZSTD_BIT, integer=_H5_ZSTD_BIT),
            zarr=_uniform(_Z_COMPACT, label=_Z_BIT, index=_Z_DELTA, integer=_Z_BIT),
        ),
        Preset(
            "compact-lossy",
            "compact, with probabilities quantised to 2**-16 (absolute), embeddings to 12 mantissa bits and "
            "attributions to 16",
            hdf5=_uniform(
                _H5_ZSTD,
                label=_H5_ZSTD_BIT,
                index=_H5_ZSTD_BIT,
                integer=_H5_ZSTD_BIT,
                probability=replace(_H5_ZSTD, lossy=Quantize(16)),
                embedding=replace(_H5_ZSTD, lossy=BitRound(12)),
                attribution=replace(_H5_ZSTD, lossy=BitRound(16)),
            ),
            zarr=_uniform(
                _Z_COMPACT,
                label=_Z_BIT,
                index=_Z_DELTA,
                integer=_Z_BIT,
                probability=replace(_Z_COMPACT, lossy=Quantize(16)),
                embedding=replace(_Z_COMPACT, lossy=BitRound(12)),
                attribution=replace(_Z_COMPACT, lossy=BitRound(16)),
            ),
        ),
        Preset(
            "uncompressed",
            "chunked, no compression: the baseline and the fastest random access",
            hdf5=_uniform(Setting(chunk_kib=1024)),
            zarr=_uniform(Setting(chunk_kib=1024)),
        ),
    )
}

DEFAULT_PRESET = "portable"


def get_preset(preset: str | Preset) -> Preset:
    """The preset named ``preset`` (or ``preset`` itself)."""
    if isinstance(preset, Preset):
        return preset
    try:
        return PRESETS[preset]
    except KeyError:
        raise StorageError(f"unknown storage preset {preset!r}; choose one of {sorted(PRESETS)}") from None


def resolve(
    preset: str | Preset,
    *,
    backend: str,
    column: str,
    kind: str,
    storage: Mapping[str, Setting] | None = None,
) -> Setting:
    """The setting of one column: the user's override for its name, else the preset's for its kind."""
    if storage and column in storage:
        return storage[column]
    if kind not in KINDS:
        raise StorageError(f"column '{column}': unknown kind {kind!r}; expected one of {KINDS}")
    return get_preset(preset).setting(backend, kind)


def check_storage(storage: Mapping[str, Setting] | None, known: set[str]) -> None:
    """Refuse overrides that name no column (a typo would silently do nothing) or are not Settings."""
    for name, setting in (storage or {}).items():
        if not isinstance(setting, Setting):
            raise StorageError(f"storage[{name!r}]: expected a Setting; got {type(setting).__name__}")
    missing = sorted(set(storage or {}) - known)
    if missing:
        raise StorageError(f"storage names columns {missing} that no table being written has; columns: {sorted(known)}")


# -- which kind a column is --------------------------------------------------------------------------------


def column_kind(column: Any, data: np.ndarray) -> str:
    """The kind of ``column`` (an hdmf Data object) holding ``data``, by its type first, then its dtype."""
    from hdmf.common import DynamicTableRegion, ElementIdentifiers, EnumData, VectorIndex

    from ..columns import (
        ClassLabel,
        ClassProbability,
        ClusterLabel,
        CrossValidationSplit,
        EmbeddedValues,
        FeatureAttribution,
        TopKClasses,
        TopKProbabilities,
    )

    if isinstance(column, (ClassProbability, TopKProbabilities)):
        return "probability"
    if isinstance(column, FeatureAttribution):
        return "attribution"
    if isinstance(column, EmbeddedValues):
        return "embedding"
    if isinstance(column, (DynamicTableRegion, ElementIdentifiers, VectorIndex)):
        return "index"
    # class indices, folds and clusters are labels whatever their width (the schema asks for 32 bits at least)
    labels = (EnumData, ClassLabel, TopKClasses, CrossValidationSplit, ClusterLabel)
    if isinstance(column, labels) or data.dtype.kind == "b" or (data.dtype.kind in "iu" and data.itemsize == 1):
        return "label"
    return "integer" if data.dtype.kind in "iu" else "float"


# -- applying a policy to a tree of containers, for one write ----------------------------------------------


@dataclass(frozen=True)
class Planned:
    """One column's storage for one write: the data to store and how."""

    column: Any
    path: str  # the dataset's path in the file
    data: np.ndarray
    setting: Setting


def plan(
    root: Any,
    *,
    backend: str,
    preset: str | Preset,
    storage: Mapping[str, Setting] | None,
) -> list[Planned]:
    """The setting of every numeric dataset under ``root`` (tables' columns and ids)."""
    from hdmf.common import DynamicTable

    get_preset(preset)  # an unknown name fails before anything is touched
    tables = [c for c in root.all_children() if isinstance(c, DynamicTable)]
    known = {col.name for t in tables for col in (*t.columns, t.id)}
    check_storage(storage, known)
    planned: list[Planned] = []
    for table in tables:
        for col in (*table.columns, table.id):
            data = _numeric(col.data)
            if data is None or data.ndim == 0 or data.shape[0] == 0:
                continue  # text, references, empty: hdmf's defaults
            name = col.name
            setting = resolve(preset, backend=backend, column=name, kind=column_kind(col, data), storage=storage)
            planned.append(Planned(col, f"{table.name}/{name}", data, setting))
    return planned


def _numeric(data: Any) -> np.ndarray | None:
    from hdmf.data_utils import DataIO

    if isinstance(data, DataIO):  # a user's own wrapper (of either backend): the policy sets it anew
        data = data.data
    # hdmf hands over some columns as lists, e.g. a ragged column's index as a list of numpy.uint8: they get
    # the policy's chunks, codec and checksum like any array (a bool is a label of its own, left to hdmf)
    numbers = (int, float, np.integer, np.floating)
    if isinstance(data, list) and data and isinstance(data[0], numbers) and not isinstance(data[0], (bool, np.bool_)):
        data = np.asarray(data)
    if isinstance(data, np.ndarray) and data.dtype.kind in "biuf":
        return data
    return None


def stored_data(item: Planned) -> np.ndarray:
    """The array to hand to the backend: cast to the on-disk dtype and rounded, as the setting says."""
    data, setting = item.data, item.setting
    if setting.dtype is not None and np.dtype(setting.dtype) != data.dtype:
        data = _cast(item.path, data, np.dtype(setting.dtype), lossy_ok=setting.lossy is not None)
    if setting.lossy is not None:
        if data.dtype.kind != "f":
            raise StorageError(f"column '{item.path}': lossy rounding applies to floats; got dtype {data.dtype}")
        data = setting.lossy.apply(data)
    return data


def _cast(path: str, data: np.ndarray, dtype: np.dtype, *, lossy_ok: bool) -> np.ndarray:
    if dtype.kind in "iu" and data.dtype.kind in "biu":
        info = np.iinfo(dtype)
        if data.size and (int(data.min()) < info.min or int(data.max()) > info.max):
            raise StorageError(
                f"column '{path}': expected values that fit the on-disk dtype {dtype}; "
                f"got values from {data.min()} to {data.max()}"
            )
        return data.astype(dtype)
    if dtype.kind == "f" and data.dtype.kind == "f" and (dtype.itemsize >= data.dtype.itemsize or lossy_ok):
        return data.astype(dtype)
    raise StorageError(
        f"column '{path}': cannot store dtype {data.dtype} as {dtype} losslessly; "
        "narrowing a float needs an explicit lossy setting"
    )


class StorageBackend(Protocol):
    """What the policy asks of a backend (:class:`hdmf_ai.io.backend.Backend` provides it)."""

    def data_io(
        self, data: np.ndarray, setting: Setting, path: str, *, growable: bool = False
    ) -> tuple[type[Any], dict[str, Any]]: ...


@contextlib.contextmanager
def applied(planned: list[Planned], backend: StorageBackend) -> Iterator[None]:
    """Wrap each planned column's data in ``backend``'s DataIO for one write, then restore the user's data.

    The user's table is left as it was, so it can next be written to the other backend (where a DataIO of
    this backend would be silently ignored). Every DataIO is built before any column is touched: a setting
    the backend cannot use fails with the table unchanged.
    """
    wrapped = []
    for item in planned:
        data = stored_data(item)
        io_class, kwargs = backend.data_io(data, item.setting, item.path)
        wrapped.append((item.column, item.column.data, data, io_class, kwargs))
    try:
        with warnings.catch_warnings():
            # hdmf recommends gzip whenever a plugin filter is used; the preset or the user chose it on purpose
            warnings.filterwarnings("ignore", message=".*compression may not be available", category=UserWarning)
            for column, _, data, io_class, kwargs in wrapped:
                column.transform(_const(data))
                column.set_data_io(io_class, kwargs)
        yield
    finally:
        for column, original, *_ in wrapped:
            column.transform(_const(original))


def _const(value: Any) -> Any:
    def replace_data(_: Any) -> Any:
        return value

    return replace_data


def lossy_attributes(planned: list[Planned]) -> dict[str, str]:
    """Dataset path -> the text recorded in its ``hdmf_ai_lossy`` attribute."""
    return {item.path: item.setting.lossy.describe() for item in planned if item.setting.lossy is not None}
