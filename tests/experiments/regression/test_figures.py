"""Tests of chromexpr.experiments.regression.figures (Team Jamaica Figs. 1-4): the arrays and tables drawn, and
redrawing every figure from the section's files alone (``redraw``)."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import LogNorm, to_hex
from matplotlib.image import AxesImage

from chromexpr.experiments.regression import figures
from chromexpr.experiments.regression.figures import (
    BIN_LABEL,
    DEFAULT_TARGET_LABEL,
    GRADIENT_LABEL,
    MIN_FRACTION,
    VALUE_LABELS,
    distribution_edges,
    draw_regression_figures,
    expression_histogram,
    gradient_panels,
    input_distributions,
    input_value_label,
    plot_expression_histograms,
    plot_gradient_heatmaps,
    plot_input_distributions,
    plot_loss_curves,
    read_fig1,
    redraw,
    section_target_label,
    write_fig1,
)
from chromexpr.experiments.regression.plan import REGRESSION_FIGURE_STEMS, REGRESSION_TABLE_FILES, report_files
from chromexpr.experiments.regression.report import mse_markdown
from chromexpr.training.regression_plan import TARGETS

CELLS = ["E003", "E116"]
MARKS = ["H3K4me1", "H3K4me3", "H3K27me3"]


def images(fig) -> list[AxesImage]:
    return [im for ax in fig.axes for im in ax.images]


def written(tmp_path, stem: str) -> bool:
    return all((tmp_path / f"{stem}.{fmt}").stat().st_size > 0 for fmt in ("png", "pdf"))


# --- Fig. 1 ---


def test_input_distributions_hand_checked_with_clipping() -> None:
    # 4 genes, 1 mark, 2 bins; value bins [0, 1) and [1, 2]
    x = np.array([[[0.5, 1.5]], [[-3.0, 2.0]], [[1.0, 9.0]], [[0.0, 1.99]]])
    density = input_distributions(x, edges=np.array([[0.0, 1.0, 2.0]]))
    assert density.shape == (1, 2, 2)
    # bin 0: 0.5, -3 (clipped into the first), 1.0 (second), 0.0 -> 3 of 4 in the first value bin
    # bin 1: 1.5, 2.0 (last edge: last bin), 9 (clipped into the last), 1.99 -> all in the second
    np.testing.assert_allclose(density[0], [[0.75, 0.0], [0.25, 1.0]])
    np.testing.assert_allclose(density.sum(axis=1), 1.0)


def test_input_distributions_columns_sum_to_one_and_skip_nan() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3, 7))
    x[0, 1, 2] = np.nan
    edges = distribution_edges([x], n=6, quantiles=(0.1, 0.9))
    density = input_distributions(x, edges=edges)
    assert density.shape == (3, 6, 7)
    np.testing.assert_allclose(density.sum(axis=1), 1.0)
    # the NaN gene is left out of its column: fractions over 49 genes
    assert np.allclose(density[1, :, 2] * 49, np.round(density[1, :, 2] * 49))
    all_nan = input_distributions(np.full((3, 1, 2), np.nan), edges=np.array([[0.0, 1.0]]))
    assert np.isnan(all_nan).all()


def test_distribution_edges_shared_per_mark_and_widened_when_constant() -> None:
    a = np.zeros((10, 2, 3))
    b = np.zeros((5, 2, 3))
    a[:, 0, :] = np.linspace(0, 10, 30).reshape(10, 3)
    b[:, 0, :] = np.linspace(-10, 0, 15).reshape(5, 3)
    a[:, 1, :] = 4.0
    b[:, 1, :] = 4.0
    edges = distribution_edges([a, b], n=4, quantiles=(0.0, 1.0))
    assert edges.shape == (2, 5)
    np.testing.assert_allclose(edges[0], np.linspace(-10, 10, 5))  # pooled over both cells
    np.testing.assert_allclose(edges[1], np.linspace(3.5, 4.5, 5))  # constant: widened by 0.5 each side
    np.testing.assert_allclose(distribution_edges([a, b], n=4), distribution_edges([b, a], n=4))


def fig1_data(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xs = [rng.gamma(2.0, 1.0 + c, size=(30, len(MARKS), 6)) for c in range(len(CELLS))]
    edges = distribution_edges(xs, n=5)
    return np.stack([input_distributions(x, edges=edges) for x in xs]), edges


def test_fig1_panels_are_the_density(tmp_path) -> None:
    density, edges = fig1_data()
    fig = plot_input_distributions(density, edges, CELLS, MARKS, tmp_path)
    drawn = {im.get_gid(): im for im in images(fig)}
    assert len(drawn) == len(CELLS) * len(MARKS)
    for c, cell in enumerate(CELLS):
        for m, mark in enumerate(MARKS):
            image = drawn[f"{cell}|{mark}"]
            np.testing.assert_allclose(np.asarray(image.get_array()), density[c, m])
            assert image.origin == "lower"
            left, right, bottom, top = image.get_extent()
            assert (left, right) == (-0.5, 5.5) and (bottom, top) == pytest.approx((edges[m, 0], edges[m, -1]))
    norms = {id(im.norm) for im in drawn.values()}
    assert len(norms) == 1  # one shared colour scale
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels[: len(MARKS)]] == MARKS
    row_labels = [panels[c * len(MARKS)].get_ylabel() for c in range(len(CELLS))]
    assert row_labels == CELLS
    assert all(ax.get_xlabel() == BIN_LABEL for ax in panels[-len(MARKS) :])
    assert len(fig.axes) == len(panels) + 1  # one colourbar
    assert "Fig. 1" in fig._suptitle.get_text() and "2 cell types" in fig._suptitle.get_text()
    # gamma draws are counts-like (no value below 0): the value axis says so, with its unit
    assert fig.get_supylabel() == "model input: reads per bin"
    assert "y: reads per bin" in fig._suptitle.get_text()
    assert written(tmp_path, "fig1_inputs")


def test_fig1_colour_scale_shows_the_rare_values_and_the_axis_names_the_input(tmp_path) -> None:
    """The demo's shape: ~97% of genes in the bottom value bin (no reads), a few % spread above. A log colour scale
    from MIN_FRACTION gives those few % distinct colours (a linear or square-root one left them all one dark);
    no gene at all is white."""
    rng = np.random.default_rng(5)
    counts = rng.poisson(0.05, size=(400, len(MARKS), 6)).astype(float)
    z = (counts - counts.mean()) / counts.std()  # the z-scored signal (chromexpr.dataset): values below 0
    edges = distribution_edges([z], n=8)
    density = input_distributions(z, edges=edges)[None]
    fig = plot_input_distributions(density, edges, CELLS[:1], MARKS, tmp_path)
    image = images(fig)[0]
    assert isinstance(image.norm, LogNorm) and image.norm.vmin == MIN_FRACTION
    values = density[0, 0]
    rare = values[(values > 0) & (values < 0.1)]
    assert rare.size >= 2
    colours = {to_hex(image.cmap(image.norm(v))) for v in rare}
    assert len(colours) >= 2  # distinct colours for the rare values, not one dark
    assert (
        image.norm(np.array([0.0, 0.5]))[0] is np.ma.masked and to_hex(image.cmap.get_bad()) == "#ffffff"
    )  # none: white
    assert fig.get_supylabel() == "model input: z-scored signal (SD from the mark's mean)"
    assert input_value_label("counts", "log1p") == "log1p(reads per bin)"
    assert input_value_label("signal") == VALUE_LABELS["signal"]
    # a label given (the npz records it) wins over the guess from the edges
    named = plot_input_distributions(density, edges, CELLS[:1], MARKS, tmp_path, value_label="my unit")
    assert named.get_supylabel() == "model input: my unit"


def test_fig1_npz_round_trip(tmp_path) -> None:
    density, edges = fig1_data()
    path = write_fig1(tmp_path / "fig1_inputs.npz", density, edges, CELLS, MARKS)
    back = read_fig1(path)
    np.testing.assert_array_equal(back.density, density)
    np.testing.assert_array_equal(back.edges, edges)
    assert back.cells == CELLS and back.marks == MARKS
    assert back.value_label is None  # not recorded: the figure reads it off the edges
    with np.load(path, allow_pickle=False) as raw:  # plain arrays, strings as unicode
        assert raw["cells"].dtype.kind == "U"
    labelled = write_fig1(tmp_path / "labelled.npz", density, edges, CELLS, MARKS, value_label="z-scored signal")
    assert read_fig1(labelled).value_label == "z-scored signal"
    assert not list(tmp_path.glob(".*.tmp*"))


# --- Fig. 2 ---


def test_expression_histogram_common_edges_and_counts() -> None:
    values = {"E003": np.array([0.0, 1.0, 2.0, 3.0, np.nan]), "E116": np.array([5.0, 5.0, 9.0])}
    hist = expression_histogram(values, n_bins=3)
    assert list(hist.columns) == ["cell", "lo", "hi", "count"]
    per_cell = {cell: rows for cell, rows in hist.groupby("cell")}
    assert per_cell["E003"]["count"].sum() == 4 and per_cell["E116"]["count"].sum() == 3
    np.testing.assert_allclose(per_cell["E003"]["lo"], per_cell["E116"]["lo"])
    np.testing.assert_allclose(per_cell["E003"]["lo"], [0.0, 3.0, 6.0])
    np.testing.assert_allclose(per_cell["E003"]["hi"].iloc[-1], 9.0)
    assert list(per_cell["E003"]["count"]) == [3, 1, 0] and list(per_cell["E116"]["count"]) == [0, 2, 1]


def test_fig2_bars_are_the_counts(tmp_path) -> None:
    rng = np.random.default_rng(2)
    hist = expression_histogram({c: rng.normal(3, 1, 40 + 10 * i) for i, c in enumerate(CELLS)}, n_bins=8)
    fig = plot_expression_histograms(hist, tmp_path, target_label="log2(RPKM + 1) [test]")
    panels = [ax for ax in fig.axes if ax.patches]
    assert len(panels) == len(CELLS)
    for ax, cell in zip(panels, CELLS, strict=True):
        rows = hist[hist["cell"] == cell]
        bars = [p for p in ax.patches if p.get_gid() and p.get_gid().startswith(f"{cell}|")]
        np.testing.assert_allclose([p.get_height() for p in bars], rows["count"])
        np.testing.assert_allclose([p.get_x() for p in bars], rows["lo"])
        np.testing.assert_allclose([p.get_width() for p in bars], rows["hi"] - rows["lo"])
        assert ax.get_xlabel() == "log2(RPKM + 1) [test]"
        assert cell in ax.get_title() and f"n = {int(rows['count'].sum())}" in ax.get_title()
    assert panels[0].get_shared_y_axes().joined(panels[0], panels[1])
    assert written(tmp_path, "fig2_expression")


# --- Fig. 3 ---


def curves_frame(epochs: int = 4) -> pd.DataFrame:
    rows = []
    for k in range(3):
        for e in range(1, epochs + 1):
            rows.append(
                {
                    "submodel": f"fold{k}",
                    "epoch": e,
                    "train_loss": 5.0 / e + k,
                    "valid_mse": 6.0 / e + k,
                    "trainval_mse": math.nan if k == 1 else 4.0 / e + k,
                }
            )
    return pd.DataFrame(rows)


def test_fig3_lines_styles_and_colours(tmp_path) -> None:
    curves = curves_frame()
    fig = plot_loss_curves(curves, tmp_path)
    ax = fig.axes[0]
    lines = {line.get_gid(): line for line in ax.lines}
    for sub in ("fold0", "fold1", "fold2"):
        own = [gid for gid in lines if gid.startswith(f"{sub}|")]
        assert len(own) == (2 if sub == "fold1" else 3)  # fold1's trainval is NaN throughout: omitted
        rows = curves[curves["submodel"] == sub]
        for gid in own:
            column = gid.split("|")[1]
            np.testing.assert_allclose(lines[gid].get_ydata(), rows[column])
            np.testing.assert_allclose(lines[gid].get_xdata(), rows["epoch"])
    styles = {"train_loss": "-", "valid_mse": "--", "trainval_mse": ":"}
    for gid, line in lines.items():
        assert line.get_linestyle() == styles[gid.split("|")[1]]
    colors = {
        sub: {to_hex(lines[g].get_color()) for g in lines if g.startswith(f"{sub}|")}
        for sub in ("fold0", "fold1", "fold2")
    }
    assert all(len(c) == 1 for c in colors.values()) and len(set.union(*colors.values())) == 3
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "epoch" and ax.get_ylabel().startswith("MSE")
    legends = [[t.get_text() for t in legend.get_texts()] for legend in fig.legends]
    assert legends == [["fold0", "fold1", "fold2"], ["train", "eval (valid)", "trainval"]]
    assert fig._suptitle.get_text() == "Fig. 3: loss curves of the ensemble's sub-models"
    assert written(tmp_path, "fig3_loss")


def test_fig3_single_epoch_has_markers_and_linear_y_with_zero(tmp_path) -> None:
    curves = curves_frame(epochs=1).assign(trainval_mse=math.nan)
    curves.loc[0, "train_loss"] = 0.0
    fig = plot_loss_curves(curves, tmp_path)
    ax = fig.axes[0]
    assert len(ax.lines) == 6 and all(line.get_marker() not in (None, "None", "") for line in ax.lines)
    assert ax.get_yscale() == "linear"
    assert [t.get_text() for t in fig.legends[1].get_texts()] == ["train", "eval (valid)"]


def test_fig3_one_epoch_draws_points_per_sub_model_and_says_so(tmp_path) -> None:
    """The demo: every sub-model ran one epoch, all losses positive. No one-point "curve" on a log axis with two
    tick labels: one point per loss, sub-models side by side on x, a linear MSE axis, and the title says why."""
    curves = curves_frame(epochs=1)
    fig = plot_loss_curves(curves, tmp_path)
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["fold0", "fold1", "fold2"]
    lines = {line.get_gid(): line for line in ax.lines}
    for k, sub in enumerate(("fold0", "fold1", "fold2")):
        rows = curves[curves["submodel"] == sub]
        for column in ("train_loss", "valid_mse", "trainval_mse"):
            if rows[column].isna().all():
                assert f"{sub}|{column}" not in lines
                continue
            line = lines[f"{sub}|{column}"]
            np.testing.assert_allclose(line.get_ydata(), rows[column])
            assert abs(line.get_xdata()[0] - k) < 0.5 and line.get_linestyle() == "None"  # a point, in its column
    assert ax.get_xlabel() == "sub-model (one epoch each: epoch 1)"
    assert "one epoch each: points, not curves" in fig._suptitle.get_text()
    assert len(ax.get_yticks()) >= 3
    assert written(tmp_path, "fig3_loss")


# --- Fig. 4 ---


def gradients_frame() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    rows = [
        {"cell": cell, "mark": mark, "bin": b, "gradient": rng.normal(0, 0.01 * (c + 1))}
        for c, cell in enumerate(CELLS)
        for mark in MARKS
        for b in range(5)
    ]
    table = pd.DataFrame(rows)
    table.loc[3, "gradient"] = math.nan
    return table


def test_fig4_images_are_the_pivot_with_a_symmetric_shared_scale(tmp_path) -> None:
    table = gradients_frame()
    fig = plot_gradient_heatmaps(table, tmp_path)
    drawn = {im.get_gid(): im for im in images(fig)}
    assert list(drawn) == CELLS
    limit = float(np.nanmax(np.abs(table["gradient"])))
    for cell in CELLS:
        expected = table[table["cell"] == cell].pivot(index="mark", columns="bin", values="gradient").loc[MARKS]
        array = np.ma.filled(np.ma.asarray(drawn[cell].get_array()).astype(float), np.nan)
        np.testing.assert_allclose(array, expected.to_numpy(), equal_nan=True)
        assert drawn[cell].get_clim() == pytest.approx((-limit, limit))
        assert drawn[cell].get_cmap().name.startswith("RdBu_r")
    assert np.isnan(np.ma.filled(np.ma.asarray(drawn["E003"].get_array()).astype(float), np.nan)[0, 3])
    panels = [ax for ax in fig.axes if ax.images]
    assert [t.get_text() for t in panels[0].get_yticklabels()] == MARKS
    assert panels[-1].get_xlabel() == BIN_LABEL
    colorbars = [ax for ax in fig.axes if not ax.images]
    assert len(colorbars) == 1 and colorbars[0].get_ylabel() == GRADIENT_LABEL
    assert fig._suptitle.get_text() == "Fig. 4: mean signed input gradient (not a saliency map)"
    assert written(tmp_path, "fig4_gradients")


def test_gradient_panels_keep_mark_order_and_fill_missing() -> None:
    table = pd.DataFrame(
        {"cell": ["A", "A", "A", "B"], "mark": ["z", "a", "z", "a"], "bin": [1, 0, 0, 1], "gradient": [1, 2, 3, 4]}
    )
    panels = gradient_panels(table)
    assert list(panels) == ["A", "B"] and list(panels["A"].index) == ["z", "a"] and list(panels["A"].columns) == [0, 1]
    np.testing.assert_allclose(panels["A"].to_numpy(), [[3, 1], [2, np.nan]], equal_nan=True)
    np.testing.assert_allclose(panels["B"].to_numpy(), [[np.nan, np.nan], [np.nan, 4]], equal_nan=True)


# --- redrawing ---


def test_draw_regression_figures_redraws_and_skips_missing(tmp_path, caplog) -> None:
    section = tmp_path / "section"
    section.mkdir()
    density, edges = fig1_data()
    write_fig1(section / "fig1_inputs.npz", density, edges, CELLS, MARKS)
    curves_frame().to_csv(section / "loss_curves.tsv", sep="\t", index=False)
    gradients_frame().to_csv(section / "gradients.tsv", sep="\t", index=False)
    out = tmp_path / "figures"
    with caplog.at_level(logging.INFO, logger="chromexpr.plotting"):
        paths = draw_regression_figures(section, out)
    stems = ["fig1_inputs", "fig3_loss", "fig4_gradients"]
    assert paths == [out / f"{s}.{fmt}" for s in stems for fmt in ("png", "pdf")]
    assert all(p.stat().st_size > 0 for p in paths)
    assert not (out / "fig2_expression.png").exists()
    assert any("expression_histograms.tsv" in r.getMessage() for r in caplog.records)
    # a section with only the histograms: Fig. 2 alone, into section_dir by default
    only = tmp_path / "only_hist"
    only.mkdir()
    expression_histogram({"E003": np.arange(10.0)}, n_bins=4).to_csv(
        only / "expression_histograms.tsv", sep="\t", index=False
    )
    paths = draw_regression_figures(only)
    assert paths == [only / "fig2_expression.png", only / "fig2_expression.pdf"] and all(p.is_file() for p in paths)


def test_redraw_redraws_every_figure_from_the_section_files_alone(tmp_path, monkeypatch) -> None:
    """Every figure the plan lists, from fig1_inputs.npz, expression_histograms.tsv, loss_curves.tsv and
    gradients.tsv (Fig. 2's x label from mse.md), nothing read from the results folder."""
    section = tmp_path / "report" / "regression"
    section.mkdir(parents=True)
    density, edges = fig1_data()
    write_fig1(section / "fig1_inputs.npz", density, edges, CELLS, MARKS)
    hist = expression_histogram({"E003": np.arange(10.0), "E116": np.arange(5.0, 20.0)}, n_bins=4)
    hist.to_csv(section / "expression_histograms.tsv", sep="\t", index=False)
    curves = pd.concat([curves_frame().assign(seed=1), curves_frame(2).assign(seed=0)], ignore_index=True)
    curves.to_csv(section / "loss_curves.tsv", sep="\t", index=False)
    gradients_frame().to_csv(section / "gradients.tsv", sep="\t", index=False)
    label = TARGETS["log1p"][0]
    (section / "mse.md").write_text(mse_markdown(pd.DataFrame(), label), encoding="utf-8")
    before = {p.name for p in section.iterdir()}
    drawn: dict[str, object] = {}
    original_hist, original_loss = figures.plot_expression_histograms, figures.plot_loss_curves

    def hist_spy(table, out_dir, stem="fig2_expression", target_label="?"):
        drawn["target_label"] = target_label
        return original_hist(table, out_dir, stem=stem, target_label=target_label)

    def loss_spy(table, out_dir, stem="fig3_loss"):
        drawn["seeds"] = sorted(set(table["seed"]))
        return original_loss(table, out_dir, stem=stem)

    monkeypatch.setattr(figures, "plot_expression_histograms", hist_spy)
    monkeypatch.setattr(figures, "plot_loss_curves", loss_spy)
    paths = redraw(section, tmp_path / "no_results_here")
    assert paths == [section / f"{s}.{fmt}" for s in REGRESSION_FIGURE_STEMS for fmt in ("png", "pdf")]
    assert all(p.stat().st_size > 0 for p in paths)
    # every file of the section: the tables it was drawn from and the figures redrawn
    assert {p.name for p in section.iterdir()} == set(report_files()) - {"mse.tsv", "per_cell_mse.tsv", "section.html"}
    assert before == set(REGRESSION_TABLE_FILES) - {"mse.tsv", "per_cell_mse.tsv", "section.html"}
    assert drawn == {"target_label": label, "seeds": [0]}  # Fig. 3: the lowest seed
    assert not (tmp_path / "no_results_here").exists()
    # into another folder; without mse.md Fig. 2 takes the default target's label
    (section / "mse.md").unlink()
    out = tmp_path / "elsewhere"
    assert redraw(section, out_dir=out) == [
        out / f"{s}.{fmt}" for s in REGRESSION_FIGURE_STEMS for fmt in ("png", "pdf")
    ]
    assert drawn["target_label"] == DEFAULT_TARGET_LABEL == TARGETS["log2p1"][0]


def test_section_target_label_reads_mse_md(tmp_path) -> None:
    assert section_target_label(tmp_path) is None
    for label in (TARGETS["log2p1"][0], "expression"):
        (tmp_path / "mse.md").write_text(mse_markdown(pd.DataFrame(), label), encoding="utf-8")
        assert section_target_label(tmp_path) == label
    (tmp_path / "mse.md").write_text("# no target line\n", encoding="utf-8")
    assert section_target_label(tmp_path) is None
