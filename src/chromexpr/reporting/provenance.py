"""What produced a report: versions, git commit, date, config files, source, cells, and per model how its
runs were trained (from their ``metrics.json``). Written as ``provenance.json`` and shown atop index.html."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

import chromexpr

#: the third-party packages whose versions a report records
PACKAGES = ("numpy", "pandas", "scipy", "scikit-learn", "matplotlib", "torch", "jinja2")
#: top-level keys of provenance.json (tests pin them)
PROVENANCE_KEYS = (
    "chromexpr_version",
    "git_commit",
    "date_utc",
    "config_files",
    "source_kind",
    "cells",
    "models",
    "packages",
)
#: keys of each ``models`` entry
MODEL_KEYS = ("runs", "cells", "seeds", "epochs_run", "max_epochs", "patience", "device", "chromexpr_version")


def git_commit(directory: str | Path | None) -> str | None:
    """``git rev-parse HEAD`` in ``directory``; None when it is not a git checkout or git is missing."""
    if directory is None or not Path(directory).is_dir():
        return None
    try:
        proc = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = proc.stdout.strip()
    return commit if proc.returncode == 0 and commit else None


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _values(series: pd.Series) -> list[Any]:
    """Sorted distinct non-null values as plain Python scalars."""
    out = {v.item() if hasattr(v, "item") else v for v in series.dropna().tolist()}
    return sorted(out, key=lambda v: (str(type(v)), v))


def build_provenance(
    runs: pd.DataFrame,
    *,
    config_files: Sequence[str] = (),
    source_kind: str | None = None,
    workflow_dir: str | Path | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The provenance record of a report over ``runs`` (``collect_metrics``).

    ``config_files`` are names or paths relative to the workflow (the rule passes them, never absolute);
    ``workflow_dir`` is where to ask git for the commit. Per model: number of runs, cells, seeds, and the
    distinct ``epochs_run``, ``max_epochs``, ``patience``, ``device`` and ``chromexpr_version`` of its runs
    (lists; empty where the runs do not record it, e.g. no epochs for scikit-learn fits).
    """
    now = now or dt.datetime.now(dt.UTC)
    models: dict[str, dict[str, Any]] = {}
    for model, group in runs.groupby("model", sort=False):
        models[str(model)] = {
            "runs": len(group),
            "cells": _values(group["cell"]),
            "seeds": [int(s) for s in _values(group["seed"])],
            **{
                key: (_values(group[key]) if key in group.columns else [])
                for key in ("epochs_run", "max_epochs", "patience", "device", "chromexpr_version")
            },
        }
        for key in ("epochs_run", "max_epochs", "patience"):
            models[str(model)][key] = [int(v) for v in models[str(model)][key]]
    return {
        "chromexpr_version": chromexpr.__version__,
        "git_commit": git_commit(workflow_dir),
        "date_utc": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "config_files": [str(c) for c in config_files],
        "source_kind": source_kind,
        "cells": _values(runs["cell"]),
        "models": models,
        "packages": {name: _package_version(name) for name in PACKAGES},
    }
