"""The single-cell experiment's runs, read while the DAG is built: every card of ``train.models`` on every cell
and seed (``results/runs/single_cell/{model}/{cell}/seed{n}/``), and the report's Table 2 over them. Other
experiments' single-cell runs (``registry.single_cell_models``) are trained by the same rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chromexpr.errors import InputError
from chromexpr.experiments.registry import SINGLE_CELL_RUN, duplicates

TITLE = "Single-cell (Table 2)"
CONFIG_KEY = "train"
SECTION = ""  # the page's own folder: results/report/
RUN = SINGLE_CELL_RUN


def enabled(config: Mapping[str, Any]) -> bool:
    return bool(config["train"]["models"])


def models(config: Mapping[str, Any]) -> list[str]:
    return list(config["train"]["models"])


def single_cell_models(config: Mapping[str, Any]) -> list[str]:
    return list(config["train"]["models"])


def check(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]], resolve: Callable[[str], Any]) -> None:
    """Each card once; the report's reference model among them."""
    trained = models(config)
    dup = duplicates(trained)
    if dup:
        raise InputError(
            f"{', '.join(dup)} listed more than once", key="train.models", hint="list each model card once"
        )
    reference = config["report"]["reference_model"]
    if reference not in trained:
        raise InputError(
            f"'{reference}' is not trained (train.models: {', '.join(trained)})",
            key="report.reference_model",
            hint="name one of train.models, or add it to train.models",
        )


def report_files(config: Mapping[str, Any]) -> list[str]:
    """Every file the report job writes into ``results/report/`` (the page and the single-cell section)."""
    from chromexpr.reporting.manifest import figure_files

    paired = f"paired_vs_{config['report']['reference_model']}"
    tables = [
        "table2.tsv",
        "table2.md",
        "per_cell_auroc.tsv",
        "runs.tsv",
        "split_balance.tsv",
        "training_curves.tsv",
        "roc_curves.tsv",
        f"{paired}.tsv",
        f"{paired}.md",
        "published_comparison.tsv",
        "published_comparison.md",
        "published_table2.tsv",
        "provenance.json",
    ]
    stems = ["per_cell_auroc", "auroc_distribution", paired, "training_curves", "roc_curves"]
    return tables + figure_files(stems) + ["index.html"]
