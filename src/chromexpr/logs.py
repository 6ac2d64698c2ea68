"""One adapter for the ``log=`` argument of library functions.

Functions that report progress accept ``log`` as a :class:`logging.Logger`, a ``print``-like
callable (``print``, a list's ``append``), a file path (messages appended with a time stamp), or
``None`` (the module's own logger). :func:`get_logger` turns any of these into a :class:`Say` with
``info`` and ``warning``; :func:`log_sink` does the same as a context manager, which is needed for a
file path (the file is closed at the end).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

#: What a ``log=`` argument may be.
LogTarget = logging.Logger | Callable[[str], Any] | str | Path | None


class Say:
    """Send messages to a logger or a ``print``-like callable.

    A callable gets the message as is for :meth:`info` and prefixed with ``warning: `` for
    :meth:`warning`. Calling the object is :meth:`info`.
    """

    def __init__(self, target: logging.Logger | Callable[[str], Any]) -> None:
        self.target = target

    def info(self, message: str) -> None:
        """Report progress."""
        if isinstance(self.target, logging.Logger):
            self.target.info(message)
        else:
            self.target(message)

    def warning(self, message: str) -> None:
        """Report something the user should look at."""
        if isinstance(self.target, logging.Logger):
            self.target.warning(message)
        else:
            self.target(f"warning: {message}")

    __call__ = info


def _stamped(fh: TextIO) -> Callable[[str], None]:
    def write(message: str) -> None:
        fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")
        fh.flush()

    return write


def get_logger(log: logging.Logger | Callable[[str], Any] | None, default: str | logging.Logger) -> Say:
    """A :class:`Say` for ``log``; ``None`` means the logger ``default`` (a name or a logger).

    Raises:
        TypeError: ``log`` is neither a logger nor callable (use :func:`log_sink` for a file path).
    """
    if log is None:
        log = default if isinstance(default, logging.Logger) else logging.getLogger(default)
    if not isinstance(log, logging.Logger) and not callable(log):
        raise TypeError(f"log must be a logging.Logger or a callable, got {log!r}")
    return Say(log)


@contextlib.contextmanager
def log_sink(log: LogTarget, default: str | logging.Logger) -> Iterator[Say]:
    """Like :func:`get_logger`, and a file path too (appended to, one time-stamped line per message).

    Raises:
        TypeError: ``log`` is none of a logger, a callable, a path or ``None``.
    """
    if isinstance(log, (str, Path)):
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as fh:
            yield Say(_stamped(fh))
        return
    if log is not None and not isinstance(log, logging.Logger) and not callable(log):
        raise TypeError(f"log must be a logging.Logger, a callable or a file path, got {log!r}")
    yield get_logger(log, default)
