"""Fixtures of the experiments' tests: the demo config as the Snakefile sees it (defaults filled in)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from chromexpr.dag import load_cards, prepare_config

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "config" / "schemas" / "config.schema.yaml"


def resolve(path: str) -> Path:
    """A configured path, relative to the repository (the demo config's pairs table)."""
    return REPO / path


@pytest.fixture(scope="session")
def _demo_config() -> dict:
    return prepare_config(yaml.safe_load((REPO / "config" / "config.yaml").read_text()), SCHEMA)


@pytest.fixture()
def demo_config(_demo_config) -> dict:
    """The demo config (config/config.yaml) with every default filled in: a copy per test."""
    return copy.deepcopy(_demo_config)


@pytest.fixture()
def cards():
    """``cards(config)``: the card of every model the config's experiments train or apply."""
    return load_cards
