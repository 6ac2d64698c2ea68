"""Fixtures shared by several test modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "src/chromexpr/data/demo"
CHROMEXPR = str(Path(sys.executable).parent / "chromexpr")
#: the two marks of ``demo_cell``'s reads
TWO_MARKS = ("H3K4me3", "H3K27me3")


def _chromexpr(*args: str) -> None:
    proc = subprocess.run([CHROMEXPR, *args], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(proc.stdout + proc.stderr)


@pytest.fixture(scope="session")
def demo_cell(tmp_path_factory):
    """The demo reference (3,318 genes) and simulated reads of E003 for ``TWO_MARKS`` (depth 0.2):
    ``(root, reference folder, {mark: tagAlign.gz})``."""
    root = tmp_path_factory.mktemp("demo")
    ref = root / "ref"
    _chromexpr(
        "reference",
        "--annotation",
        str(DEMO / "genes.tsv"),
        "--chrom-sizes",
        str(DEMO / "chrom.sizes"),
        "--expression",
        str(DEMO / "expression.tsv"),
        "--out-dir",
        str(ref),
    )
    _chromexpr(
        "simulate",
        "--genes",
        str(ref / "tss.tsv"),
        "--expression",
        str(DEMO / "expression.tsv"),
        "--chrom-sizes",
        str(DEMO / "chrom.sizes"),
        "--cells",
        "E003",
        "--marks",
        *TWO_MARKS,
        "--out-dir",
        str(root / "reads"),
        "--depth",
        "0.2",
    )
    reads = {mark: root / "reads" / f"E003-{mark}.tagAlign.gz" for mark in TWO_MARKS}
    return root, ref, reads
