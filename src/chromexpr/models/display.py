"""How reports show a model, read from its card's ``display`` block: the name tables and sections print, its
place in every table and figure, its colour, and the names the published tables use for it.

::

    display:
      name: DeepChrome                 # the paper's spelling
      order: 10                        # tables and figures list models by this number
      color: "#1f77b4"                 # its colour in every figure (related models share a colour family)
      published_as: ["DeepChrome"]     # its rows in the published tables (chromexpr.published)

A name without a card (a derived row such as the regression ensemble) or a card without the block keeps its own
name, has no colour (the figures pick a stable one from its name) and is listed after every card, alphabetically.
Cards are read once per process.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from chromexpr.errors import InputError
from chromexpr.models.registry import load_card

#: the position of a model without an ``order``: after every card that has one
UNORDERED = 1_000_000


@functools.cache
def _display(model: str) -> Mapping[str, Any]:
    try:
        card = load_card(model)
    except InputError:  # not a card: a derived row (ensemble), a variant label
        return {}
    return dict(card.get("display") or {})


def display_name(model: object) -> str:
    """The card's ``display.name`` (``deepdiff_raw_aux`` -> ``Raw+Aux``); any other name unchanged."""
    return str(_display(str(model)).get("name") or model)


def model_order(model: object) -> int:
    """The card's ``display.order``; ``UNORDERED`` for a name without one."""
    order = _display(str(model)).get("order")
    return int(order) if order is not None else UNORDERED


def order_models(models: Iterable[object]) -> list[str]:
    """Unique model names by ``display.order``, the names without one after them, alphabetically."""
    unique = {str(m) for m in models}
    return sorted(unique, key=lambda m: (model_order(m), m))


def model_color(model: object) -> str | None:
    """The card's ``display.color`` (``#rrggbb``), or None."""
    color = _display(str(model)).get("color")
    return str(color) if color else None


def published_as(model: object) -> tuple[str, ...]:
    """The names under which the published tables list this model (``display.published_as``)."""
    return tuple(str(n) for n in _display(str(model)).get("published_as") or ())
