"""Tests of chromexpr.experiments.transfer.figures (TransferChrome Fig. 4 and the domain curves): what is drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from matplotlib.patches import Rectangle

from chromexpr.experiments.transfer.evaluate import ROW_ORDER as TABLE3_ROWS
from chromexpr.experiments.transfer.figures import (
    CHANCE_LABEL,
    ROW_ORDER,
    domain_curves_figure,
    per_target_figure,
    variant_look,
)
from chromexpr.plotting.base import save_figure
from chromexpr.plotting.style import PAGE_WIDTH_IN, model_color

ROWS = (
    ("TransferChrome_origin", "transferchrome", "origin"),
    ("TransferChrome_uncross", "transferchrome", "uncross"),
    ("TransferChrome_cross", "transferchrome", "cross"),
    ("DeepChrome", "deepchrome", "origin"),
    ("DeepChrome_uncross", "deepchrome", "uncross"),
    ("ConvChrome", "convchrome", "origin"),
    ("ConvChrome_uncross", "convchrome", "uncross"),
)


def per_target_frame(n_targets: int, rows=ROWS, seeds=(0, 1), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = []
    for row, base, variant in rows:
        for t in range(n_targets):
            for s in seeds:
                out.append(
                    {
                        "row": row,
                        "base_model": base,
                        "variant": variant,
                        "protocol": "honest",
                        "source": "E085",
                        "target": f"E{t + 3:03d}",
                        "seed": s,
                        "test_auroc": 0.75 + 0.15 * rng.random(),
                        "n_test": 40,
                    }
                )
    return pd.DataFrame(out)


def bars(fig) -> dict[str, Rectangle]:
    """gid ('row|target') -> bar patch, over every panel."""
    return {p.get_gid(): p for ax in fig.axes for p in ax.patches if p.get_gid()}


def test_fig4_bars_are_the_table() -> None:
    # hand-made: 2 targets, 3 rows; TransferChrome_cross E003 is the mean of two seeds
    table = pd.DataFrame(
        [
            ("TransferChrome_origin", "transferchrome", "origin", "E003", 0, 0.84),
            ("TransferChrome_origin", "transferchrome", "origin", "E004", 0, 0.80),
            ("TransferChrome_cross", "transferchrome", "cross", "E003", 0, 0.82),
            ("TransferChrome_cross", "transferchrome", "cross", "E003", 1, 0.80),
            ("TransferChrome_cross", "transferchrome", "cross", "E004", 0, 0.79),
            ("DeepChrome_uncross", "deepchrome", "uncross", "E004", 0, 0.76),
        ],
        columns=["row", "base_model", "variant", "target", "seed", "test_auroc"],
    )
    fig = per_target_figure(table)
    drawn = bars(fig)
    assert sorted(drawn) == sorted(
        [
            "TransferChrome_origin|E003",
            "TransferChrome_origin|E004",
            "TransferChrome_cross|E003",
            "TransferChrome_cross|E004",
            "DeepChrome_uncross|E004",  # no bar for the missing E003
        ]
    )
    tops = {gid: p.get_y() + p.get_height() for gid, p in drawn.items()}
    assert tops["TransferChrome_origin|E003"] == pytest.approx(0.84)
    assert tops["TransferChrome_cross|E003"] == pytest.approx(0.81)
    assert tops["DeepChrome_uncross|E004"] == pytest.approx(0.76)
    ax = fig.axes[0]
    # the axis starts near the lowest value, not at 0
    assert 0.70 <= ax.get_ylim()[0] <= 0.74
    # bars of one target side by side, in Table 3 order
    x = {gid: p.get_x() for gid, p in drawn.items()}
    assert x["TransferChrome_origin|E004"] < x["TransferChrome_cross|E004"] < x["DeepChrome_uncross|E004"]
    assert x["TransferChrome_cross|E003"] < x["TransferChrome_origin|E004"]
    legend = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert legend == ["TransferChrome_origin", "TransferChrome_cross", "DeepChrome_uncross", "sd over seeds"]
    # one error bar: the only target x row with two seeds
    assert sum(1 for c in ax.containers if type(c).__name__ == "ErrorbarContainer") == 1
    assert "source" not in fig.get_suptitle()  # no source column given


def test_fig4_colours_follow_the_model_and_the_variant() -> None:
    fig = per_target_figure(per_target_frame(2, seeds=(0,)))
    drawn = bars(fig)
    origin, uncross, cross = (drawn[f"TransferChrome_{v}|E003"] for v in ("origin", "uncross", "cross"))
    assert origin.get_facecolor()[:3] == pytest.approx(to_rgb(model_color("transferchrome")))
    assert not origin.get_hatch()
    assert uncross.get_hatch() == variant_look("transferchrome", "uncross")["hatch"] == "////"
    assert cross.get_hatch() == "...."
    # uncross lighter, cross darker than origin
    lum = [sum(p.get_facecolor()[:3]) for p in (uncross, origin, cross)]
    assert lum[0] > lum[1] > lum[2]
    assert drawn["DeepChrome|E003"].get_facecolor() != origin.get_facecolor()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(ROW_ORDER)  # one seed: no sd entry


def test_fig4_wraps_55_targets(tmp_path) -> None:
    table = per_target_frame(55, seeds=(0,))
    fig = per_target_figure(table)
    drawn = bars(fig)
    assert len(drawn) == 55 * 7
    panels = [ax for ax in fig.axes if ax.patches]
    assert len(panels) == 4
    assert fig.get_figwidth() <= PAGE_WIDTH_IN
    means = table.set_index(["row", "target"])["test_auroc"]
    for gid, p in drawn.items():
        row, target = gid.split("|")
        assert p.get_y() + p.get_height() == pytest.approx(means[(row, target)])
    assert "55 targets" in fig.get_suptitle()
    written = save_figure(fig, tmp_path / "fig4")
    assert [w.name for w in written] == ["fig4.png", "fig4.pdf"]


def test_fig4_empty_says_why() -> None:
    fig = per_target_figure(per_target_frame(1).iloc[0:0])
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts == ["no transfer runs to show"]


def curves_frame(n_targets: int, epochs: int = 4) -> pd.DataFrame:
    rows = []
    for t in range(n_targets):
        for e in range(1, epochs + 1):
            rows.append(
                {
                    "target": f"E{t + 3:03d}",
                    "seed": 0,
                    "epoch": e,
                    "domain_loss": 0.5 + 0.04 * e,
                    "domain_accuracy": 0.8 - 0.05 * e - 0.01 * t,
                    "grl_lambda": e / epochs,
                    "valid_auroc": 0.8,
                }
            )
    return pd.DataFrame(rows)


def test_domain_curves_figure() -> None:
    curves = curves_frame(3)
    fig = domain_curves_figure(curves)
    acc, loss, lam = fig.axes
    chance = [line for line in acc.lines if line.get_gid() == "reference|domain_accuracy"]
    assert len(chance) == 1
    assert set(chance[0].get_ydata()) == {0.5}
    assert chance[0].get_label() == CHANCE_LABEL
    assert chance[0].get_linestyle() == "--"
    legend = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert CHANCE_LABEL in legend and {"E003", "E004", "E005"} <= set(legend)
    e004 = next(line for line in acc.lines if line.get_gid() == "E004|0|domain_accuracy")
    assert list(e004.get_ydata()) == pytest.approx([0.74, 0.69, 0.64, 0.59])
    mean = next(line for line in acc.lines if line.get_gid() == "mean|domain_accuracy")
    assert list(mean.get_ydata()) == pytest.approx([0.74, 0.69, 0.64, 0.59])  # the mean of E003..E005 is E004
    lam_line = next(line for line in lam.lines if line.get_gid() == "E003|0|grl_lambda")
    assert list(lam_line.get_ydata()) == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert any(line.get_gid() == "reference|domain_loss" for line in loss.lines)
    assert fig.get_figwidth() <= PAGE_WIDTH_IN


def test_domain_curves_figure_missing_column_and_many_targets() -> None:
    fig = domain_curves_figure(curves_frame(55).drop(columns="grl_lambda"))
    lam = fig.axes[2]
    assert [t.get_text() for t in lam.texts] == ["not recorded"]
    legend = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert "E010" not in legend  # 55 targets: colour scale noted in the title instead
    assert "E003 dark" in fig.get_suptitle()


def test_domain_curves_figure_empty() -> None:
    fig = domain_curves_figure(pd.DataFrame(columns=["target", "seed", "epoch", "domain_accuracy"]))
    assert [t.get_text() for ax in fig.axes for t in ax.texts] == ["no cross runs with a domain classifier to show"]


def test_row_order_matches_evaluation() -> None:
    # plotting may not import evaluation, so it keeps its own copy of Table 3's row order
    assert ROW_ORDER == TABLE3_ROWS
