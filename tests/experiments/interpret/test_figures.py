"""Tests of chromexpr.experiments.interpret.figures: what each interpretation figure draws (images, bars, lines,
titles), and redraw."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.image import AxesImage

from chromexpr.experiments.interpret.figures import (
    BP_LABEL,
    CLASS_COLORS,
    NOT_CONFIGURED,
    AttentionExample,
    ClassMaps,
    ClassProfile,
    LinearWeights,
    draw_attention_examples,
    draw_attributions,
    draw_bin_attention,
    draw_class_optimization,
    draw_gan_monte_carlo,
    draw_linear_weights,
    draw_mark_attention,
    example_ranks,
    pick_examples,
    rank_text,
)

MARKS = ["H3K4me1", "H3K4me3", "H3K27me3", "H3K36me3", "H3K9me3"]
BINS_BP = [-200.0, -100.0, 0.0, 100.0]
KEY = ("attentivechrome", "E003")
KEY2 = ("attentivechrome", "E116")


def images(fig) -> dict[str, AxesImage]:
    return {im.get_gid(): im for ax in fig.axes for im in ax.images}


def bars(fig) -> dict[str, float]:
    return {p.get_gid(): p.get_height() for ax in fig.axes for p in ax.patches if p.get_gid()}


def texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def maps(seed: int = 0) -> ClassMaps:
    rng = np.random.default_rng(seed)
    return ClassMaps(MARKS, rng.random((5, 4)), rng.random((5, 4)), BINS_BP)


@pytest.mark.parametrize(
    ("draw", "args"),
    [
        (draw_bin_attention, ({},)),
        (draw_mark_attention, ({},)),
        (draw_attention_examples, ({},)),
        (draw_class_optimization, ({},)),
        (draw_attributions, ({}, {})),
        (draw_linear_weights, ({},)),
        (draw_gan_monte_carlo, ({},)),
    ],
)
def test_no_data_is_a_not_configured_figure(draw, args) -> None:
    fig = draw(*args)
    assert not images(fig) and not bars(fig)
    [text] = [t for ax in fig.axes for t in ax.texts]
    assert text.get_text().startswith(f"{NOT_CONFIGURED}: ")
    assert text.get_position() == (0.5, 0.5) and text.get_ha() == "center" and text.get_va() == "center"


def test_bin_attention_heatmaps_are_the_class_means_in_bp() -> None:
    a, b = maps(0), maps(1)
    fig = draw_bin_attention({KEY: a, KEY2: b})
    drawn = images(fig)
    assert set(drawn) == {f"{k[0]}|{k[1]}|{c}" for k in (KEY, KEY2) for c in ("expressed", "not_expressed")}
    np.testing.assert_array_equal(drawn["attentivechrome|E003|expressed"].get_array(), a.expressed)
    np.testing.assert_array_equal(drawn["attentivechrome|E116|not_expressed"].get_array(), b.not_expressed)
    # x spans the bins in bp: from the first start to the last start + one bin width
    left, right, bottom, top = drawn["attentivechrome|E003|expressed"].get_extent()
    assert (left, right) == (-200.0, 200.0) and (bottom, top) == (4.5, -0.5)
    # one colour scale per row: the row's min to max
    image = drawn["attentivechrome|E003|expressed"]
    both = np.concatenate([a.expressed.ravel(), a.not_expressed.ravel()])
    assert image.norm.vmin == pytest.approx(both.min()) and image.norm.vmax == pytest.approx(both.max())
    ax = next(ax for ax in fig.axes if ax.images and ax.images[0].get_gid().endswith("E003|expressed"))
    assert [t.get_text() for t in ax.get_yticklabels()] == MARKS
    assert ax.get_xlabel() == BP_LABEL
    assert ax.get_title(loc="left") == "expressed"
    # each (model, cell) is one subfigure titled with it
    assert [sub._suptitle.get_text() for sub in fig.subfigs] == ["attentivechrome · E003", "attentivechrome · E116"]


def test_bin_attention_without_bins_bp_counts_bins() -> None:
    m = ClassMaps(MARKS, np.ones((5, 4)), np.zeros((5, 4)))
    image = images(draw_bin_attention({KEY: m}))["attentivechrome|E003|expressed"]
    assert list(image.get_extent()[:2]) == [-0.5, 3.5]


def test_mark_attention_bars_are_the_means() -> None:
    p = ClassProfile(MARKS, np.array([0.1, 0.4, 0.1, 0.3, 0.1]), np.array([0.2, 0.1, 0.4, 0.1, 0.2]))
    fig = draw_mark_attention({KEY: p})
    heights = bars(fig)
    assert len(heights) == 10
    for m, mark in enumerate(MARKS):
        assert heights[f"attentivechrome|E003|expressed|{mark}"] == pytest.approx(p.expressed[m])
        assert heights[f"attentivechrome|E003|not_expressed|{mark}"] == pytest.approx(p.not_expressed[m])
    patch = next(p for ax in fig.axes for p in ax.patches if p.get_gid() == "attentivechrome|E003|expressed|H3K4me3")
    assert to_hex(patch.get_facecolor()) == CLASS_COLORS["expressed"]
    ax = next(ax for ax in fig.axes if ax.patches)
    assert [t.get_text() for t in ax.get_xticklabels()] == MARKS
    assert "mark-level attention" in fig._suptitle.get_text()


def test_pick_examples_most_confident_of_each_side() -> None:
    p = np.array([0.5, 0.99, 0.01, 0.8, 0.02, 0.99])
    assert pick_examples(p, 2) == [1, 5, 2, 4]
    assert pick_examples(np.array([0.7, 0.2]), 2) == [0, 1]  # few genes: no gene twice


def test_attention_examples_input_beside_attention() -> None:
    rng = np.random.default_rng(3)
    examples = [
        AttentionExample(
            gene_id=f"G{i}",
            label=i % 2,
            probability=0.9 - 0.2 * i,
            marks=MARKS,
            inputs=rng.random((5, 4)),
            bin_attention=rng.random((5, 4)),
            mark_attention=np.array([0.1, 0.2, 0.3, 0.25, 0.15]),
            bins_bp=BINS_BP,
        )
        for i in range(4)
    ]
    fig = draw_attention_examples({KEY: examples})
    drawn = images(fig)
    assert len(drawn) == 8
    for ex in examples:
        np.testing.assert_array_equal(drawn[f"attentivechrome|E003|{ex.gene_id}|input"].get_array(), ex.inputs)
        np.testing.assert_array_equal(
            drawn[f"attentivechrome|E003|{ex.gene_id}|attention"].get_array(), ex.bin_attention
        )
    # the genes of one run share one input scale and one attention scale (one colourbar each)
    inputs = np.concatenate([ex.inputs.ravel() for ex in examples])
    for ex in examples:
        norm = drawn[f"attentivechrome|E003|{ex.gene_id}|input"].norm
        assert (norm.vmin, norm.vmax) == pytest.approx((inputs.min(), inputs.max()))
    assert len(fig.axes) == 8 + 2
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.images]
    assert titles[0] == "G0: not expressed, P(expressed) = 0.900"
    assert titles[2] == "G1: expressed, P(expressed) = 0.700"
    # the mark attention: the right-hand tick labels of each attention panel
    attention_axes = [ax for ax in fig.axes if ax.images and ax.images[0].get_gid().endswith("|attention")]
    assert len(attention_axes) == 4
    assert [t.get_text() for t in attention_axes[0].get_yticklabels()] == ["0.10", "0.20", "0.30", "0.25", "0.15"]
    assert [sub._suptitle.get_text() for sub in fig.subfigs] == ["attentivechrome · E003"]


def test_example_titles_give_the_rank_and_say_when_lowest_is_only_a_rank() -> None:
    """The demo: the 2 lowest of 1,106 test genes have P(expressed) 0.550 and 0.552. Their titles give the P and the
    rank, and the run's title says that every P shown is at least 0.5: "lowest" is a rank, not a call."""
    rng = np.random.default_rng(4)
    p = np.concatenate([rng.uniform(0.556, 0.61, 1102), [0.615, 0.614, 0.550, 0.552]])
    picks = pick_examples(p, 2)
    assert picks == [1102, 1103, 1104, 1105]
    ranks = example_ranks(p, picks)
    assert ranks == [1, 2, 1106, 1105]
    assert [rank_text(r, p.size) for r in ranks] == [
        "highest of 1,106",
        "2nd highest of 1,106",
        "lowest of 1,106",
        "2nd lowest of 1,106",
    ]
    assert rank_text(40, 1106) == "rank 40 of 1,106"
    examples = [
        AttentionExample(
            gene_id=f"G{i}",
            label=i % 2,
            probability=float(p[i]),
            marks=MARKS,
            inputs=rng.random((5, 4)),
            bin_attention=rng.random((5, 4)),
            mark_attention=np.full(5, 0.2),
            bins_bp=BINS_BP,
            rank=rank,
            n_genes=p.size,
        )
        for i, rank in zip(picks, ranks, strict=True)
    ]
    fig = draw_attention_examples({KEY: examples})
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.images and ax.images[0].get_gid().endswith("|input")]
    assert titles == [
        "G1102: not expressed, P(expressed) = 0.615, highest of 1,106",
        "G1103: expressed, P(expressed) = 0.614, 2nd highest of 1,106",
        "G1104: not expressed, P(expressed) = 0.550, lowest of 1,106",
        "G1105: expressed, P(expressed) = 0.552, 2nd lowest of 1,106",
    ]
    (run_title,) = [sub._suptitle.get_text().replace("\n", " ") for sub in fig.subfigs]
    assert run_title == (
        "attentivechrome · E003: every P(expressed) shown is \u2265 0.5 (0.550 to 0.615): 'lowest' is a rank, "
        "not a call of not expressed"
    )
    assert "rank among the test genes" in fig._suptitle.get_text()
    # both sides of 0.5: no warning
    both = [replace(ex, probability=q) for ex, q in zip(examples, (0.9, 0.8, 0.1, 0.2), strict=True)]
    assert [sub._suptitle.get_text() for sub in draw_attention_examples({KEY: both}).subfigs] == [
        "attentivechrome · E003"
    ]


def test_class_optimization_maps_on_a_unit_scale() -> None:
    m = maps(5)
    drawn = images(draw_class_optimization({("deepchrome", "E003"): m}))
    assert set(drawn) == {"deepchrome|E003|expressed", "deepchrome|E003|not_expressed"}
    np.testing.assert_array_equal(drawn["deepchrome|E003|not_expressed"].get_array(), m.not_expressed)
    image = drawn["deepchrome|E003|expressed"]
    assert (image.norm.vmin, image.norm.vmax) == (0.0, 1.0)


def test_attributions_heatmaps_centred_on_zero_and_saliency_lines() -> None:
    ig = ClassMaps(MARKS, np.linspace(-1, 0.5, 20).reshape(5, 4), np.linspace(-0.2, 2, 20).reshape(5, 4), BINS_BP)
    saliency = np.arange(20, dtype=float).reshape(5, 4) - 10
    fig = draw_attributions({("deepchrome", "E003"): ig}, {("deepchrome", "E003"): saliency})
    drawn = images(fig)
    np.testing.assert_array_equal(drawn["deepchrome|E003|expressed"].get_array(), ig.expressed)
    np.testing.assert_array_equal(drawn["deepchrome|E003|not_expressed"].get_array(), ig.not_expressed)
    for image in drawn.values():
        assert (image.norm.vmin, image.norm.vmax) == (-2.0, 2.0)  # +- max |IG| of the row
        assert image.get_cmap().name.startswith("RdBu_r")
    lines = {ln.get_gid(): ln for ax in fig.axes for ln in ax.lines if ln.get_gid()}
    assert sorted(lines) == sorted(f"deepchrome|E003|{m}" for m in MARKS)
    for m, mark in enumerate(MARKS):
        np.testing.assert_array_equal(lines[f"deepchrome|E003|{mark}"].get_ydata(), saliency[m])
        np.testing.assert_array_equal(lines[f"deepchrome|E003|{mark}"].get_xdata(), [-150, -50, 50, 150])  # centres


def test_linear_weights_twelve_bars() -> None:
    weight = np.array([[0.1, -0.5, 0.7, -0.2, 0.3], [-0.1, 0.6, -0.8, 0.4, -0.3]])
    w = LinearWeights(MARKS, weight, np.array([0.05, -0.05]))
    fig = draw_linear_weights({("linear12", "E003"): w})
    heights = bars(fig)
    assert len(heights) == 12
    for m, mark in enumerate(MARKS):
        assert heights[f"linear12|E003|not_expressed|{mark}"] == pytest.approx(weight[0, m])
        assert heights[f"linear12|E003|expressed|{mark}"] == pytest.approx(weight[1, m])
    assert heights["linear12|E003|not_expressed|bias"] == pytest.approx(0.05)
    assert heights["linear12|E003|expressed|bias"] == pytest.approx(-0.05)
    ax = next(ax for ax in fig.axes if ax.patches)
    assert [t.get_text() for t in ax.get_xticklabels()] == [*MARKS, "bias"]
    assert "Fig. 8" in fig._suptitle.get_text()


def test_gan_monte_carlo_bars_are_the_profiles() -> None:
    e = np.array([1.0, 1.0, 0.2, 1.0, 0.5])
    n = np.array([0.4, 0.1, 1.0, 0.3, 1.0])
    fig = draw_gan_monte_carlo(
        {("deepchrome", "E003"): ClassProfile(MARKS, e, n), ("deepchrome", "E116"): ClassProfile(MARKS, n, e)}
    )
    heights = bars(fig)
    assert len(heights) == 20
    for m, mark in enumerate(MARKS):
        assert heights[f"deepchrome|E003|expressed|{mark}"] == pytest.approx(e[m])
        assert heights[f"deepchrome|E003|not_expressed|{mark}"] == pytest.approx(n[m])
        assert heights[f"deepchrome|E116|expressed|{mark}"] == pytest.approx(n[m])
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.patches]
    assert titles == ["deepchrome · E003", "deepchrome · E116"]
    assert "Fig. 4" in fig._suptitle.get_text()
    assert not texts(fig)
