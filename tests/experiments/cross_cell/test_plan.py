"""The cross-cell experiment's plan (chromexpr.experiments.cross_cell.plan): targets, its single-cell runs, and
the rules its schema cannot say, each naming the key."""

from __future__ import annotations

import pytest

from chromexpr.dag import check_config
from chromexpr.errors import InputError
from chromexpr.experiments.cross_cell import plan

from ..conftest import resolve


def test_targets_and_single_cell_runs(demo_config):
    assert plan.targets(demo_config) == demo_config["cells"]  # every cell
    assert plan.single_cell_models(demo_config) == ["deepchrome_avgpool"]  # its baseline and Test-on-Rest
    demo_config["experiments"]["cross_cell"]["enabled"] = False
    assert plan.models(demo_config) == []


@pytest.mark.parametrize(
    ("edit", "key", "message"),
    [
        ({"highly": 0.4, "somewhat": 0.5}, "experiments.cross_cell.somewhat", "somewhat (0.5) is above highly (0.4)"),
        ({"targets": ["E001"]}, "experiments.cross_cell.targets", "target cell(s) E001 not in 'cells'"),
        ({"model": "logreg"}, "experiments.cross_cell.model", "'logreg' is a scikit-learn card; the cross-cell runs"),
    ],
)
def test_bad_settings_name_the_key(demo_config, cards, edit, key, message):
    demo_config["experiments"]["cross_cell"].update(edit)
    with pytest.raises(InputError) as err:
        check_config(demo_config, cards(demo_config), resolve)
    assert err.value.key == key and message in str(err.value)


def test_an_unknown_card_is_the_card_loaders_error(demo_config, cards):
    demo_config["experiments"]["cross_cell"]["model"] = "linear12x"
    with pytest.raises(InputError, match="linear12x"):
        cards(demo_config)
