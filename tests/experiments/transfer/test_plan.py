"""The transfer experiment's plan (chromexpr.experiments.transfer.plan): its targets, its single-cell runs, and
the rules its schema cannot say, each naming the key."""

from __future__ import annotations

import pytest

from chromexpr.dag import check_config
from chromexpr.errors import InputError
from chromexpr.experiments.transfer import plan

from ..conftest import resolve


def test_targets_and_single_cell_runs(demo_config):
    assert plan.targets(demo_config) == ["E003", "E066", "E116", "E123"]  # every cell but the source E085
    # the origin of each target is the model's single-cell run
    assert plan.single_cell_models(demo_config) == ["transferchrome", "deepchrome", "convchrome"]
    demo_config["experiments"]["transfer"]["enabled"] = False
    assert plan.models(demo_config) == plan.single_cell_models(demo_config) == []


@pytest.mark.parametrize(
    ("edit", "key", "message"),
    [
        ({"source": "E999"}, "experiments.transfer.source", "source cell E999 is not in 'cells'"),
        ({"targets": ["E003", "E085"]}, "experiments.transfer.targets", "the source E085 is also a target"),
        ({"targets": ["E004"]}, "experiments.transfer.targets", "target cell(s) E004 not in 'cells'"),
        ({"models": ["deepchrome", "logreg"]}, "experiments.transfer.models", "'logreg' is a scikit-learn card"),
        ({"models": ["deepchrome", "convchrome"]}, "experiments.transfer.models", "no model has a domain head"),
    ],
)
def test_bad_settings_name_the_key(demo_config, cards, edit, key, message):
    demo_config["experiments"]["transfer"].update(edit)
    with pytest.raises(InputError) as err:
        check_config(demo_config, cards(demo_config), resolve)
    assert err.value.key == key and message in str(err.value)
