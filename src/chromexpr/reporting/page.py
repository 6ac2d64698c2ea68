"""The report page, ``results/report/index.html``: what produced it (``provenance.json``, shown first), then each
enabled experiment's section in the registry's order, with links to them.

Each section is an HTML fragment its experiment's report job writes (``<section id=...>`` with an ``<h2>``); the
page is rendered from ``templates/page.html.j2`` through the report's one environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from chromexpr.reporting.environment import environment
from chromexpr.reporting.files import write_text

_SECTION = re.compile(r'<section[^>]*id="([^"]+)"[^>]*>.*?<h2[^>]*>(.*?)</h2>', re.S)


def section_links(fragments: Sequence[str]) -> list[tuple[str, str]]:
    """``(id, heading text)`` of each fragment's ``<section>`` (fragments without one are left out)."""
    links = []
    for fragment in fragments:
        found = _SECTION.search(fragment)
        if found:
            links.append((found.group(1), re.sub(r"<[^>]+>", "", found.group(2)).strip()))
    return links


def render_page(title: str, provenance: Mapping[str, Any], sections: Sequence[str]) -> str:
    """The page's HTML: ``title``, the provenance record, and ``sections`` in order."""
    return (
        environment()
        .get_template("page.html.j2")
        .render(title=title, prov=provenance, prefix="", sections=list(sections), section_links=section_links(sections))
    )


def write_page(path: str | Path, title: str, provenance: Mapping[str, Any], sections: Sequence[str]) -> Path:
    """Write the page (``render_page``) to ``path``, atomically."""
    return write_text(path, render_page(title, provenance, sections))
