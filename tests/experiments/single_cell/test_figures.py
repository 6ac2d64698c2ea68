"""Tests of chromexpr.plotting and of redrawing a report's figures from its TSVs alone."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.text import Text
from sklearn.metrics import auc

from chromexpr.errors import InputError
from chromexpr.experiments.single_cell.figures import (
    auroc_distribution_figure,
    paired_scatter_figure,
    per_cell_auroc_figure,
    redraw,
    roc_curves_figure,
    training_curves_figure,
)
from chromexpr.models import list_cards
from chromexpr.models.display import model_color as card_color
from chromexpr.plotting import assign_styles, delta_e, model_color, order_models, save_figure
from chromexpr.plotting.style import DPI, NOT_CONVERGED_HATCH

#: the cards whose display.color fixes their colour, in display order (the 14 single-cell cards first)
COLORED = order_models(c for c in list_cards() if card_color(c))

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
    fig = per_cell_auroc_figure(per_cell_frame(models=COLORED[:7], n_cells=56))
    assert len(fig.axes) >= 4  # 56 cells x 7 models: several rows of panels
    ticks = [t.get_text() for ax in fig.axes for t in ax.get_xticklabels()]
    assert len(ticks) == 56 and ticks[0] == "E003"
    few = per_cell_auroc_figure(per_cell_frame(n_cells=5))
    assert len(few.axes) == 1


def test_colours_are_fixed_per_model():
    assert model_color("deepchrome") == card_color("deepchrome") == "#1f77b4"  # its card's display.color
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
    written = redraw(tables, out_dir=tmp_path / "figures")
    assert sorted(p.name for p in written) == sorted(
        f"{stem}.{ext}"
        for stem in ("per_cell_auroc", "auroc_distribution", "paired_vs_deepchrome")
        for ext in ("png", "pdf")
    )
    assert all(p.parent == tmp_path / "figures" and p.stat().st_size > 0 for p in written)


def test_draw_figures_without_tables_is_an_error(tmp_path):
    with pytest.raises(InputError, match="per_cell_auroc.tsv"):
        redraw(tmp_path)


# --- what is drawn: checks through the matplotlib objects --------------------------------------------

MANY = COLORED[:14]


def _visible_axes(fig):
    return [ax for ax in fig.axes if ax.axison]


def drawn_bars(fig) -> dict[tuple[str, str], object]:
    """``(model, cell) -> bar patch`` of a per-cell bar figure, the cell read off the x tick under the bar."""
    bars = {}
    for ax in fig.axes:
        ticks = {round(t): label.get_text() for t, label in zip(ax.get_xticks(), ax.get_xticklabels(), strict=True)}
        for container in ax.containers:
            if not isinstance(container, BarContainer):
                continue
            for patch in container.patches:
                cell = ticks[round(patch.get_x() + patch.get_width() / 2)]
                key = (container.get_label(), cell)
                assert key not in bars, f"two bars for {key}"
                bars[key] = patch
    return bars


def check_bars(fig, per_cell: pd.DataFrame) -> None:
    """One bar per model and cell, its top at the table's mean AUROC."""
    bars = drawn_bars(fig)
    expected = {(r.model, r.cell): r.test_auroc_mean for r in per_cell.itertuples()}
    assert set(bars) == set(expected)
    for key, value in expected.items():
        patch = bars[key]
        assert patch.get_y() + patch.get_height() == pytest.approx(value, abs=1e-9), key


def check_error_bars(fig, per_cell: pd.DataFrame) -> None:
    """Error bars centred on the mean, mean +- sd long, at their model's bar."""
    seen = {}
    for ax in fig.axes:
        ticks = {round(t): label.get_text() for t, label in zip(ax.get_xticks(), ax.get_xticklabels(), strict=True)}
        bar_x = {
            (c.get_label(), round(p.get_x() + p.get_width() / 2, 9))
            for c in ax.containers
            if isinstance(c, BarContainer)
            for p in c.patches
        }
        for container in ax.containers:
            if not isinstance(container, ErrorbarContainer):
                continue
            model = container.get_label().removeprefix("sd ")
            for (x, lo), (_, hi) in container.lines[2][0].get_segments():
                assert (model, round(x, 9)) in bar_x  # on the model's own bar
                seen[(model, ticks[round(x)])] = (lo, hi)
    expected = per_cell.dropna(subset=["test_auroc_sd"])
    assert set(seen) == {(r.model, r.cell) for r in expected.itertuples()}
    for r in expected.itertuples():
        lo, hi = seen[(r.model, r.cell)]
        assert hi - lo == pytest.approx(2 * r.test_auroc_sd)
        assert (hi + lo) / 2 == pytest.approx(r.test_auroc_mean)


def check_scatter(fig, per_cell: pd.DataFrame, reference: str) -> None:
    """Each panel: x = the reference's AUROC, y = the model's, one point per cell, labelled axes."""
    wide = per_cell.pivot_table(index="cell", columns="model", values="test_auroc_mean")
    panels = _visible_axes(fig)
    others = [m for m in order_models(per_cell["model"]) if m != reference]
    assert [ax.get_title().split("\n")[0].split(" (")[0] for ax in panels] == others
    for ax, model in zip(panels, others, strict=True):
        points = ax.collections[0].get_offsets()
        assert np.asarray(points) == pytest.approx(wide[[reference, model]].dropna().to_numpy())
        assert ax.get_xlabel() == f"{reference} AUROC"
        assert ax.get_ylabel() == f"{model} AUROC"


def check_roc(fig, roc: pd.DataFrame) -> None:
    """One line per model, cell and seed, its data the table's fpr (x) and tpr (y), in order."""
    lines = {line.get_gid(): line for ax in fig.axes for line in ax.lines if line.get_gid()}
    runs = {f"{m}|{c}|{s}": run for (m, c, s), run in roc.groupby(["model", "cell", "seed"])}
    assert set(lines) == set(runs)
    for gid, run in runs.items():
        assert lines[gid].get_xdata() == pytest.approx(run["fpr"].to_numpy())
        assert lines[gid].get_ydata() == pytest.approx(run["tpr"].to_numpy())


def one_shot_models(curves: pd.DataFrame) -> set[str]:
    """The models with one row per run (a scikit-learn fit): drawn as a text, not as lines."""
    sizes = curves.groupby(["model", "cell", "seed"]).size().groupby("model").max()
    return set(sizes[sizes <= 1].index)


def check_training(fig, curves: pd.DataFrame) -> None:
    """Per model, cell, seed and column: a line of (epoch, value); no line for an all-NaN column. A model fitted once
    (one row per run) has no line: its two panels hold a text with its values."""
    lines = {line.get_gid(): line for ax in fig.axes for line in ax.lines if line.get_gid()}
    once = one_shot_models(curves)
    expected = {}
    for (m, c, s), run in curves.groupby(["model", "cell", "seed"]):
        if m in once:
            continue
        run = run.sort_values("epoch")
        for col in ("train_loss", "valid_loss", "valid_auroc"):
            if run[col].notna().any():
                expected[f"{m}|{c}|{s}|{col}"] = (run["epoch"].to_numpy(dtype=float), run[col].to_numpy(dtype=float))
    assert set(lines) == set(expected)
    for gid, (x, y) in expected.items():
        assert lines[gid].get_xdata() == pytest.approx(x)
        assert np.asarray(lines[gid].get_ydata(), dtype=float) == pytest.approx(y, nan_ok=True)
    notes = {t.get_gid(): t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid()}
    for model in once:
        rows = curves[curves["model"] == model]
        auroc = notes[f"{model}|one_shot|auroc"]
        per_cell = rows.groupby("cell")["valid_auroc"].mean().dropna()
        if len(per_cell) <= 8:
            for cell, value in per_cell.items():
                assert f"{cell}  {value:.3f}" in auroc  # each cell's validation AUROC, mean over seeds
        else:  # many cells: their mean and range
            assert f"mean {per_cell.mean():.3f} ({per_cell.min():.3f}\u2013{per_cell.max():.3f})" in auroc
        assert notes[f"{model}|one_shot|loss"].startswith(("fitted once", "trained one epoch only"))


def assert_fits(fig) -> None:
    """Everything drawn (the title, legends, and each panel with its titles, labels, tick labels, texts and legend)
    lies inside the figure: nothing is cut at its edges. Checked on the rendered extents."""
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    frame = fig.bbox
    parts = [("title", fig._suptitle)] if fig._suptitle is not None else []
    parts += [("legend", legend) for legend in fig.legends]
    parts += [(ax.get_title() or "panel", ax) for ax in fig.axes if ax.axison]
    for name, artist in parts:
        box = artist.get_tightbbox(renderer) if hasattr(artist, "get_tightbbox") else artist.get_window_extent(renderer)
        assert box.x0 >= frame.x0 - 1 and box.x1 <= frame.x1 + 1, f"cut at the left/right edge: {name!r}"
        assert box.y0 >= frame.y0 - 1 and box.y1 <= frame.y1 + 1, f"cut at the top/bottom edge: {name!r}"


def legend_texts(legend) -> list[str]:
    return [t.get_text() for t in legend.get_texts()]


def curves_frame(models=("deepchrome", "logreg"), cells=("E003", "E004"), epochs=6) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for model in models:
        for cell in cells:
            for seed in (0, 1):
                if model == "logreg":  # a scikit-learn fit: one row
                    rows.append(
                        dict(
                            model=model,
                            cell=cell,
                            seed=seed,
                            epoch=1,
                            train_loss=0.5 + 0.01 * rng.random() if cell == "E003" else np.nan,
                            valid_loss=0.55 + 0.01 * rng.random() if cell == "E003" else np.nan,
                            valid_auroc=0.8 + 0.01 * rng.random(),
                        )
                    )
                    continue
                for epoch in range(epochs):
                    rows.append(
                        dict(
                            model=model,
                            cell=cell,
                            seed=seed,
                            epoch=epoch,
                            train_loss=1 / (epoch + 1) + 0.01 * rng.random(),
                            valid_loss=np.nan if epoch == 2 else 1.1 / (epoch + 1),
                            valid_auroc=0.6 + 0.04 * epoch,
                        )
                    )
    return pd.DataFrame(rows)


def roc_frame(models=("deepchrome", "transferchrome"), cells=("E003", "E004", "E005"), seeds=(0,)) -> pd.DataFrame:
    rows = []
    for i, model in enumerate(models):
        for j, cell in enumerate(cells):
            for seed in seeds:
                fpr = np.linspace(0, 1, 11)
                tpr = 1 - (1 - fpr) ** (2 + i + 0.5 * j + 0.1 * seed)
                rows += [dict(model=model, cell=cell, seed=seed, fpr=f, tpr=t) for f, t in zip(fpr, tpr, strict=True)]
    return pd.DataFrame(rows)


def test_bars_are_the_table_values():
    table = per_cell_frame(models=MANY, n_cells=9)
    fig = per_cell_auroc_figure(table)
    check_bars(fig, table)
    check_error_bars(fig, table)
    assert legend_texts(fig.legends[0]) == MANY + ["sd over seeds"]
    assert fig.get_suptitle() == "Test AUROC per cell (9 cells, 14 models)"
    assert per_cell_auroc_figure(table, title="my title").get_suptitle() == "my title"
    assert len(fig.axes) == 2 and fig.get_supylabel().startswith("test AUROC (mean over seeds; axis starts at")
    assert per_cell_auroc_figure(table.iloc[:70]).axes[0].get_ylabel().startswith("test AUROC\n(axis starts at")
    assert fig.axes[-1].get_xlabel() == "cell"


def test_bars_of_one_seed_have_no_error_bars():
    table = per_cell_frame(n_seeds=1)
    fig = per_cell_auroc_figure(table)
    check_bars(fig, table)
    assert not [c for ax in fig.axes for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert "sd over seeds" not in legend_texts(fig.legends[0])


def test_many_cells_bars_are_the_table_values_on_every_row():
    table = per_cell_frame(models=MANY, n_cells=56)
    fig = per_cell_auroc_figure(table)
    assert len(fig.axes) > 1
    check_bars(fig, table)
    check_error_bars(fig, table)


def test_non_converged_bars_are_hatched():
    table = per_cell_frame(n_cells=4)
    table["converged"] = True
    table.loc[[1, 6], "converged"] = False
    fig = per_cell_auroc_figure(table)
    check_bars(fig, table)
    bars = drawn_bars(fig)
    bad = {(r.model, r.cell) for r in table.itertuples() if not r.converged}
    for key, patch in bars.items():
        assert (patch.get_hatch() == NOT_CONVERGED_HATCH) == (key in bad), key
    assert legend_texts(fig.legends[0])[-1] == "not converged"
    assert fig.legends[0].legend_handles[-1].get_hatch() == NOT_CONVERGED_HATCH
    table["converged"] = True
    assert "not converged" not in legend_texts(per_cell_auroc_figure(table).legends[0])


def test_wrong_bars_fail_the_checks():
    """The checkers catch a figure that draws other numbers than the table's."""
    table = per_cell_frame(models=MANY, n_cells=5)

    def zeroed(per_cell):  # a broken figure function: every bar drawn with height 0
        fig = per_cell_auroc_figure(per_cell)
        for patch in drawn_bars(fig).values():
            patch.set_height(0)
        return fig

    with pytest.raises(AssertionError):
        check_bars(zeroed(table), table)
    shuffled = table.assign(cell=table.groupby("model")["cell"].transform(lambda c: c.iloc[::-1].to_numpy()))
    with pytest.raises(AssertionError):  # values under the wrong cells
        check_bars(per_cell_auroc_figure(shuffled), table)
    doubled = table.assign(test_auroc_sd=2 * table["test_auroc_sd"])
    with pytest.raises(AssertionError):
        check_error_bars(per_cell_auroc_figure(doubled), table)


def test_scatter_points_are_reference_against_model():
    table = per_cell_frame(models=MANY, n_cells=5)
    fig = paired_scatter_figure(table, "deepchrome", paired_frame())
    check_scatter(fig, table, "deepchrome")
    panels = _visible_axes(fig)
    assert len(panels) == 13
    assert max(ax.get_subplotspec().get_geometry()[1] for ax in panels) <= 4
    titles = {ax.get_title().split("\n")[0]: ax.get_title() for ax in panels}
    assert titles["transferchrome"] == "transferchrome\nW/L/T 5/0/0 \u0394+0.030 p 0.062"
    assert titles["convchrome"] == "convchrome"  # no paired stats for it
    assert fig.get_suptitle().startswith("Per-cell test AUROC against deepchrome (5 cells")
    # few cells: each point labelled with its cell
    assert sorted(t.get_text() for t in panels[0].texts) == sorted(table["cell"].unique())


def label_boxes(fig) -> dict:
    """Per panel of a paired scatter, the rendered boxes of its cell labels."""
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    return {
        # the text's own box (an annotation's extent includes its leader line)
        ax: [Text.get_window_extent(t, renderer) for t in ax.texts if (t.get_gid() or "").startswith("label|")]
        for ax in _visible_axes(fig)
    }


#: the demo report's mean difference of each model's per-cell AUROC from deepchrome's (MANY's order)
DEMO_OFFSETS = (0.0, -0.008, 0.019, 0.028, 0.024, -0.080, -0.012, -0.053, -0.210, 0.002, -0.198, -0.113, 0.034, 0.034)


def clustered_per_cell() -> pd.DataFrame:
    """The demo's shape: 5 cells whose AUROCs lie within 0.05 of each other, the models at the demo's offsets."""
    rows = []
    base = {"E003": 0.799, "E066": 0.802, "E085": 0.769, "E116": 0.817, "E123": 0.812}
    for k, (model, offset) in enumerate(zip(MANY, DEMO_OFFSETS, strict=True)):
        for j, (cell, value) in enumerate(base.items()):
            jitter = 0.006 * (((j * 7 + k) % 5) - 2) if k else 0.0
            rows.append(
                {
                    "model": model,
                    "cell": cell,
                    "n_seeds": 1,
                    "test_auroc_mean": value + offset + jitter,
                    "test_auroc_sd": np.nan,
                }
            )
    return pd.DataFrame(rows)


def test_scatter_labels_stay_apart_inside_their_panel():
    table = clustered_per_cell()
    fig = paired_scatter_figure(table, "deepchrome", paired_frame())
    check_scatter(fig, table, "deepchrome")
    renderer = FigureCanvasAgg(fig).get_renderer()
    for ax, boxes in label_boxes(fig).items():
        assert len(boxes) == 5
        frame = ax.get_window_extent(renderer)
        for box in boxes:  # inside the axes: never over the panel's title or a neighbour
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        overlaps = [(a, b) for a, b in itertools.combinations(boxes, 2) if a.overlaps(b)]
        assert not overlaps, ax.get_title()


def test_each_scatter_panel_spreads_its_points():
    """Each panel's limits are its own (equal on x and y, so the diagonal is y = x): its points span most of the
    panel, not one corner of a range shared by every model."""
    table = clustered_per_cell()
    fig = paired_scatter_figure(table, "deepchrome", paired_frame())
    FigureCanvasAgg(fig).draw()
    for ax in _visible_axes(fig):
        points = np.asarray(ax.collections[0].get_offsets())
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        assert points[:, 0].min() >= x0 and points[:, 0].max() <= x1
        assert points[:, 1].min() >= y0 and points[:, 1].max() <= y1
        spread = max(np.ptp(points[:, 0]) / (x1 - x0), np.ptp(points[:, 1]) / (y1 - y0))
        model = ax.get_title().split("\n")[0]
        if abs(DEMO_OFFSETS[MANY.index(model)]) < 0.05:  # near the reference: the points fill the panel
            # (a range shared by all 14 models, 0.27 wide, left the demo's points in 0.15 of each panel)
            assert spread > 0.35, model
        box = ax.get_window_extent()
        assert (x1 - x0) / box.width == pytest.approx((y1 - y0) / box.height, rel=0.02)  # one scale on x and y
    assert len({ax.get_xlim() for ax in _visible_axes(fig)}) > len(_visible_axes(fig)) // 2  # not one shared range
    assert "each panel on its own scale" in fig.get_suptitle()
    assert_fits(fig)


def test_swapped_scatter_fails_the_checks():
    table = per_cell_frame(n_cells=5)
    fig = paired_scatter_figure(table, "deepchrome")
    for ax in _visible_axes(fig):
        ax.collections[0].set_offsets(np.asarray(ax.collections[0].get_offsets())[:, ::-1])
    with pytest.raises(AssertionError):
        check_scatter(fig, table, "deepchrome")


def test_many_cells_scatter_has_no_cell_labels():
    table = per_cell_frame(models=MANY, n_cells=56)
    fig = paired_scatter_figure(table, "deepchrome")
    check_scatter(fig, table, "deepchrome")
    assert all(not ax.texts for ax in _visible_axes(fig))


def test_distribution_draws_every_cell_per_model():
    table = per_cell_frame(models=MANY, n_cells=7)
    fig = auroc_distribution_figure(table, published_frame())
    ax = fig.axes[0]
    dots = {c.get_label(): c for c in ax.collections}
    assert list(dots) == MANY
    for i, model in enumerate(MANY):
        xy = np.asarray(dots[model].get_offsets())
        values = table.loc[table["model"] == model, "test_auroc_mean"].to_numpy()
        assert sorted(xy[:, 1]) == pytest.approx(sorted(values))
        assert np.all(np.abs(xy[:, 0] - i) < 0.2)  # in the model's column
    assert [t.get_text() for t in ax.get_xticklabels()] == MANY
    assert ax.get_ylabel() == "test AUROC per cell (mean over seeds)"
    assert legend_texts(fig.legends[0]) == [
        "published, same cells",
        "third-party, same cells",
        "paper's mean, all its cells",
    ]
    assert "7 cells per model" in fig.get_suptitle()


@pytest.mark.parametrize("n_cells", [5, 56])
def test_figures_fit_a_1200_px_page(n_cells):
    table = per_cell_frame(models=MANY, n_cells=n_cells)
    cells = sorted(table["cell"].unique())
    figs = [
        per_cell_auroc_figure(table),
        auroc_distribution_figure(table, published_frame()),
        paired_scatter_figure(table, "deepchrome", paired_frame()),
        training_curves_figure(curves_frame(models=MANY, cells=cells[:5], epochs=3)),
        roc_curves_figure(roc_frame(models=MANY, cells=cells[:6])),
    ]
    for fig in figs:
        width, height = fig.get_size_inches() * DPI
        assert width <= 1200 and height <= 2400
        assert fig.get_suptitle()  # standalone PNG/PDF carry a title
        assert_fits(fig)


@pytest.mark.parametrize("n_models", [2, 3])
def test_titles_of_few_models_are_not_cut(n_models):
    """An own-data report with 2-3 models: narrow figures whose titles wrap instead of running off both edges."""
    models = ["deepchrome", "logreg", "random_forest"][:n_models]
    table = per_cell_frame(models=models, n_cells=5)
    paired = paired_frame().assign(model=models[1]).iloc[:1]
    for fig in (
        per_cell_auroc_figure(table),
        auroc_distribution_figure(table, published_frame()),
        paired_scatter_figure(table, "deepchrome", paired),
        roc_curves_figure(roc_frame(models=models, cells=("E003",))),
    ):
        assert fig.get_size_inches()[0] < 6  # narrow: the long title has to wrap
        assert_fits(fig)
    title = auroc_distribution_figure(table).get_suptitle()
    assert "\n" in title and title.replace("\n", " ").startswith("Per-cell test AUROC per model (5 cells per model")


def test_assert_fits_catches_a_cut_title():
    fig = auroc_distribution_figure(per_cell_frame(models=["deepchrome", "logreg"]))
    fig.suptitle("a title far too long for a figure this narrow " * 3)  # not wrapped
    with pytest.raises(AssertionError, match="cut at the left/right edge"):
        assert_fits(fig)


def test_bar_colours_are_the_cards_and_distinct():
    """14 models: each bar in its card's display colour, no two alike (CIE76 distance at least 20)."""
    table = per_cell_frame(models=MANY, n_cells=3)
    fig = per_cell_auroc_figure(table)
    colours = {
        c.get_label(): to_hex(c.patches[0].get_facecolor())
        for c in fig.axes[0].containers
        if isinstance(c, BarContainer)
    }
    assert list(colours) == MANY
    for model, colour in colours.items():
        assert colour == card_color(model).lower()
    assert min(delta_e(a, b) for a, b in itertools.combinations(colours.values(), 2)) >= 20
    # a model without a card colour gets one no other model of the figure has
    extra = per_cell_frame(models=[*MANY[:5], "my_new_model", "another_model"], n_cells=2)
    fig = per_cell_auroc_figure(extra)
    picked = [to_hex(c.patches[0].get_facecolor()) for c in fig.axes[0].containers if isinstance(c, BarContainer)]
    assert len(set(picked)) == len(picked)


def test_roc_lines_are_the_table_curves():
    roc = roc_frame(seeds=(0, 1))
    fig = roc_curves_figure(roc, title="ROC")
    check_roc(fig, roc)
    panels = _visible_axes(fig)
    assert [ax.get_title() for ax in panels] == ["E003", "E004", "E005"]
    assert fig.get_suptitle() == "ROC"
    for ax in panels:
        chance = [line for line in ax.lines if line.get_label() == "_chance"]
        assert len(chance) == 1 and list(chance[0].get_xdata()) == [0, 1] == list(chance[0].get_ydata())
        rows = roc[roc["cell"] == ax.get_title()]
        expected = []
        for model in ("deepchrome", "transferchrome"):
            areas = [auc(r["fpr"], r["tpr"]) for _, r in rows[rows["model"] == model].groupby("seed")]
            expected.append(f"{model} {np.mean(areas):.3f} (2 seeds)")
        assert legend_texts(ax.get_legend()) == expected
    colours = {line.get_gid().split("|")[0]: line.get_color() for line in panels[0].lines if line.get_gid()}
    styles = assign_styles(roc["model"])
    assert colours == {m: styles[m].color for m in styles}
    assert panels[-1].get_xlabel() == "false positive rate" and panels[0].get_ylabel() == "true positive rate"


def test_roc_of_many_models_draws_one_panel_per_model_named():
    roc = roc_frame(models=MANY, cells=("E003", "E004"))
    fig = roc_curves_figure(roc)
    check_roc(fig, roc)
    panels = _visible_axes(fig)
    assert [ax.get_title() for ax in panels] == MANY  # every model named, one panel each
    for ax, model in zip(panels, MANY, strict=True):
        rows = roc[roc["model"] == model]
        assert legend_texts(ax.get_legend()) == [
            f"{cell} {auc(part['fpr'], part['tpr']):.3f}" for cell, part in rows.groupby("cell")
        ]
        assert ax.get_legend().get_title().get_text() == "cell  AUC"
        curves = [line for line in ax.lines if line.get_gid()]
        assert len(curves) == 2 and len({line.get_color() for line in curves}) == 2  # colour = cell
    # the same cell has the same colour in every panel
    colours = {
        line.get_gid().split("|", 1)[1]: line.get_color() for ax in panels for line in ax.lines if line.get_gid()
    }
    assert len(set(colours.values())) == 2
    assert "one panel per model" in fig.get_suptitle()
    assert_fits(fig)


def test_roc_of_many_models_and_cells_gives_the_areas_in_the_titles():
    cells = tuple(f"E{c:03d}" for c in range(3, 13))
    roc = roc_frame(models=MANY[:6], cells=cells)
    fig = roc_curves_figure(roc)
    check_roc(fig, roc)
    panels = _visible_axes(fig)
    assert all(ax.get_legend() is None for ax in panels)
    first = roc[roc["model"] == MANY[0]]
    areas = [auc(part["fpr"], part["tpr"]) for _, part in first.groupby("cell")]
    assert panels[0].get_title() == f"{MANY[0]}\nAUC {np.mean(areas):.3f} ({min(areas):.3f}\u2013{max(areas):.3f})"
    assert legend_texts(fig.legends[0]) == list(cells)  # colour = cell, in a figure legend


def test_wrong_roc_fails_the_checks():
    roc = roc_frame()
    fig = roc_curves_figure(roc)
    line = next(line for line in fig.axes[0].lines if line.get_gid())
    line.set_data(line.get_ydata(), line.get_xdata())  # fpr and tpr swapped
    with pytest.raises(AssertionError):
        check_roc(fig, roc)


def test_training_curves_draw_every_run():
    curves = curves_frame()
    fig = training_curves_figure(curves)
    check_training(fig, curves)
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in titled] == ["deepchrome", "logreg"]
    assert len(_visible_axes(fig)) == 4  # loss + AUROC panel per model
    lines = {line.get_gid(): line for ax in fig.axes for line in ax.lines if line.get_gid()}
    assert lines["deepchrome|E003|0|train_loss"].get_linestyle() == "-"
    assert lines["deepchrome|E003|0|valid_loss"].get_linestyle() == "--"
    # one colour per cell, the same in every panel
    assert lines["deepchrome|E003|0|train_loss"].get_color() != lines["deepchrome|E004|0|train_loss"].get_color()
    assert lines["deepchrome|E003|0|train_loss"].get_color() == lines["deepchrome|E003|1|valid_auroc"].get_color()
    # the scikit-learn model: no lone dot per run, a text that says it was fitted once, with its values
    assert not [gid for gid in lines if gid.startswith("logreg|")]
    notes = {t.get_gid(): t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid()}
    loss = notes["logreg|one_shot|loss"].split("\n")
    assert loss[0] == "fitted once (no epochs): no curve"
    e003 = curves[(curves["model"] == "logreg") & (curves["cell"] == "E003")]["train_loss"].mean()
    assert loss[1] == f"train loss {e003:.3f} (cells {e003:.3f}\u2013{e003:.3f})"  # only E003 has losses
    auroc = notes["logreg|one_shot|auroc"].split("\n")
    assert auroc[:2] == ["valid AUROC per cell", "(mean of 2 seeds):"] and len(auroc) == 4
    logreg_axes = [ax for ax in fig.axes if any(t.get_gid() and t.get_gid().startswith("logreg|") for t in ax.texts)]
    assert len(logreg_axes) == 2 and all(not ax.get_xticks().size for ax in logreg_axes)  # no epoch axis
    assert legend_texts(fig.legends[0]) == ["train loss / valid AUROC", "valid loss", "E003", "E004"]
    assert fig.axes[0].get_ylabel() == "loss" and fig.axes[2].get_ylabel() == "valid AUROC"
    assert fig.get_suptitle().startswith("Training curves (2 models, 2 cells)")
    assert training_curves_figure(curves, title="T").get_suptitle() == "T"


def test_one_epoch_torch_runs_say_so_and_many_cells_give_a_range():
    cells = [f"E{c:03d}" for c in range(3, 13)]  # more cells than a panel lists
    curves = curves_frame(models=("deepchrome",), cells=cells, epochs=1)
    fig = training_curves_figure(curves)
    check_training(fig, curves)
    notes = {t.get_gid(): t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid()}
    assert notes["deepchrome|one_shot|loss"].startswith("trained one epoch only: no curve")  # a torch card
    per_cell = curves.groupby("cell")["valid_auroc"].mean()
    assert notes["deepchrome|one_shot|auroc"].split("\n")[2] == (
        f"mean {per_cell.mean():.3f} ({per_cell.min():.3f}\u2013{per_cell.max():.3f}), 10 cells"
    )


def test_wrong_training_curves_fail_the_checks():
    curves = curves_frame()
    shifted = curves.assign(valid_auroc=curves["valid_auroc"] + 0.05)
    with pytest.raises(AssertionError):
        check_training(training_curves_figure(shifted), curves)


@pytest.mark.parametrize(
    "make",
    [
        lambda: training_curves_figure(curves_frame().iloc[:0]),
        lambda: training_curves_figure(pd.DataFrame(columns=["model", "cell", "seed", "epoch"])),
        lambda: roc_curves_figure(roc_frame().iloc[:0]),
        lambda: training_curves_figure(curves_frame(models=("logreg",))),
        lambda: roc_curves_figure(roc_frame(models=("deepchrome",), cells=("E003",))),
    ],
    ids=["curves-empty", "curves-nocolumns", "roc-empty", "curves-sklearn-only", "roc-one"],
)
def test_new_figures_variants_save(tmp_path, make):
    assert_written(save_figure(make(), tmp_path / "figure"), tmp_path / "figure")
