"""Publish a plain ``__init__`` signature in the form hdmf's class generator reads.

Our containers have ordinary keyword-only constructors, checked by type checkers and not by docval.
hdmf's ``get_class`` builds a subclass of a registered class from the parent's docval argument list
(``hdmf.utils.get_docval(parent.__init__)``); with none, a third party's extension type derived from
one of our column types could not pass ``name`` or ``data`` to our constructor. :func:`publish_signature`
attaches that argument list, derived from the real signature, as metadata only: the function is not
wrapped and its arguments are not re-checked at run time.
"""

from __future__ import annotations

import inspect
from typing import Any

from hdmf.utils import docval_attr_name, docval_idx_name


def publish_signature[T: type](cls: T) -> T:
    """Class decorator: expose ``cls.__init__``'s keyword-only parameters to hdmf's class generator."""
    init = cls.__dict__["__init__"]
    params = [p for p in inspect.signature(init).parameters.values() if p.kind is p.KEYWORD_ONLY]
    # docval lists required arguments before optional ones
    ordered = sorted(params, key=lambda p: p.default is not p.empty)
    args: list[dict[str, Any]] = []
    for p in ordered:
        arg: dict[str, Any] = {"name": p.name, "type": None, "doc": f"see {cls.__name__}"}
        if p.default is not p.empty:
            arg["default"] = p.default
        args.append(arg)
    setattr(init, docval_attr_name, {"args": args, "allow_extra": False})
    setattr(init, docval_idx_name, {a["name"]: a for a in args})
    return cls
