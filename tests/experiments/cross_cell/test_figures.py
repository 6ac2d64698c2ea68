"""Tests of chromexpr.experiments.cross_cell.figures: what each cross-cell figure draws (Figs. 3, 5, 6, 7, 9 of
DeepChrome 2.0)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import AxesImage

from chromexpr.errors import InputError
from chromexpr.experiments.cross_cell import figures as pc
from chromexpr.plotting import save_figure
from chromexpr.plotting.style import PAGE_WIDTH_IN


def correlation(cells, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(cells)
    m = rng.random((n, n))
    m = (m + m.T) / 2
    np.fill_diagonal(m, 1.0)
    return pd.DataFrame(
        {"cell_a": np.repeat(cells, n), "cell_b": np.tile(cells, n), "normalized": m.ravel(), "n_genes": 100}
    )


def texts(fig) -> list[str]:
    out = [t.get_text() for t in fig.texts]
    if fig._suptitle is not None:
        out.append(fig._suptitle.get_text())
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
        out.append(ax.get_title())
        legend = ax.get_legend()
        if legend is not None:
            out += [t.get_text() for t in legend.get_texts()]
    for legend in fig.legends:
        out += [t.get_text() for t in legend.get_texts()]
    return out


def heatmap_axes(fig):
    return [ax for ax in fig.axes if any(isinstance(i, AxesImage) for i in ax.images)]


@pytest.mark.parametrize("n_cells", [5, 56])
def test_correlation_heatmaps(n_cells):
    cells = [f"E{i:03d}" for i in range(3, 3 + n_cells)]
    tables = {"test": correlation(cells, 2), "train": correlation(cells, 0), "valid": correlation(cells, 1)}
    fig = pc.correlation_heatmaps_figure(tables)
    axes = heatmap_axes(fig)
    assert len(axes) == 3
    assert [ax.get_title().split(")")[1].split(":")[0].strip() for ax in axes] == ["train", "valid", "test"]
    first = tables["train"]["normalized"].to_numpy().reshape(n_cells, n_cells)
    assert np.allclose(axes[0].images[0].get_array(), first)
    assert [t.get_text() for t in axes[0].get_xticklabels()] == cells
    assert fig.get_figwidth() <= PAGE_WIDTH_IN
    assert min(t.get_fontsize() for t in axes[0].get_xticklabels()) >= 3.5
    assert len(fig.axes) == 4  # three heatmaps and one shared colour bar


def test_correlation_heatmaps_empty():
    fig = pc.correlation_heatmaps_figure({})
    assert any("no correlation tables" in t for t in texts(fig))


def experiments(targets, empty_cells=()) -> pd.DataFrame:
    rows = []
    rng = np.random.default_rng(0)
    for e in pc.EXPERIMENT_ORDER:
        for t in targets:
            empty = (e, t) in empty_cells
            rows.append(
                {
                    "experiment": e,
                    "target": t,
                    "test_auroc": np.nan if empty else 0.7 + 0.1 * rng.random(),
                    "normalized_auroc": np.nan if empty else rng.random(),
                    "empty": empty,
                }
            )
    return pd.DataFrame(rows)


def test_experiment_heatmap_masks_empty_groups():
    empty = {("highly_inclusive", "E005"), ("highly_exclusive", "E005")}
    table = experiments(["E003", "E004", "E005"], empty)
    fig = pc.experiment_heatmap_figure(table)
    (ax,) = heatmap_axes(fig)
    values = ax.images[0].get_array()
    row = pc.EXPERIMENT_ORDER.index("highly_inclusive")
    assert values.mask[row, 2] and values.mask[row + 1, 2]
    assert values.mask.sum() == 2
    assert [t.get_text() for t in ax.get_yticklabels()][:3] == [
        "single-cell (baseline)",
        "Inclusive-All",
        "Exclusive-All",
    ]
    assert pc.BLANK_NOTE in texts(fig)
    annotations = [t.get_text() for t in ax.texts]
    assert len(annotations) == 9 * 3 - 2
    assert f"{table.loc[0, 'normalized_auroc']:.2f}" in annotations
    assert fig.get_figwidth() <= PAGE_WIDTH_IN


def test_experiment_heatmap_many_targets_not_annotated():
    targets = [f"E{i:03d}" for i in range(3, 59)]
    fig = pc.experiment_heatmap_figure(experiments(targets))
    (ax,) = heatmap_axes(fig)
    assert ax.images[0].get_array().shape == (9, 56)
    assert not ax.texts
    assert fig.get_figwidth() <= PAGE_WIDTH_IN


def summary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "experiment": ["baseline", "all_inclusive", "all_exclusive", "highly_inclusive", "highly_exclusive"],
            "mean_auroc": [0.70, 0.80, 0.78, 0.74, np.nan],
            "sd_auroc": [0.01, 0.02, np.nan, 0.03, np.nan],
            "n_targets": [3, 3, 3, 2, 0],
            "mean_correlation": [1.0, 0.45, 0.30, 0.92, np.nan],
            "mean_n_train": [100.0, 500.0, 400.0, 200.0, np.nan],
        }
    )


@pytest.mark.parametrize(
    ("sort_by", "order", "key_text"),
    [
        ("mean_correlation", ["all_exclusive", "all_inclusive", "highly_inclusive", "baseline"], "corr. 0.30"),
        ("mean_n_train", ["baseline", "highly_inclusive", "all_exclusive", "all_inclusive"], "100 genes"),
    ],
)
def test_experiment_bars_sorted(sort_by, order, key_text):
    table = summary()
    fig = pc.experiment_bars_figure(table, sort_by)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    means = table.set_index("experiment").loc[order, "mean_auroc"].tolist()
    assert heights == pytest.approx(means)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0].startswith(pc.experiment_label(order[0], lines=True))
    assert key_text in labels[0]
    # the experiment without an AUROC is left out and named
    assert len(labels) == 4
    assert "Exclusive-Highly" in ax.get_xlabel()
    # exclusive bars hatched
    hatched = [p.get_hatch() for p in ax.patches]
    assert hatched[order.index("all_exclusive")] == pc.EXCLUSIVE_HATCH
    assert not hatched[order.index("baseline")]


def test_experiment_bars_bad_key_and_empty():
    with pytest.raises(InputError, match="sort_by"):
        pc.experiment_bars_figure(summary(), "n_targets")
    fig = pc.experiment_bars_figure(summary().iloc[0:0], "mean_correlation")
    assert any("no cross-cell results" in t for t in texts(fig))


def test_test_on_rest_figure():
    x = np.array([0.1, 0.4, 0.7, 0.9])
    table = pd.DataFrame(
        {"train_cell": list("ABCD"), "test_cell": list("BCDA"), "correlation": x, "delta_auroc": 0.02 * x}
    )
    trend = {"slope": 0.02, "intercept": 0.0, "r": 0.5, "p_value": 0.25, "n": 4}
    fig = pc.test_on_rest_figure(table, trend)
    ax = fig.axes[0]
    all_text = texts(fig)
    assert any("r = 0.50" in t and "slope = 0.02" in t and "p = 0.25" in t and "n = 4" in t for t in all_text)
    assert "r = 0.50" in fig._suptitle.get_text()
    lines = {line.get_label(): line for line in ax.lines}
    zero = lines["no change"]
    assert list(zero.get_ydata()) == [0, 0]
    (trend_line,) = [line for label, line in lines.items() if label.startswith("trend")]
    assert list(trend_line.get_xdata()) == pytest.approx([0.1, 0.9])
    assert list(trend_line.get_ydata()) == pytest.approx([0.002, 0.018])
    assert ax.collections[0].get_offsets().shape == (4, 2)
    no_trend = pc.test_on_rest_figure(
        table, {"slope": np.nan, "intercept": np.nan, "r": np.nan, "p_value": np.nan, "n": 2}
    )
    assert any("no trend line" in t and "r = n/a" in t for t in texts(no_trend))
    empty = pc.test_on_rest_figure(table.iloc[0:0], trend)
    assert any("no Test-on-Rest" in t for t in texts(empty))


def bins_table() -> pd.DataFrame:
    edges = np.linspace(0, 1, 5)
    return pd.DataFrame(
        {
            "bin_left": edges[:-1],
            "bin_right": edges[1:],
            "bin_center": (edges[:-1] + edges[1:]) / 2,
            "n_genes": [10, 12, 0, 9],
            "mean_difference": [-0.1, 0.0, np.nan, 0.02],
            "sd_difference": [0.05, 0.04, np.nan, 0.03],
            "q25": [-0.15, -0.02, np.nan, 0.0],
            "q75": [-0.05, 0.03, np.nan, 0.04],
        }
    )


def test_probability_difference_figure(tmp_path):
    fig = pc.probability_difference_figure(bins_table())
    top = fig.axes[0]
    cutoff = [line for line in top.lines if line.get_label() == pc.MEDIAN_CUTOFF_LABEL]
    assert len(cutoff) == 1
    assert list(cutoff[0].get_xdata()) == [0.5, 0.5]
    mean = [line for line in top.lines if line.get_label() == "mean"][0]
    assert list(mean.get_xdata()) == pytest.approx([0.125, 0.375, 0.625, 0.875])
    assert np.allclose(mean.get_ydata(), [-0.1, 0.0, np.nan, 0.02], equal_nan=True)
    assert pc.MEDIAN_CUTOFF_LABEL in [t.get_text() for t in top.texts]
    bottom = fig.axes[1]
    assert [p.get_height() for p in bottom.patches] == [10, 12, 0, 9]
    written = save_figure(fig, tmp_path / "fig9")
    assert [p.name for p in written] == ["fig9.png", "fig9.pdf"]
    assert all(p.stat().st_size > 0 for p in written)
    nothing = pc.probability_difference_figure(bins_table().assign(n_genes=0))
    assert any("no test gene" in t for t in texts(nothing))


def test_experiment_heatmap_empty_table_says_why():
    fig = pc.experiment_heatmap_figure(pd.DataFrame(columns=["experiment", "target", "normalized_auroc", "empty"]))
    assert any("no cross-cell results" in t for t in texts(fig))
