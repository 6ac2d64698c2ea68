"""Progress bars for long steps (downloads, binning, training epochs), on a terminal only.

A bar is drawn only when its stream (stderr by default) is a terminal: under Snakemake, SLURM or
a pipe, stderr is a log file and nothing extra is written to it, so log files hold log lines only.
Log lines are not replaced by the bar; they are written as before.
"""

from __future__ import annotations

import contextlib
import sys
import weakref
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from tqdm import tqdm

_open_bars: weakref.WeakSet[tqdm] = weakref.WeakSet()


def on_terminal(file: TextIO | None = None) -> bool:
    """True when ``file`` (default: the current ``sys.stderr``) is a terminal."""
    stream = sys.stderr if file is None else file
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):  # a closed stream
        return False


def progress_bar(
    iterable: Iterable[Any] | None = None,
    *,
    desc: str | None = None,
    total: float | None = None,
    unit: str = "it",
    file: TextIO | None = None,
    **kwargs: Any,
) -> tqdm:
    """A :class:`tqdm.tqdm` bar on ``file`` (default: ``sys.stderr``), disabled unless that is a terminal.

    The bar is removed from the terminal when it closes (``leave=False``), so the lines a command
    prints around it stay as they are. Extra keyword arguments go to :class:`tqdm.tqdm`.
    """
    stream = sys.stderr if file is None else file
    kwargs.setdefault("leave", False)
    kwargs.setdefault("dynamic_ncols", True)
    bar = tqdm(
        iterable,
        desc=desc,
        total=total,
        unit=unit,
        file=stream,
        disable=not on_terminal(stream),
        **kwargs,
    )
    _open_bars.add(bar)
    return bar


def close_all() -> None:
    """Close every bar still open, e.g. before an error message goes to the terminal.

    A step that fails half-way leaves its bar on the screen; closing it first keeps the message on
    a line of its own.
    """
    for bar in list(_open_bars):
        bar.close()


@contextlib.contextmanager
def around_bars() -> Iterator[None]:
    """Write a line (a log message, a print) without breaking the bars on the terminal.

    The bars are cleared first and drawn again after; without a bar on screen this does nothing.
    """
    with tqdm.external_write_mode(file=sys.stderr):
        yield
