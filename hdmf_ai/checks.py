"""Input checks shared by every ``ResultsTable.add_*`` method.

Each function takes the column name first so its error can say which column is wrong, returns the
coerced array when it converts, and raises :class:`~hdmf_ai.errors.ColumnError` otherwise. The checks
are vectorised: they run once over a whole column, never per row.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .errors import ColumnError, ProbabilityWarning

TVT_ELEMENTS: tuple[str, str, str] = ("train", "validate", "test")

# Row sums of probabilities may drift from 1 by float32 rounding over many classes.
PROBABILITY_SUM_TOLERANCE = 1e-3


def _describe(arr: np.ndarray) -> str:
    return f"an array of shape {arr.shape} and dtype {arr.dtype}"


def as_array(column: str, data: ArrayLike) -> np.ndarray:
    """Return ``data`` as a numpy array, refusing ragged input with a clear error."""
    if isinstance(data, np.ndarray):
        return data
    try:
        return np.asarray(data)
    except ValueError as err:  # numpy refuses ragged nested lists
        raise ColumnError(column, "a rectangular array", f"ragged data ({err})") from None


def check_storable(column: str, data: Any) -> None:
    """User columns hold numbers, booleans or text; arbitrary Python objects have no file form.

    A missing entry (None, NaN or ``pd.NA`` among text) is refused with its index: it would otherwise be
    stored as the text ``'None'``, ``'nan'`` or ``'<NA>'``.
    """
    if not isinstance(data, (list, tuple, np.ndarray)) or len(data) == 0:
        return  # on-disk arrays, DataIO and iterators are checked by the backend as they are written
    try:
        arr = np.asarray(data) if not isinstance(data, np.ndarray) or data.dtype == object else data
    except ValueError:  # ragged rows, as a column with index=True takes them: check each row
        for row in data:
            check_storable(column, row)
        return
    if arr.dtype == object:
        flat = arr.ravel()
        at = next((i for i, v in enumerate(flat) if not isinstance(v, (str, bytes))), None)
        if at is not None:
            bad = flat[at]
            if _is_missing(bad):
                expected = "text in every row (no None, NaN or pd.NA); drop or fill those rows"
                raise ColumnError(column, expected, f"{bad!r} at index {at}")
            raise ColumnError(column, "numbers, booleans or text", f"a {type(bad).__name__} object at index {at}")


#: what a column that takes no missing values expects, in its errors
MISSING_EXPECTED = "a value in every row (no None, NaN, pd.NA, masked or empty string); drop or fill those rows"


def _is_missing(value: Any) -> bool:
    """None, a float NaN (numpy's too), pandas' NA and NaT, or a blank string."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    if isinstance(value, (str, bytes)):
        return not value.strip()
    return False


def check_no_missing(column: str, data: Any) -> None:
    """Refuse missing entries in a label-like column, naming the first: they must not become a class.

    Looks at the data as given, before numpy converts it (``np.asarray(["a", np.nan])`` holds the text
    ``'nan'``): masked entries of a masked array, what pandas' ``isna()`` finds in a Series or Categorical,
    None / NaN / ``pd.NA`` / NaT and blank strings in lists and object arrays, NaN in float arrays.
    """
    if isinstance(data, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(data)
    elif hasattr(data, "isna") and callable(data.isna):  # pandas Series, Index, Categorical
        mask = np.asarray(data.isna(), dtype=bool)
        blank = np.asarray(data, dtype=object)
        mask = mask | np.array([_is_missing(v) for v in blank.ravel()], dtype=bool).reshape(blank.shape)
    else:
        arr = data if isinstance(data, np.ndarray) else np.asarray(data, dtype=object)
        if arr.dtype.kind == "f":
            mask = np.isnan(arr)
        elif arr.dtype.kind in "US":  # vectorised: label columns may hold millions of strings
            mask = np.char.str_len(np.char.strip(arr)) == 0
        elif arr.dtype.kind == "O":
            mask = np.array([_is_missing(v) for v in arr.ravel()], dtype=bool).reshape(arr.shape)
        else:
            return
    if mask.any():
        first = tuple(int(i) for i in np.argwhere(mask)[0])
        where = first[0] if len(first) == 1 else first
        value = "a masked entry" if isinstance(data, np.ma.MaskedArray) else repr(np.asarray(data, dtype=object)[first])
        raise ColumnError(column, MISSING_EXPECTED, f"{value} at index {where} ({int(mask.sum())} missing in all)")


def check_ndim(column: str, arr: np.ndarray, ndims: Sequence[int]) -> None:
    """Require one of the allowed numbers of dimensions (1 = one value per row)."""
    if arr.ndim not in ndims:
        allowed = " or ".join(f"{n}-D" for n in ndims)
        raise ColumnError(column, f"a {allowed} array with one row per sample", _describe(arr))


def check_numeric(column: str, arr: np.ndarray) -> None:
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.iscomplexobj(arr):
        raise ColumnError(column, "real numbers", _describe(arr))


def check_finite(column: str, arr: np.ndarray) -> None:
    """Refuse NaN and infinities in columns whose type has no meaning for them."""
    if not (np.issubdtype(arr.dtype, np.floating) and arr.size):
        return
    # min and max propagate NaN and reach any inf without the boolean copy np.isfinite(arr) would make
    # (a quarter of a float32 column's size); only a failing column pays for locating the bad value
    if not (np.isfinite(arr.min()) and np.isfinite(arr.max())):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        where = bad[0] if len(bad) == 1 else bad
        raise ColumnError(column, "finite values (no NaN or inf)", f"{arr[bad]} at index {where}")


def check_table_name(name: object) -> str:
    """A table's name becomes a group in the file: not empty, not '.' or '..', no '/'."""
    if not isinstance(name, str) or not name.strip() or "/" in name or name in (".", ".."):
        expected = "a non-empty name without '/' (it becomes a group of the file), e.g. 'logreg'"
        raise ColumnError("name", expected, repr(name), kind="argument")
    return name


def check_length(column: str, n_rows: int | None, arr_len: int) -> None:
    """A new column must have one entry per existing row of the table."""
    if n_rows is not None and arr_len != n_rows:
        raise ColumnError(column, f"{n_rows} rows, as the table has", f"{arr_len} rows")


def as_float(column: str, data: ArrayLike, ndims: Sequence[int]) -> np.ndarray:
    """Coerce to a floating array (float32 kept, everything else float64), finite, of allowed rank."""
    arr = as_array(column, data)
    check_numeric(column, arr)
    check_ndim(column, arr, ndims)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    check_finite(column, arr)
    return arr


def smallest_uint(arr: np.ndarray) -> np.ndarray:
    """Store non-negative integers in the smallest unsigned type that holds them, losslessly."""
    top = int(arr.max()) if arr.size else 0
    return arr.astype(np.min_scalar_type(top), copy=False)


def smallest_int(arr: np.ndarray) -> np.ndarray:
    """Store integers in the smallest signed type that holds them, losslessly."""
    if not arr.size:
        return arr.astype(np.int8)
    lo, hi = int(arr.min()), int(arr.max())
    for dtype in (np.int8, np.int16, np.int32, np.int64):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return arr.astype(dtype, copy=False)
    raise AssertionError("unreachable: values came from an int64-compatible array")


def as_integers(column: str, data: ArrayLike, ndims: Sequence[int] = (1,), *, signed: bool = False) -> np.ndarray:
    """Coerce labels/indices to integers; refuse fractions, NaN and (unless ``signed``) negatives."""
    arr = as_array(column, data)
    check_ndim(column, arr, ndims)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.floating):
        check_finite(column, arr)
        if arr.size and not np.array_equal(arr, np.round(arr)):
            raise ColumnError(column, "whole numbers", f"fractional values such as {arr[arr != np.round(arr)][0]}")
        arr = arr.astype(np.int64)
    elif not np.issubdtype(arr.dtype, np.integer):
        raise ColumnError(column, "integers", _describe(arr))
    if not signed and arr.size and arr.min() < 0:
        raise ColumnError(column, "non-negative integers", f"negative values such as {arr.min()}")
    if signed and arr.size and arr.dtype == np.uint64 and int(arr.max()) > np.iinfo(np.int64).max:
        raise ColumnError(column, "integers within the int64 range", f"the value {arr.max()}")
    return smallest_int(arr) if signed else smallest_uint(arr)


def check_probabilities(column: str, arr: np.ndarray, *, check_sum: bool) -> None:
    """Probabilities lie in [0, 1]; full distributions should also sum to 1 per row (a warning)."""
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ColumnError(column, "probabilities in [0, 1]", f"values from {arr.min()} to {arr.max()}")
    if check_sum and arr.size:
        sums = arr.sum(axis=-1, dtype=np.float64)
        worst = int(np.argmax(np.abs(sums - 1)))
        if abs(sums[worst] - 1) > PROBABILITY_SUM_TOLERANCE:
            warnings.warn(
                f"column '{column}': rows should sum to 1 but row {worst} sums to {sums[worst]:.6g}; "
                "pass check_sum=False if these are not normalised probabilities",
                ProbabilityWarning,
                stacklevel=4,
            )


def check_descending(column: str, arr: np.ndarray) -> None:
    """Top-k probabilities are ordered most probable first."""
    if arr.ndim == 2 and arr.shape[1] > 1 and np.any(np.diff(arr, axis=1) > 0):
        row = int(np.argwhere(np.diff(arr, axis=1) > 0)[0][0])
        raise ColumnError(column, "each row in descending order", f"row {row} = {arr[row].tolist()}")


def check_same_k(column: str, arr: np.ndarray, other: str, other_shape: tuple[int, ...] | None) -> None:
    """Top-k classes and top-k probabilities must agree on k."""
    if other_shape is not None and len(other_shape) == 2 and arr.shape[1] != other_shape[1]:
        raise ColumnError(column, f"k={other_shape[1]} columns, as '{other}' has", f"k={arr.shape[1]}")


def check_below(column: str, arr: np.ndarray, bound: int, what: str) -> None:
    """All values must be below ``bound`` (number of classes, splits or source rows)."""
    if arr.size and int(arr.max()) >= bound:
        raise ColumnError(column, f"values below {bound} ({what})", f"the value {int(arr.max())}")


def as_tvt_codes(column: str, data: ArrayLike) -> np.ndarray:
    """Map 0/1/2 or 'train'/'validate'/'test' to uint8 codes into :data:`TVT_ELEMENTS`."""
    arr = as_array(column, data)
    check_ndim(column, arr, (1,))
    if arr.dtype.kind in "USO":
        lookup: dict[str | bytes, int] = {name: code for code, name in enumerate(TVT_ELEMENTS)}
        lookup.update({name.encode(): code for code, name in enumerate(TVT_ELEMENTS)})
        uniques, inverse = np.unique(arr, return_inverse=True)
        unknown = [u for u in uniques.tolist() if u not in lookup]
        if unknown:
            raise ColumnError(column, f"0/1/2 or one of {list(TVT_ELEMENTS)}", f"{unknown[:5]}")
        return np.array([lookup[u] for u in uniques.tolist()], dtype=np.uint8)[inverse.reshape(-1)]
    codes = as_integers(column, arr)
    check_below(column, codes, len(TVT_ELEMENTS), "0=train, 1=validate, 2=test")
    return codes.astype(np.uint8)


def encode_labels(column: str, arr: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Encode string labels as codes into their sorted unique values (no scikit-learn needed)."""
    if arr.dtype.kind == "S":
        arr = np.char.decode(arr, "utf-8")
    elements, codes = np.unique(arr.astype(str), return_inverse=True)
    return smallest_uint(codes.reshape(arr.shape)), [str(e) for e in elements]


def text_list(column: str, value: str | Sequence[str] | None) -> list[str] | None:
    """Metadata attributes hold one string per workflow step; a lone string is one step."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        value = [value]
    values = [_decoded(column, v) for v in np.asarray(value, dtype=object).ravel().tolist()]
    bad = [v for v in values if not isinstance(v, str)]
    if bad:
        raise ColumnError(column, "a string or a list of strings, one per step", f"{type(bad[0]).__name__} {bad[0]!r}")
    return values


def _decoded(column: str, value: Any) -> Any:
    """Bytes as the text they encode in UTF-8 (refused when they are not UTF-8); anything else as it is."""
    if not isinstance(value, bytes):
        return value
    try:
        return value.decode()
    except UnicodeDecodeError as err:
        given = f"bytes that are not UTF-8 ({err.reason} at byte {err.start} of {value[:40]!r})"
        raise ColumnError(column, "text: strings, or bytes in UTF-8", given) from None


def json_list(column: str, value: Any) -> list[str] | None:
    """``parameters``: dicts become JSON text; strings must already be valid JSON."""
    if value is None:
        return None
    steps = [value] if isinstance(value, (Mapping, str, bytes)) else list(value)
    out = []
    for step in steps:
        step = _decoded(column, step)
        if isinstance(step, str):
            try:
                json.loads(step)
            except json.JSONDecodeError as err:
                raise ColumnError(column, "JSON text or a JSON-serialisable dict", f"invalid JSON ({err})") from None
            out.append(step)
            continue
        try:
            out.append(json.dumps(step, allow_nan=False, default=_no_default))
        except (TypeError, ValueError) as err:
            raise ColumnError(column, "JSON text or a JSON-serialisable dict", str(err)) from None
    return out


def _no_default(obj: Any) -> Any:
    # numpy scalars are common in parameter dicts and have an exact JSON form
    if isinstance(obj, np.generic):
        item = obj.item()
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{item} is not valid JSON")
        return item
    raise TypeError(f"{type(obj).__name__} {obj!r} is not JSON-serialisable")
