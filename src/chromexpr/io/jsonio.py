"""JSON files: one sanitizer for numpy values, one atomic writer, one validating reader.

Every JSON chromexpr writes (``metrics.json``, reference ``summary.json``, binning stats, dataset
metadata) goes through :func:`to_jsonable`, so numpy scalars and arrays, paths and non-finite floats
are written the same way everywhere: NaN and infinities as ``null`` (strict JSON, readable by any
parser).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from chromexpr.errors import InputError
from chromexpr.io.atomic import atomic_path
from chromexpr.io.text import open_text, readable


def to_jsonable(value: Any) -> Any:
    """A JSON-safe copy of ``value``, recursively.

    Mappings become dicts with string keys; lists, tuples and numpy arrays become lists; numpy
    scalars become Python scalars; NaN and +/-inf become ``None``; paths and any other object
    become their ``str``.
    """
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, bool, int)):
        return value
    return str(value)


def dumps_json(value: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """``value`` as strict JSON text (after :func:`to_jsonable`), without a trailing newline."""
    return json.dumps(to_jsonable(value), indent=indent, sort_keys=sort_keys, allow_nan=False)


def write_json(path: str | Path, value: Any, *, indent: int | None = 2, sort_keys: bool = False) -> Path:
    """Write ``value`` as JSON (see :func:`to_jsonable`) plus a final newline, atomically.

    Returns ``path`` as a Path.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(dumps_json(value, indent=indent, sort_keys=sort_keys) + "\n", encoding="utf-8")
    return path


def read_json(path: str | Path) -> Any:
    """Read a JSON file (plain or gzip).

    Raises:
        InputError: naming the file (and the line), when it is missing, unreadable or not JSON.
    """
    with readable(path), open_text(path) as fh:
        text = fh.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON ({exc.msg}, column {exc.colno})",
            path=path,
            line=exc.lineno,
            hint="the file is damaged or not JSON; re-run the step that wrote it",
        ) from None
