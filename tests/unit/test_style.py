"""Tests of chromexpr.plotting.style: every model of a figure looks different, and always the same."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from chromexpr.models import list_cards
from chromexpr.models.display import model_color as card_color
from chromexpr.plotting import (
    ModelStyle,
    assign_styles,
    delta_e,
    model_color,
    model_style,
    order_models,
)
from chromexpr.plotting.style import MIN_NEIGHBOUR_DELTA_E, PALETTE

#: the cards whose display.color fixes their colour, in display order
COLORED = order_models(c for c in list_cards() if card_color(c))
#: 30 models: the coloured cards and the kind of names the experiments add
THIRTY = COLORED + [
    "deepdiff",
    "deepdiff_siamese",
    "deepdiff_raw",
    "deepdiff_aux",
    "deepdiff_attention",
    "jamaica_cnn_large",
    "jamaica_rnn",
    "chromoformer",
    "xgboost",
    "svm_rbf",
    "mlp2",
    "gc_merge",
    "enformer_probe",
    "lasso",
    "knn",
]


def test_thirty_names():
    assert len(set(THIRTY)) == 30


def test_every_colour_and_marker_of_thirty_models_differs():
    styles = assign_styles(THIRTY)
    assert list(styles) == order_models(THIRTY)
    assert len({(s.color, s.marker) for s in styles.values()}) == 30
    assert len({(s.color, s.hatch) for s in styles.values()}) == 30  # bars tell them apart too
    assert len({s.color for s in styles.values()}) == len(PALETTE)  # every colour used before any repeats


def check_distinct(styles: dict[str, ModelStyle]) -> None:
    """No two models share colour + marker; neighbours' colours at least MIN_NEIGHBOUR_DELTA_E apart."""
    assert len({(s.color, s.marker) for s in styles.values()}) == len(styles)
    for a, b in itertools.pairwise(styles):
        assert delta_e(styles[a].color, styles[b].color) >= MIN_NEIGHBOUR_DELTA_E, (a, b)


def test_neighbouring_models_differ_in_colour():
    check_distinct(assign_styles(THIRTY))
    check_distinct(assign_styles(THIRTY[14:]))  # unknown models only


def test_known_models_are_far_apart():
    known = [card_color(m) for m in COLORED]
    assert len(set(known)) == len(known)
    closest = min(delta_e(a, b) for a, b in itertools.combinations(known, 2))
    assert closest > 25
    # the pairs that looked alike before were closer than that
    assert delta_e("#56B4E9", "#88CCEE") < 25 and delta_e("#CC6677", "#CC79A7") < 25
    assert delta_e(model_color("deepchrome_avgpool"), model_color("transferchrome_2")) > 30
    assert delta_e(model_color("transferchrome_alpha"), model_color("logreg")) > 30


def test_styles_are_stable_and_deterministic():
    a = assign_styles(THIRTY)
    b = assign_styles(list(reversed(THIRTY)))
    assert a == b
    for model in COLORED:  # models with a card colour keep their style in any company
        assert a[model] == model_style(model) == assign_styles([model, "zzz"])[model]
        assert a[model].hatch == ""
    assert model_style("deepdiff_siamese") == model_style("deepdiff_siamese")
    assert model_color("some_new_model") in PALETTE


def test_delta_e_is_cie76():
    assert delta_e("#000000", "#ffffff") == pytest.approx(100.0, abs=0.1)
    assert delta_e("#1f77b4", "#1f77b4") == 0.0


def test_a_broken_palette_fails_the_checks():
    """The checks are real: the old near-identical colours, or a repeated style, fail them."""
    styles = assign_styles(["deepchrome_avgpool", "deepchrome_strided", "logreg"])
    old = dict(styles, deepchrome_strided=replace(styles["deepchrome_strided"], color="#88CCEE"))
    old["deepchrome_avgpool"] = replace(styles["deepchrome_avgpool"], color="#56B4E9")
    with pytest.raises(AssertionError):
        check_distinct(old)
    same = dict(styles, logreg=styles["deepchrome_avgpool"])
    with pytest.raises(AssertionError):
        check_distinct(same)
