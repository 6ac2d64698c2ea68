"""Text input: one opener for plain or gzip-compressed text, gzip told by its magic bytes.

Every text reader of the library (tables, released CSVs) opens its file with :func:`open_text` and
turns decoding failures into an :class:`~chromexpr.errors.InputError` naming the file with
:func:`readable`, so a truncated gzip or a binary file reads the same everywhere.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path

from chromexpr.errors import InputError
from chromexpr.io.magic import GZIP_MAGIC

#: The first two bytes of every gzip member.

#: What a reader cannot decode: truncated or corrupt gzip, binary or non-UTF-8 text, a failing disk.
UNREADABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    UnicodeDecodeError,
    zlib.error,
)


def is_gzip(path: str | Path) -> bool:
    """True when ``path`` starts with the gzip magic bytes (whatever its name)."""
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def open_text(path: str | Path, *, newline: str | None = None) -> io.TextIOBase:
    """Open a plain or gzip-compressed UTF-8 text file for reading (gzip detected from the magic bytes).

    Args:
        path: the file.
        newline: as for :func:`open`; ``""`` keeps line endings (``\\r\\n``) in the lines read, which
            the CSV readers use to count lines exactly as pandas' C reader does.

    Raises:
        InputError: the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path=path, hint="check the path (in the config or on the command line)")
    if is_gzip(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline=newline)
    return open(path, encoding="utf-8", newline=newline)


def unreadable(path: str | Path, exc: BaseException) -> InputError:
    """The error for a file that cannot be decoded (``exc`` is what decoding raised)."""
    return InputError(
        f"cannot be read ({type(exc).__name__}: {exc})",
        path=path,
        hint="the file is truncated, not gzip/text, or not UTF-8; download or copy it again",
    )


@contextlib.contextmanager
def readable(path: str | Path) -> Iterator[None]:
    """Turn truncated-gzip, binary-file and I/O errors raised inside the block into an InputError.

    An :class:`~chromexpr.errors.InputError` raised inside passes through unchanged.
    """
    try:
        yield
    except InputError:
        raise
    except UNREADABLE_ERRORS as exc:
        raise unreadable(path, exc) from exc
