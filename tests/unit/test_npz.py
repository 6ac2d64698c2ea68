"""Tests for chromexpr.io.npz: ``.npz`` archives that are byte-identical for identical arrays."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from chromexpr.io.npz import ZIP_DATE_TIME, is_zip, write_npz

ARRAYS = {
    "counts": np.arange(24, dtype=np.int32).reshape(2, 3, 4),
    "names": np.array(["G1", "G22"]),
    "meta": np.array('{"cell": "E003"}'),
}


def test_write_npz_loads_like_savez(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "x.npz", ARRAYS)
    assert path == tmp_path / "x.npz" and is_zip(path)
    with np.load(path, allow_pickle=False) as z:
        assert z.files == ["counts", "names", "meta"]  # the order given
        for name, value in ARRAYS.items():
            assert z[name].dtype == value.dtype
            np.testing.assert_array_equal(z[name], value)
    np.savez_compressed(tmp_path / "ref.npz", **ARRAYS)
    with zipfile.ZipFile(path) as mine, zipfile.ZipFile(tmp_path / "ref.npz") as ref:
        # the same members with the same uncompressed content as numpy writes; only the dates differ
        assert [i.filename for i in mine.infolist()] == [i.filename for i in ref.infolist()]
        for name in mine.namelist():
            assert mine.read(name) == ref.read(name)
        assert {i.date_time for i in mine.infolist()} == {ZIP_DATE_TIME}


def test_write_npz_is_byte_reproducible(tmp_path: Path) -> None:
    a = write_npz(tmp_path / "a.npz", ARRAYS)
    time.sleep(2.1)  # zip member times have a 2-second resolution
    b = write_npz(tmp_path / "b.npz", ARRAYS)
    assert a.read_bytes() == b.read_bytes()
    stored = write_npz(tmp_path / "s.npz", ARRAYS, compress=False)
    with zipfile.ZipFile(stored) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}


def test_write_npz_refuses_objects_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_npz(tmp_path / "o.npz", {"x": np.array([{"a": 1}], dtype=object)})
    assert list(tmp_path.iterdir()) == []


def test_reproducible_zip_dates_every_member_1980_and_keeps_their_order_and_bytes() -> None:
    import io
    import zipfile

    from chromexpr.io.npz import reproducible_zip

    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:  # dated now, stored
        archive.writestr("b.npy", b"second")
        archive.writestr("a.json", b'{"x": 1}')
    out = reproducible_zip(raw.getvalue())
    with zipfile.ZipFile(io.BytesIO(out)) as archive:
        assert [i.filename for i in archive.infolist()] == ["b.npy", "a.json"]
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_DEFLATED}
        assert archive.read("b.npy") == b"second" and archive.read("a.json") == b'{"x": 1}'
    assert reproducible_zip(out) == out
