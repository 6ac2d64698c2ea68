"""The file names of a report section's figures, without importing what draws them: each experiment's plan
lists its section's files with these (``report_files``), the Snakefile declares every one as a rule output while
it builds the DAG, and the section builders write exactly these (their tests compare)."""

from __future__ import annotations

from collections.abc import Iterable

from chromexpr.plotting.style import FORMATS

__all__ = ["figure_files"]


def figure_files(stems: Iterable[str]) -> list[str]:
    """The files ``save_figure`` writes for each figure stem: ``<stem>.png``, ``<stem>.pdf``."""
    return [f"{stem}.{fmt}" for stem in stems for fmt in FORMATS]
