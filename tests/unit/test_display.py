"""Tests of chromexpr.models.display: names, order and colours come from the cards' display blocks."""

from __future__ import annotations

import pytest
import yaml

from chromexpr.errors import InputError
from chromexpr.models import list_cards, load_card
from chromexpr.models.display import UNORDERED, display_name, model_color, model_order, order_models, published_as


def test_every_shipped_card_has_a_name_and_a_unique_order():
    orders = {card: load_card(card)["display"]["order"] for card in list_cards()}
    assert len(set(orders.values())) == len(orders)
    assert all(load_card(card)["display"]["name"] for card in list_cards())


def test_names_order_colours_and_published_names_by_hand():
    assert display_name("deepdiff_raw_aux") == "Raw+Aux" and display_name("svr_two_layer") == "Two-layer SVR"
    assert display_name("ensemble") == "ensemble"  # no card: the name itself
    assert model_order("deepchrome") == 10 and model_order("ensemble") == UNORDERED
    # single-cell cards, then DeepDiff's variants and baselines, then the regression cards; other names last
    assert order_models(
        ["zeta", "linear_regression", "svr_best_bin", "deepdiff_raw", "logreg", "deepchrome", "alpha"]
    ) == [
        "deepchrome",
        "logreg",
        "deepdiff_raw",
        "svr_best_bin",
        "linear_regression",
        "alpha",
        "zeta",
    ]
    assert model_color("deepchrome") == "#1f77b4" and model_color("deepdiff_raw") is None
    assert published_as("convchrome") == ("ConvChrome_CNN1D",) and published_as("logreg") == ()


@pytest.mark.parametrize(
    ("display", "key"),
    [
        ({"name": "X", "order": "first"}, "display.order"),
        ({"name": "X", "color": "blue"}, "display.color"),
        ({"name": "", "order": 1}, "display.name"),
        ({"name": "X", "colour": "#000000"}, "display"),
        ({"name": "X", "published_as": "X"}, "display.published_as"),
    ],
)
def test_a_bad_display_block_names_the_key(tmp_path, display, key):
    card = load_card("deepchrome")
    card["display"] = display
    path = tmp_path / "deepchrome.yaml"
    path.write_text(yaml.safe_dump(card))
    with pytest.raises(InputError) as err:
        load_card(path)
    assert err.value.key == key
