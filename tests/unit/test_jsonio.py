"""Tests for chromexpr.io.jsonio: one JSON sanitizer, one atomic writer, one validating reader."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from chromexpr.errors import InputError
from chromexpr.io.jsonio import dumps_json, read_json, to_jsonable, write_json


def test_to_jsonable_numpy_paths_and_non_finite() -> None:
    value = {
        "i": np.int64(3),
        "f": np.float32(0.5),
        "b": np.bool_(True),
        "nan": float("nan"),
        "inf": np.float64(np.inf),
        "arr": np.array([[1, 2], [3, 4]], dtype=np.int32),
        "farr": np.array([1.5, np.nan]),
        "path": Path("a/b.tsv"),
        "tuple": (1, np.int8(2)),
        3: "int key",
        "none": None,
    }
    out = to_jsonable(value)
    assert out == {
        "i": 3,
        "f": 0.5,
        "b": True,
        "nan": None,
        "inf": None,
        "arr": [[1, 2], [3, 4]],
        "farr": [1.5, None],
        "path": "a/b.tsv",
        "tuple": [1, 2],
        "3": "int key",
        "none": None,
    }
    assert type(out["i"]) is int and type(out["f"]) is float and type(out["b"]) is bool
    json.dumps(out, allow_nan=False)  # strict JSON


def test_write_json_atomic_strict_and_ordered(tmp_path: Path) -> None:
    path = write_json(tmp_path / "sub" / "m.json", {"z": np.float64("nan"), "a": np.int16(1)})
    assert path.read_text() == '{\n  "z": null,\n  "a": 1\n}\n'  # keys in the given order
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.json"]  # no temporary left behind
    assert dumps_json({"b": 1, "a": 2}, indent=None, sort_keys=True) == '{"a": 2, "b": 1}'


def test_read_json_plain_gzip_and_errors(tmp_path: Path) -> None:
    plain = tmp_path / "a.json"
    plain.write_text('{"x": [1, 2]}')
    gz = tmp_path / "a.json.gz"
    gz.write_bytes(gzip.compress(b'{"x": [1, 2]}'))
    assert read_json(plain) == read_json(gz) == {"x": [1, 2]}
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "x": 1,\n  oops\n}\n')
    with pytest.raises(InputError, match="not valid JSON") as exc:
        read_json(bad)
    assert exc.value.path == str(bad) and exc.value.line == 3
    with pytest.raises(InputError, match="file not found"):
        read_json(tmp_path / "missing.json")
