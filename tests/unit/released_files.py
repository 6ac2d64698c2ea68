"""Helpers shared by the unit tests that write small input files (released DeepChrome / DeepDiff CSVs,
tables, reads) and check that a bad one is refused with an error naming its file and line.

Not a test module: the tests import it as ``from released_files import ...`` (pytest puts tests/unit on
sys.path in its default import mode). pytest does not rewrite the asserts of this module, so each one
carries the error message itself.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from chromexpr.errors import InputError


def write_text(path: Path, text: str, gz: bool = False) -> Path:
    """Write ``text`` to ``path``, gzip-compressed when ``gz`` (whatever the name says)."""
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def write_rows(path: Path, rows: list[str], *, header: str | None = None) -> Path:
    """Write CSV ``rows`` (after ``header``, if given) to ``path``, gzip-compressed when it ends in .gz."""
    text = "\n".join(([header] if header else []) + rows) + "\n"
    return write_text(path, text, gz=path.name.endswith(".gz"))


def deepchrome_rows(genes: list[str], n_bins: int = 4, labels: list[int] | None = None, seed: int = 0) -> list[str]:
    """Headerless DeepChrome CSV rows ``gene,bin,5 counts,label``: ``n_bins`` rows a gene, bins from 1."""
    rng = np.random.default_rng(seed)
    labels = labels if labels is not None else [i % 2 for i in range(len(genes))]
    rows = []
    for gene, label in zip(genes, labels, strict=True):
        for b in range(1, n_bins + 1):
            v = rng.integers(0, 9, 5)
            rows.append(f"{gene},{b},{','.join(map(str, v))},{label}")
    return rows


def mutate(rows: list[str], i: int, col: int, value: str) -> list[str]:
    """A copy of CSV ``rows`` with field ``col`` of row ``i`` set to ``value``."""
    rows = list(rows)
    fields = rows[i].split(",")
    fields[col] = value
    rows[i] = ",".join(fields)
    return rows


def expect_error(call: Callable[[], object], path: Path, line: int | None, fragment: str) -> InputError:
    """``call()`` raises an InputError that names ``path`` and ``line`` (``path:line`` in the message when
    there is a line) and says ``fragment``; the error is returned for further checks."""
    with pytest.raises(InputError) as err:
        call()
    exc = err.value
    assert exc.path == str(path), str(exc)
    assert exc.line == line, str(exc)
    assert fragment in str(exc), str(exc)
    if line is not None:
        assert f"{path}:{line}" in str(exc), str(exc)
    return exc
