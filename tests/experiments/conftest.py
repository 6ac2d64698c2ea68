"""Fixtures of the experiments' tests: the demo config as the Snakefile sees it (defaults filled in)."""

from __future__ import annotations

import copy
from html.parser import HTMLParser
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


class SectionLinks(HTMLParser):
    """What a report section links to: its images, links, section ids and h2 titles."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.sections: list[str] = []
        self.h2: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a["src"])
        elif tag == "a":
            self.links.append(a["href"])
        elif tag == "section":
            self.sections.append(a.get("id", ""))
        elif tag == "h2":
            self._in_h2 = True

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2:
            self.h2.append(data)
