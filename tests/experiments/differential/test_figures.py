"""Tests of chromexpr.experiments.differential.figures (DeepDiff Figs. 4-5 and the LFC scatter): what is drawn."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle

from chromexpr.experiments.differential.evaluate import MODELS, VARIANTS, model_kind, pearson
from chromexpr.experiments.differential.figures import (
    DOWN_COLOR,
    UP_COLOR,
    _attention_layout,
    attention_figure,
    lfc_scatter_figure,
    model_look,
    pcc_per_pair_figure,
)
from chromexpr.models.display import display_name
from chromexpr.plotting.base import save_figure
from chromexpr.plotting.style import PAGE_WIDTH_IN

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
            else (["A"] * 5 + ["B"] * 5 + (["A-B"] * 5 + ["A"] * 5 + ["B"] * 5) * (n_slots == 25))
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


def test_fig5_bars_colours_counts_and_title() -> None:
    table = attention_frame()
    fig = attention_figure(table)
    drawn = bars(fig)
    assert len(drawn) == (5 + 10 + 25) * 2
    for row in table.itertuples():
        patch = drawn[f"{row.model}|{row.slot_index}|{row.direction}"]
        assert patch.get_height() == pytest.approx(row.mean_attention)
        assert to_hex(patch.get_facecolor()) == (UP_COLOR if row.direction == "up" else DOWN_COLOR)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["up-regulated (LFC > 8): 5 genes", "down-regulated (LFC < -8): 3 genes"]
    title = fig._suptitle.get_text()
    assert "E116 vs E123" in title and "|LFC| > 8" in title
    blocks = [t for gid, t in texts(fig).items() if gid.startswith("block|deepdiff_raw_aux|")]
    assert blocks == ["A", "B", "A-B", "A", "B"]


def test_fig5_no_genes_in_a_direction() -> None:
    fig = attention_figure(attention_frame(models=("deepdiff_aux",), down=0))
    drawn = bars(fig)
    assert len(drawn) == 10 and all(gid.endswith("|up") for gid in drawn)
    assert "0 genes" in fig.legends[0].get_texts()[1].get_text()


def test_fig5_layout_pairs_narrow_panels() -> None:
    slots = {"a": 5, "b": 10, "c": 15, "d": 10, "e": 25, "f": 10}
    assert _attention_layout(list(slots), slots) == [["a", "b"], ["c"], ["d", "f"], ["e"]]


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


def test_looks_and_saving(tmp_path) -> None:
    assert model_look("deepdiff_raw")["hatch"] == "" and model_look("relieff_rf")["hatch"]
    assert len({model_look(m)["facecolor"] for m in MODELS}) == len(MODELS)
    written = save_figure(lfc_scatter_figure(scatter_frame(pairs=PAIRS[:1], n=5)), tmp_path / "scatter")
    assert [p.name for p in written] == ["scatter.png", "scatter.pdf"] and all(p.stat().st_size for p in written)
