"""The report page, ``results/report/index.html``: a table of contents, what produced it (``provenance.json``), then
each enabled experiment's section in the registry's order.

Each section is an HTML fragment its experiment's report job writes (``<section id=...>`` with an ``<h2>``); the
page is rendered from ``templates/page.html.j2`` through the report's one environment. Before that the fragments
are prepared for a long page (``prepare_sections``): every ``<h3>`` / ``<h4>`` gets an id (where it has none), so
that the table of contents (``toc``) links every section and its subsections; every table sits in its own
horizontally scrolling box (a wide table scrolls inside it instead of being clipped by the page); long text cells
wrap; and a table of more than ``FOLD_ROWS`` rows is folded in a ``<details>`` whose summary says what it is and how
many rows it has.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from chromexpr.reporting.environment import environment
from chromexpr.reporting.files import write_text

_SECTION = re.compile(r'<section[^>]*id="([^"]+)"[^>]*>.*?<h2[^>]*>(.*?)</h2>', re.S)
_SECTION_ID = re.compile(r"""<section[^>]*\sid=["']([^"']+)["']""")
_HEADING = re.compile(r"<(h[2-4])((?:\s[^>]*)?)>(.*?)</\1>", re.S)
_ANY_ID = re.compile(r"""\sid=["']([^"']+)["']""")
_TABLE = re.compile(r"<table\b.*?</table>", re.S)
_TAG = re.compile(r"<[^>]+>")
#: the box every table sits in (``macros.html.j2``'s ``table`` writes the same): it scrolls sideways
SCROLL_BOX = '<div style="overflow-x:auto">'
#: tables with more body rows than this are folded (``<details>``)
FOLD_ROWS = 25
#: a cell with at least this many characters of text may wrap (class ``text``) instead of widening its table
TEXT_CELL_CHARS = 40
_TEXT_CELL = re.compile(rf"<td>([^<]{{{TEXT_CELL_CHARS},}})</td>")


def _plain(fragment: str) -> str:
    """The text of an HTML fragment: tags dropped, entities resolved, white space collapsed."""
    return " ".join(html_lib.unescape(_TAG.sub("", fragment)).split())


def slug(text: str) -> str:
    """``Fig. 3: loss curves`` -> ``fig-3-loss-curves`` (an id: lower-case letters, digits and hyphens)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "part"


def section_links(fragments: Sequence[str]) -> list[tuple[str, str]]:
    """``(id, heading text)`` of each fragment's ``<section>`` (fragments without one are left out)."""
    links = []
    for fragment in fragments:
        found = _SECTION.search(fragment)
        if found:
            links.append((found.group(1), re.sub(r"<[^>]+>", "", found.group(2)).strip()))
    return links


def _open_details(text: str) -> bool:
    return text.count("<details") > text.count("</details>")


def _table_summary(table: str, heading: str, k: int) -> str:
    """The summary line of a folded table: what it is (its heading, the k-th table under it) and its size."""
    body = re.search(r"<tbody>(.*?)</tbody>", table, re.S)
    rows = body.group(1).count("<tr") if body else table.count("<tr")
    head = re.search(r"<thead>.*?<tr[^>]*>(.*?)</tr>", table, re.S)
    columns = head.group(1).count("<th") if head else 0
    what = heading or "table"
    if k > 1:
        what += f" (table {k})"
    size = f"{rows:,} rows" + (f" \u00d7 {columns} columns" if columns else "")
    return f"{html_lib.escape(what)}: {size} (click to show)"


def _tables(fragment: str) -> str:
    """Every table of ``fragment`` in a scroll box, long text cells marked to wrap, long tables folded (not one
    already inside a ``<details>``)."""
    headings = [(m.start(), _plain(m.group(3))) for m in _HEADING.finditer(fragment)]
    out: list[str] = []
    pos = 0
    under: dict[int, int] = {}  # heading index -> tables under it so far
    for match in _TABLE.finditer(fragment):
        start, end = match.span()
        index = max((i for i, (at, _) in enumerate(headings) if at < start), default=-1)
        under[index] = under.get(index, 0) + 1
        table = _TEXT_CELL.sub(lambda m: f'<td class="text">{m.group(1)}</td>', match.group(0))
        if fragment[pos:start].endswith(SCROLL_BOX) and fragment[end:].startswith("</div>"):
            before, resume = fragment[pos : start - len(SCROLL_BOX)], end + len("</div>")
            block = f"{SCROLL_BOX}{table}</div>"
        else:
            before, resume = fragment[pos:start], end
            # already in a box further out (a box around a <details> around the table): one box is enough
            inside = fragment[:start].rfind(SCROLL_BOX) > fragment[:start].rfind("</div>")
            block = table if inside else f"{SCROLL_BOX}{table}</div>"
        body = re.search(r"<tbody>(.*?)</tbody>", table, re.S)
        rows = body.group(1).count("<tr") if body else 0
        if rows > FOLD_ROWS and not _open_details(fragment[:start]):
            heading = headings[index][1] if index >= 0 else ""
            summary = _table_summary(table, heading, under[index])
            block = f'<details class="fold"><summary>{summary}</summary>{block}</details>'
        out.append(before + block)
        pos = resume
    out.append(fragment[pos:])
    return "".join(out)


def _heading_ids(fragment: str, section_id: str, used: set[str]) -> tuple[str, list[tuple[int, str, str]]]:
    """``fragment`` with an id on every ``<h3>`` / ``<h4>`` that has none (``{section}-{slug}``, unique on the
    page), and its headings as ``(level, id, text)``; an ``<h2>`` stands for its section (the section's id)."""
    found: list[tuple[int, str, str]] = []

    def one(match: re.Match) -> str:
        tag, attrs, inner = match.group(1), match.group(2) or "", match.group(3)
        level, text = int(tag[1]), _plain(inner)
        if level == 2:
            found.append((2, section_id, text))
            return match.group(0)
        has = _ANY_ID.search(attrs)
        if has:
            ident = has.group(1)
        else:
            base = f"{section_id}-{slug(text)}"
            ident, k = base, 2
            while ident in used:
                ident, k = f"{base}-{k}", k + 1
            used.add(ident)
            attrs = f'{attrs} id="{ident}"'
        found.append((level, ident, text))
        return f"<{tag}{attrs}>{inner}</{tag}>"

    return _HEADING.sub(one, fragment), found


def prepare_sections(fragments: Sequence[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """The fragments ready for the page (module docstring: heading ids, scroll boxes, wrapping text cells, folded
    long tables) and the table of contents: one entry per section ``{"id", "text", "children"}``, its ``<h3>`` as
    children, each with its ``<h4>`` as children."""
    used = {m for fragment in fragments for m in _ANY_ID.findall(fragment)}
    prepared: list[str] = []
    toc: list[dict[str, Any]] = []
    for k, fragment in enumerate(fragments):
        found = _SECTION_ID.search(fragment)
        section_id = found.group(1) if found else f"section-{k + 1}"
        fragment, headings = _heading_ids(_tables(fragment), section_id, used)
        prepared.append(fragment)
        entry: dict[str, Any] | None = None
        for level, ident, text in headings:
            if level == 2 and entry is None:
                entry = {"id": section_id, "text": text, "children": []}
                toc.append(entry)
            elif level == 3 and entry is not None:
                entry["children"].append({"id": ident, "text": text, "children": []})
            elif level == 4 and entry is not None and entry["children"]:
                entry["children"][-1]["children"].append({"id": ident, "text": text, "children": []})
    return prepared, toc


def render_page(title: str, provenance: Mapping[str, Any], sections: Sequence[str]) -> str:
    """The page's HTML: ``title``, the table of contents, the provenance record, and ``sections`` in order."""
    prepared, toc = prepare_sections(list(sections))
    return (
        environment()
        .get_template("page.html.j2")
        .render(
            title=title,
            prov=provenance,
            prefix="",
            sections=prepared,
            section_links=section_links(prepared),
            toc=toc,
        )
    )


def write_page(path: str | Path, title: str, provenance: Mapping[str, Any], sections: Sequence[str]) -> Path:
    """Write the page (``render_page``) to ``path``, atomically."""
    return write_text(path, render_page(title, provenance, sections))
