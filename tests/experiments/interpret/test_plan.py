"""The interpretation experiment's plan (chromexpr.experiments.interpret.plan): the rules its schema cannot
say, checked with the config, each naming its key."""

from __future__ import annotations

import pytest

from chromexpr.errors import InputError
from chromexpr.experiments.interpret import plan

from ..conftest import resolve


def test_the_demo_config_passes(demo_config, cards):
    plan.check(demo_config, cards(demo_config), resolve)


def test_gan_top_k_above_the_samples_scored_is_a_config_error(demo_config, cards):
    gan = demo_config["experiments"]["interpret"]["gan"]
    gan.update(n_samples=50, top_k=100)
    with pytest.raises(InputError) as err:
        plan.check(demo_config, cards(demo_config), resolve)
    assert err.value.key == "experiments.interpret.gan.top_k"
    assert str(err.value).startswith(
        "config key 'experiments.interpret.gan.top_k': experiments.interpret.gan.top_k 100 is more than the 50"
    )
    gan["models"] = []  # no GAN run: nothing to check
    plan.check(demo_config, cards(demo_config), resolve)
