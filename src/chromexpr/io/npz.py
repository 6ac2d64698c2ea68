"""``.npz`` archives written byte-reproducibly.

``numpy.savez_compressed`` stamps every zip member with the wall-clock time of writing, so two
identical builds differ in their bytes (and their sha256). :func:`write_npz` writes the same
archive layout (one ``{name}.npy`` member per array, deflated, zip64) with a fixed member date,
in the order given, so equal arrays give equal files. ``numpy.load`` reads it as any ``.npz``.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from chromexpr.io.atomic import atomic_path
from chromexpr.io.magic import ZIP_MAGICS

#: The date of every member: the earliest a zip file can hold (1980-01-01 00:00:00).
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
#: The first bytes of a zip archive (a local file header, or the end record of an empty archive).
#: The first bytes of a single ``.npy`` array file.


def is_zip(path: str | Path) -> bool:
    """True when ``path`` starts like a zip archive (an ``.npz`` is one)."""
    with open(path, "rb") as fh:
        return fh.read(4) in ZIP_MAGICS


def write_npz(path: str | Path, arrays: Mapping[str, np.ndarray], *, compress: bool = True) -> Path:
    """Write ``arrays`` to ``path`` as an ``.npz``, atomically and byte-reproducibly.

    Args:
        path: the file to write (the name is kept as given; no ``.npz`` is appended).
        arrays: member name (without ``.npy``) -> array, written in this order. Object arrays
            are refused (no pickles), so the file loads with ``allow_pickle=False``.
        compress: deflate the members (as ``numpy.savez_compressed``) or store them.

    Returns:
        ``path`` as a Path.
    """
    path = Path(path)
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh, zipfile.ZipFile(fh, mode="w", compression=compression) as zf:
            for name, value in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE_TIME)
                info.compress_type = compression
                info.external_attr = 0o644 << 16  # -rw-r--r--, not the umask of the machine
                with zf.open(info, mode="w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
    return path


def reproducible_zip(data: bytes) -> bytes:
    """The zip archive ``data`` with every member dated ``ZIP_DATE_TIME`` and mode 0644, in the same order,
    deflated: for archives another library writes with the time of writing (skops)."""
    import io

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, mode="w") as dst:
        for member in src.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(member))
    return out.getvalue()
