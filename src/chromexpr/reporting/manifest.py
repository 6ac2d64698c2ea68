"""The file names each report section writes, without importing what draws them.

The Snakefile declares every one as a rule output while it builds the DAG; the section builders
(``chromexpr.reporting.<section>``) write exactly these (their tests compare).
"""

from __future__ import annotations

from collections.abc import Iterable

from chromexpr.plotting.style import FORMATS

__all__ = [
    "CROSS_CELL_FIGURE_STEMS",
    "CROSS_CELL_TABLE_FILES",
    "DIFFERENTIAL_FIGURE_STEMS",
    "DIFFERENTIAL_TABLE_FILES",
    "INTERPRET_FIGURE_STEMS",
    "INTERPRET_TABLE_FILES",
    "REGRESSION_FIGURE_STEMS",
    "REGRESSION_TABLE_FILES",
    "TRANSFER_FIGURE_STEMS",
    "cross_cell_report_files",
    "differential_report_files",
    "figure_files",
    "interpret_report_files",
    "regression_report_files",
    "transfer_report_files",
]


def figure_files(stems: Iterable[str]) -> list[str]:
    """The files ``save_figure`` writes for each figure stem: ``<stem>.png``, ``<stem>.pdf``."""
    return [f"{stem}.{fmt}" for stem in stems for fmt in FORMATS]


# --- cross cell ---

CROSS_CELL_FIGURE_STEMS = (
    "fig3_correlation",
    "fig5_experiments",
    "fig6a_by_correlation",
    "fig6b_by_training_size",
    "fig7_test_on_rest",
    "fig9_probability_difference",
)
CROSS_CELL_TABLE_FILES = (
    "experiments.tsv",
    "experiments.md",
    "experiment_summary.tsv",
    "test_on_rest_trend.tsv",
    "probability_difference.tsv",
)


def cross_cell_report_files() -> list[str]:
    """Every file name ``build_cross_cell_section`` writes, relative to the section folder."""
    return [*CROSS_CELL_TABLE_FILES, "section.html", *figure_files(CROSS_CELL_FIGURE_STEMS)]


# --- differential ---

DIFFERENTIAL_FIGURE_STEMS = ("fig4_pcc_per_pair", "fig5_attention", "scatter_lfc")
DIFFERENTIAL_TABLE_FILES = (
    "per_pair.tsv",
    "runs.tsv",
    "relative_pcc.tsv",
    "table1.tsv",
    "table1.md",
    "claims.tsv",
    "lfc_counts.tsv",
    "attention.tsv",
    "scatter.tsv.gz",
    "section.html",
)


def differential_report_files() -> list[str]:
    """Every file ``build_differential_section`` writes, named relative to its folder."""
    return [*DIFFERENTIAL_TABLE_FILES, *figure_files(DIFFERENTIAL_FIGURE_STEMS)]


# --- regression ---

REGRESSION_FIGURE_STEMS = ("fig1_inputs", "fig2_expression", "fig3_loss", "fig4_gradients")
REGRESSION_TABLE_FILES = (
    "mse.tsv",
    "mse.md",
    "per_cell_mse.tsv",
    "loss_curves.tsv",
    "gradients.tsv",
    "expression_histograms.tsv",
    "fig1_inputs.npz",
    "section.html",
)


def regression_report_files() -> list[str]:
    """Every file ``build_regression_section`` writes, named relative to its folder."""
    return [*REGRESSION_TABLE_FILES, *figure_files(REGRESSION_FIGURE_STEMS)]


# --- transfer ---

TRANSFER_FIGURE_STEMS = ("fig4_per_target", "domain_curves")


def transfer_report_files() -> list[str]:
    """Every file ``build_transfer_section`` writes, named relative to its folder."""
    tables = ["table3.tsv", "table3.md", "per_target.tsv", "paired.tsv", "domain_curves.tsv", "section.html"]
    return tables + figure_files(TRANSFER_FIGURE_STEMS)


# --- interpret ---

INTERPRET_FIGURE_STEMS = (
    "attention_bins",
    "attention_marks",
    "attention_examples",
    "class_optimization",
    "attributions",
    "linear_weights",
    "gan_monte_carlo",
)
INTERPRET_TABLE_FILES = (
    "signs.tsv",
    "mark_attention.tsv",
    "gan_sanity.tsv",
    "linear_weights.tsv",
    "section.html",
)


def interpret_report_files() -> list[str]:
    """Every file ``build_interpret_section`` writes, named relative to its folder (a figure without data is
    written too, saying "not configured", so the list is fixed)."""
    return [*INTERPRET_TABLE_FILES, *figure_files(INTERPRET_FIGURE_STEMS)]
