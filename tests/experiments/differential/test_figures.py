"""Tests of chromexpr.experiments.differential.figures (DeepDiff Figs. 4-5 and the LFC scatter): what is drawn."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle

from chromexpr.experiments.differential.evaluate import MODELS, VARIANTS, model_kind, pearson
from chromexpr.experiments.differential.figures import (
    MAX_INK_LIGHTNESS,
    NOISE_SPREAD,
    attention_figure,
    attention_spread,
    lfc_scatter_figure,
    model_look,
    pcc_per_pair_figure,
    percent_text,
)
from chromexpr.models.display import display_name
from chromexpr.plotting.base import save_figure
from chromexpr.plotting.style import PAGE_WIDTH_IN, srgb_to_lab

PAIRS = ["E003_vs_E123", "E116_vs_E123", "E004_vs_E005"]


def per_pair_frame(pairs=PAIRS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for pair in pairs:
        for model in MODELS:
            kind = model_kind(model)
            rows.append(
                {
                    "model": model,
                    "name": display_name(model),
                    "kind": kind,
                    "pair": pair,
                    "test_pearson_mean": rng.uniform(0.3, 0.7) if kind == "variant" else rng.uniform(-0.1, 0.3),
                    "test_pearson_sd": rng.uniform(0.0, 0.02) if model.startswith("deepdiff") else math.nan,
                    "n_seeds": 2 if model.startswith("deepdiff") else 1,
                }
            )
    return pd.DataFrame(rows)


def bars(fig) -> dict[str, Rectangle]:
    return {p.get_gid(): p for ax in fig.axes for p in ax.patches if p.get_gid()}


def texts(fig) -> dict[str, str]:
    return {t.get_gid(): t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid()}


def test_fig4_bars_are_the_table_and_the_best_variant_is_labelled() -> None:
    table = per_pair_frame()
    fig = pcc_per_pair_figure(table)
    drawn = bars(fig)
    assert len(drawn) == len(PAIRS) * len(MODELS)
    for row in table.itertuples():
        patch = drawn[f"{row.model}|{row.pair}"]
        assert patch.get_height() == pytest.approx(row.test_pearson_mean)  # bars start at 0, negative ones too
        assert patch.get_y() == pytest.approx(0.0)
    labels = texts(fig)
    for pair in PAIRS:
        part = table[(table["pair"] == pair) & (table["kind"] == "variant")]
        best = part.loc[part["test_pearson_mean"].idxmax(), "model"]
        assert labels[f"best|{pair}"] == display_name(best)
    # variants solid, baselines hatched; the legend names every model by the paper's name
    assert not drawn[f"deepdiff_raw|{PAIRS[0]}"].get_hatch()
    assert drawn[f"svr_two_layer|{PAIRS[0]}"].get_hatch()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {display_name(m) for m in MODELS} <= set(legend) and "sd over seeds" in legend
    # variants in the legend's first column: the first seven entries
    assert legend[: len(VARIANTS)] == [display_name(v) for v in VARIANTS]
    assert fig.get_figwidth() <= PAGE_WIDTH_IN
    ymin, ymax = fig.axes[0].get_ylim()
    assert ymin <= table["test_pearson_mean"].min() and ymax >= table["test_pearson_mean"].max()


def test_fig4_uses_the_flag_of_the_table_when_given() -> None:
    table = per_pair_frame(pairs=PAIRS[:1]).assign(is_best_variant=False)
    table.loc[table["model"] == "deepdiff_raw_d", "is_best_variant"] = True
    assert texts(pcc_per_pair_figure(table))[f"best|{PAIRS[0]}"] == "Raw: d"


def test_fig4_empty() -> None:
    fig = pcc_per_pair_figure(pd.DataFrame(columns=["model", "pair"]))
    assert "no differential runs" in fig.axes[0].texts[0].get_text()


def attention_frame(models=("deepdiff_raw_d", "deepdiff_aux", "deepdiff_raw_aux"), up: int = 5, down: int = 3):
    rows = []
    for model in models:
        n_slots = {"deepdiff_raw_d": 5, "deepdiff_raw_aux": 25}.get(model, 10)
        cells = (
            ["A-B"] * 5
            if n_slots == 5
            else (["A"] * 5 + ["B"] * 5 + (["A-B"] * 5 + ["aux A"] * 5 + ["aux B"] * 5) * (n_slots == 25))
        )
        marks = ["H3K4me1", "H3K4me3", "H3K9me3", "H3K27me3", "H3K36me3"] * 5
        for i in range(n_slots):
            for direction, n in (("up", up), ("down", down)):
                rows.append(
                    {
                        "model": model,
                        "name": display_name(model),
                        "pair": "E116_vs_E123",
                        "threshold": 8.0,
                        "slot_index": i,
                        "slot": f"{cells[i]} {marks[i]}",
                        "direction": direction,
                        "n_genes": n,
                        "mean_attention": (i + 1) / 100 + (0.001 if direction == "up" else 0.0) if n else math.nan,
                    }
                )
    return pd.DataFrame(rows)


def attention_image(fig):
    return next(im for ax in fig.axes for im in ax.images if im.get_gid() == "attention")


def test_fig5_heatmap_is_each_slot_against_its_row_mean() -> None:
    table = attention_frame()
    fig = attention_figure(table)
    ax = next(ax for ax in fig.axes if ax.images)
    values = np.asarray(attention_image(fig).get_array().filled(np.nan))
    rows = [t.get_gid() for t in ax.get_yticklabels()]
    assert rows == [
        f"row|{m}|{d}" for m in ("deepdiff_raw_d", "deepdiff_aux", "deepdiff_raw_aux") for d in ("up", "down")
    ]
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["Raw: d \u00b7 up", "Raw: d \u00b7 down"]
    marks = [t.get_text() for t in ax.get_xticklabels()]
    assert marks == ["K4me1", "K4me3", "K9me3", "K27me3", "K36me3"] * 5  # A, B, A-B, aux A, aux B
    blocks = [t for gid, t in texts(fig).items() if gid.startswith("block|")]
    assert blocks == ["A", "B", "A-B", "aux A", "aux B"]
    columns = [f"{b} H3{m}" for b in blocks for m in marks[:5]]
    for i, gid in enumerate(rows):
        _, model, direction = gid.split("|")
        part = table[(table["model"] == model) & (table["direction"] == direction)]
        mean = part["mean_attention"].mean()
        expected = {slot: 100 * (a / mean - 1) for slot, a in zip(part["slot"], part["mean_attention"], strict=True)}
        for j, column in enumerate(columns):
            if column in expected:
                assert values[i, j] == pytest.approx(expected[column]), (gid, column)
            else:
                assert math.isnan(values[i, j])  # the model has no such slot
    # one scale centred on 0; each cell annotated with its value
    image = attention_image(fig)
    assert image.norm.vmin == pytest.approx(-image.norm.vmax)
    annotations = {t.get_gid(): t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("value|")}
    assert len(annotations) == int(np.isfinite(values).sum())
    for i, gid in enumerate(rows):
        for j, column in enumerate(columns):
            if np.isfinite(values[i, j]):
                assert annotations[f"value|{gid[4:]}|{column}"] == f"{values[i, j]:.1f}".replace("-0.0", "0.0")
    # the spread of each row at its right: these slots differ a lot, so none is within noise
    spread = texts(fig)["spread|deepdiff_raw_d|up"]
    part = table[(table["model"] == "deepdiff_raw_d") & (table["direction"] == "up")]["mean_attention"]
    assert spread == f"{100 * (part.max() - part.min()) / part.mean():.1f}%"
    title = fig.get_suptitle()
    assert "E116 vs E123" in title and "|LFC| > 8" in title
    assert "up = 5 up-regulated (LFC > 8), down = 3 down-regulated (LFC < -8) test genes" in title.replace("\n", " ")
    # compact: a row per model and direction, not a panel of bars per model
    assert fig.get_size_inches()[1] <= 2 + 0.25 * len(rows)
    assert not [p for ax in fig.axes for p in ax.patches if p.get_gid()]  # no bars


def test_fig5_rows_within_noise_are_marked_and_not_ranked() -> None:
    table = attention_frame(models=("deepdiff_raw_d", "deepdiff_aux"))
    near = table["model"] == "deepdiff_raw_d"  # the demo: 0.1995 to 0.2008, a spread of 0.65%
    table.loc[near, "mean_attention"] = 0.2 + 0.0013 * (table.loc[near, "slot_index"] / 4 - 0.5)
    spread = attention_spread(table).set_index(["model", "direction"])
    assert bool(spread.loc[("deepdiff_raw_d", "up"), "within_noise"])
    assert spread.loc[("deepdiff_raw_d", "up"), "spread"] == pytest.approx(0.0013 / 0.2, rel=1e-6)
    assert not bool(spread.loc[("deepdiff_aux", "up"), "within_noise"])
    assert spread.loc[("deepdiff_aux", "up"), "top"] == "B H3K36me3, B H3K27me3"
    assert NOISE_SPREAD == 0.01
    labels = texts(attention_figure(table))
    assert labels["spread|deepdiff_raw_d|up"] == "0.65%, within noise"
    assert "within noise" not in labels["spread|deepdiff_aux|up"]
    assert percent_text(0.0098) == "0.98%" and percent_text(0.09) == "9.0%"  # 0.98% is not rounded up to 1%


def test_fig5_no_genes_in_a_direction() -> None:
    fig = attention_figure(attention_frame(models=("deepdiff_aux",), down=0))
    ax = next(ax for ax in fig.axes if ax.images)
    assert [t.get_gid() for t in ax.get_yticklabels()] == ["row|deepdiff_aux|up"]
    assert np.asarray(attention_image(fig).get_array()).shape == (1, 10)
    assert "down = 0 down-regulated" in fig.get_suptitle().replace("\n", " ")
    empty = attention_figure(attention_frame(models=("deepdiff_aux",), up=0, down=0))
    assert "no attention weights" in empty.axes[0].texts[0].get_text()


def scatter_frame(pairs=PAIRS[:2], n: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    parts = []
    for pair in pairs:
        lfc = rng.normal(0, 4, n)
        for role, model, quality in (("two-layer SVR", "svr_two_layer", 0.3), ("best variant", "deepdiff_aux", 0.8)):
            parts.append(
                pd.DataFrame(
                    {
                        "pair": pair,
                        "model": model,
                        "name": display_name(model),
                        "role": role,
                        "seed": 0,
                        "gene_id": [f"g{i}" for i in range(n)],
                        "lfc": lfc,
                        "prediction": quality * lfc + rng.normal(0, 2, n),
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def test_scatter_points_identity_and_r() -> None:
    table = scatter_frame()
    fig = lfc_scatter_figure(table)
    collections = {c.get_gid(): c for ax in fig.axes for c in ax.collections if c.get_gid()}
    assert len(collections) == 4
    for (pair, role), part in table.groupby(["pair", "role"]):
        offsets = collections[f"{pair}|{role}"].get_offsets()
        assert len(offsets) == len(part)
        np.testing.assert_allclose(np.asarray(offsets)[:, 0], part["lfc"].to_numpy())
    lines = {line.get_gid() for ax in fig.axes for line in ax.lines}
    assert {f"identity|{p}" for p in PAIRS[:2]} <= lines
    r_texts = [t for gid, t in texts(fig).items() if gid.startswith(f"r|{PAIRS[0]}|")]
    part = table[(table["pair"] == PAIRS[0]) & (table["role"] == "best variant")]
    assert f"Aux: r = {pearson(part['lfc'], part['prediction']):.3f}" in r_texts
    assert any(t.startswith("Two-layer SVR: r = ") for t in r_texts)
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == ["E003 vs E123", "E116 vs E123"]


def assert_fits(fig) -> None:
    """The title, the legends and every panel (titles, labels, ticks, texts) lie inside the figure: nothing cut."""
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    parts = [fig._suptitle, *fig.legends, *[ax for ax in fig.axes if ax.axison]]
    for part in parts:
        box = part.get_tightbbox(renderer) if hasattr(part, "get_tightbbox") else part.get_window_extent(renderer)
        assert fig.bbox.x0 - 1 <= box.x0 and box.x1 <= fig.bbox.x1 + 1, f"cut at a side: {part}"
        assert fig.bbox.y0 - 1 <= box.y0 and box.y1 <= fig.bbox.y1 + 1, f"cut at the top or bottom: {part}"


def test_scatter_text_is_dark_and_the_title_fits() -> None:
    """One pair (a narrow figure): the title is not cut; the r texts are dark gray whatever the model's colour (a
    pale blue variant gets a darkened marker and points, never pale text)."""
    table = scatter_frame(pairs=PAIRS[:1])
    table.loc[table["role"] == "best variant", ["model", "name"]] = ["deepdiff_raw_d", "Raw: d"]  # pale #9ecae1
    fig = lfc_scatter_figure(table)
    assert_fits(fig)
    r_texts = [t for ax in fig.axes for t in ax.texts if (t.get_gid() or "").startswith("r|")]
    assert r_texts and all(to_hex(t.get_color()) == "#222222" for t in r_texts)
    points = {c.get_gid(): c for ax in fig.axes for c in ax.collections if c.get_gid()}
    variant = to_hex(points[f"{PAIRS[0]}|best variant"].get_facecolor()[0])
    assert srgb_to_lab(variant)[0] <= MAX_INK_LIGHTNESS + 0.5 < srgb_to_lab("#9ecae1")[0]
    legend = {t.get_text(): h for t, h in zip(fig.legends[0].get_texts(), fig.legends[0].legend_handles, strict=True)}
    assert to_hex(legend["Raw: d (best variant)"].get_color()) == variant


def test_nearly_constant_predictions_get_their_own_scale() -> None:
    """A best variant that predicts almost the same LFC for every gene (the demo's Raw: 0.078 to 0.082): its r text
    says so, and a second panel shows it on its own y scale, where its trend shows."""
    table = scatter_frame(pairs=PAIRS[:1], n=200)
    best = table["role"] == "best variant"
    table.loc[best, "prediction"] = 0.08 + 0.001 * table.loc[best, "lfc"] / 4
    fig = lfc_scatter_figure(table)
    points = {c.get_gid(): c for ax in fig.axes for c in ax.collections if c.get_gid()}
    assert set(points) == {f"{PAIRS[0]}|two-layer SVR", f"{PAIRS[0]}|best variant", f"{PAIRS[0]}|best variant|zoom"}
    zoom = next(ax for ax in fig.axes if points[f"{PAIRS[0]}|best variant|zoom"] in ax.collections)
    np.testing.assert_allclose(
        np.asarray(points[f"{PAIRS[0]}|best variant|zoom"].get_offsets())[:, 1], table.loc[best, "prediction"]
    )
    low, high = zoom.get_ylim()
    assert (
        high - low < 0.01 and low <= table.loc[best, "prediction"].min() and high >= table.loc[best, "prediction"].max()
    )
    assert zoom.get_title() == "E003 vs E123\nAux on its own y scale"
    r = texts(fig)
    assert "nearly constant" in r[f"r|{PAIRS[0]}|1"] and r[f"r|{PAIRS[0]}|zoom"].startswith("Aux: r = 1.000")
    assert "nearly constant" not in r[f"r|{PAIRS[0]}|0"]  # the SVR's predictions vary
    assert_fits(fig)
    # predictions that vary: no second panel
    plain = lfc_scatter_figure(scatter_frame(pairs=PAIRS[:1]))
    assert not [c for ax in plain.axes for c in ax.collections if (c.get_gid() or "").endswith("|zoom")]


def test_looks_and_saving(tmp_path) -> None:
    assert model_look("deepdiff_raw")["hatch"] == "" and model_look("relieff_rf")["hatch"]
    assert len({model_look(m)["facecolor"] for m in MODELS}) == len(MODELS)
    written = save_figure(lfc_scatter_figure(scatter_frame(pairs=PAIRS[:1], n=5)), tmp_path / "scatter")
    assert [p.name for p in written] == ["scatter.png", "scatter.pdf"] and all(p.stat().st_size for p in written)
