"""Tests of chromexpr.plotting and of redrawing a report's figures from its TSVs alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer

from chromexpr.errors import InputError
from chromexpr.evaluation.report import draw_figures
from chromexpr.plotting import (
    MODEL_COLORS,
    auroc_distribution_figure,
    model_color,
    order_models,
    paired_scatter_figure,
    per_cell_auroc_figure,
    save_figure,
)

MODELS = ["transferchrome", "deepchrome", "attentivechrome"]


def per_cell_frame(models=MODELS, n_cells=5, n_seeds=2, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i, model in enumerate(models):
        for c in range(n_cells):
            rows.append(
                {
                    "model": model,
                    "cell": f"E{c + 3:03d}",
                    "n_seeds": n_seeds,
                    "test_auroc_mean": 0.75 + 0.01 * i + 0.15 * rng.random(),
                    "test_auroc_sd": 0.005 if n_seeds > 1 else np.nan,
                }
            )
    return pd.DataFrame(rows)


def published_frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"model": "deepchrome", "basis": "ours", "kind": "ours", "mean": 0.80},
            {"model": "deepchrome", "basis": "same_cells", "kind": "published", "mean": 0.794},
            {"model": "deepchrome", "basis": "same_cells", "kind": "third_party", "mean": 0.7936},
            {"model": "deepchrome", "basis": "source_cells", "kind": "published", "mean": 0.8003},
            {"model": "transferchrome", "basis": "source_cells", "kind": "published", "mean": 0.8479},
        ]
    )


def paired_frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "model": "attentivechrome",
                "reference": "deepchrome",
                "n_cells": 5,
                "wins": 4,
                "losses": 1,
                "ties": 0,
                "mean_difference": 0.01,
                "median_difference": 0.01,
                "wilcoxon_statistic": np.nan,
                "p_value": np.nan,
                "note": "too few",
            },
            {
                "model": "transferchrome",
                "reference": "deepchrome",
                "n_cells": 5,
                "wins": 5,
                "losses": 0,
                "ties": 0,
                "mean_difference": 0.03,
                "median_difference": 0.03,
                "wilcoxon_statistic": 0.0,
                "p_value": 0.0625,
                "note": "",
            },
        ]
    )


def assert_written(paths, stem):
    assert [p.name for p in paths] == [f"{stem.name}.png", f"{stem.name}.pdf"]
    assert paths[0].read_bytes()[:4] == b"\x89PNG" and paths[0].stat().st_size > 5000
    assert paths[1].read_bytes()[:4] == b"%PDF" and paths[1].stat().st_size > 1000


@pytest.mark.parametrize(
    "make",
    [
        lambda: per_cell_auroc_figure(per_cell_frame()),
        lambda: auroc_distribution_figure(per_cell_frame(), published_frame()),
        lambda: paired_scatter_figure(per_cell_frame(), "deepchrome", paired_frame()),
    ],
    ids=["bars", "distribution", "paired"],
)
def test_each_figure_writes_png_and_pdf(tmp_path, make):
    stem = tmp_path / "figure"
    assert_written(save_figure(make(), stem), stem)


@pytest.mark.parametrize(
    "make",
    [
        lambda: per_cell_auroc_figure(per_cell_frame(n_seeds=1), title="one seed"),
        lambda: per_cell_auroc_figure(per_cell_frame().iloc[:0]),  # nothing to draw: a message
        lambda: auroc_distribution_figure(per_cell_frame()),
        lambda: paired_scatter_figure(per_cell_frame(), "deepchrome"),
        lambda: paired_scatter_figure(per_cell_frame(), "linear12"),  # no reference runs: a message
        lambda: paired_scatter_figure(per_cell_frame(models=["deepchrome"]), "deepchrome"),
    ],
    ids=["bars-1seed", "bars-empty", "distribution-nopub", "paired-nostats", "paired-noref", "paired-alone"],
)
def test_figure_variants_draw(tmp_path, make):
    (png,) = save_figure(make(), tmp_path / "figure", formats=("png",))
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_save_figure_accepts_a_suffixed_path(tmp_path):
    paths = save_figure(per_cell_auroc_figure(per_cell_frame()), tmp_path / "bars.png")
    assert sorted(p.name for p in paths) == ["bars.pdf", "bars.png"]


def test_many_cells_wrap_onto_rows():
    fig = per_cell_auroc_figure(per_cell_frame(models=list(MODEL_COLORS)[:7], n_cells=56))
    assert len(fig.axes) >= 4  # 56 cells x 7 models: several rows of panels
    ticks = [t.get_text() for ax in fig.axes for t in ax.get_xticklabels()]
    assert len(ticks) == 56 and ticks[0] == "E003"
    few = per_cell_auroc_figure(per_cell_frame(n_cells=5))
    assert len(few.axes) == 1


def test_colours_are_fixed_per_model():
    assert model_color("deepchrome") == MODEL_COLORS["deepchrome"]
    assert model_color("my_new_model") == model_color("my_new_model")
    assert order_models(["zeta", "transferchrome", "deepchrome", "alpha"]) == [
        "deepchrome",
        "transferchrome",
        "alpha",
        "zeta",
    ]
    fig = per_cell_auroc_figure(per_cell_frame())
    bars = {b.get_label(): b for b in fig.axes[0].containers if isinstance(b, BarContainer)}
    assert set(bars) == set(MODELS)
    for model, container in bars.items():
        assert container.patches[0].get_facecolor()[:3] == pytest.approx(
            tuple(int(model_color(model)[i : i + 2], 16) / 255 for i in (1, 3, 5))
        )


def test_draw_figures_from_tsvs_only(tmp_path):
    """No runs, no metrics: the three TSVs alone give every figure (build_report draws through this too)."""
    tables = tmp_path / "tables"
    tables.mkdir()
    per_cell_frame().to_csv(tables / "per_cell_auroc.tsv", sep="\t", index=False)
    published_frame().to_csv(tables / "published_table2.tsv", sep="\t", index=False)
    paired_frame().to_csv(tables / "paired_vs_deepchrome.tsv", sep="\t", index=False)
    written = draw_figures(tables, tmp_path / "figures")
    assert sorted(p.name for p in written) == sorted(
        f"{stem}.{ext}"
        for stem in ("per_cell_auroc", "auroc_distribution", "paired_vs_deepchrome")
        for ext in ("png", "pdf")
    )
    assert all(p.parent == tmp_path / "figures" and p.stat().st_size > 0 for p in written)


def test_draw_figures_without_tables_is_an_error(tmp_path):
    with pytest.raises(InputError, match="per_cell_auroc.tsv"):
        draw_figures(tmp_path)
