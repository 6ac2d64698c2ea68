"""Tests of chromexpr.reporting.page: the table of contents, the scroll boxes of wide tables and the folding of long
tables on the report page."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd

from chromexpr.reporting.page import FOLD_ROWS, SCROLL_BOX, prepare_sections, render_page, slug

PROVENANCE = {
    "chromexpr_version": "x",
    "git_commit": None,
    "date_utc": "d",
    "config_files": [],
    "source_kind": "demo",
    "cells": ["E003"],
    "models": {},
}


def table_html(rows: int, columns: int = 3, text: str = "1") -> str:
    frame = pd.DataFrame({f"c{k}": [text] * rows for k in range(columns)})
    return frame.to_html(index=False, classes="table", border=0)


def sections() -> list[str]:
    return [
        '<section id="single-cell">\n<h2 id="table2">Single cell (Table 2)</h2>\n'
        "<h3>Table 2: test AUROC</h3>\n"
        f"{SCROLL_BOX}{table_html(14)}</div>\n"
        "<h3>Training: how each run stopped</h3>\n"
        f"{SCROLL_BOX}{table_html(70, 13)}</div>\n"
        "<h3>Class balance &amp; accuracy</h3>\n"
        f"{SCROLL_BOX}{table_html(5)}</div>\n"
        f"{SCROLL_BOX}{table_html(40, 2, 'test positive fraction differs from train by more than 0.1')}</div>\n"
        "</section>",
        '<section id="transfer">\n<h2>Cross-cell transfer</h2>\n<h3>Table 3</h3>\n<h4>The drops</h4>\n'
        "<h3>Domain classifier</h3>\n<p>a table the section did not box:</p>\n"
        f"{table_html(2)}\n</section>",
        '<section id="differential">\n<h2>Differential</h2>\n<h3>Fig. 5</h3>\n'
        f"{SCROLL_BOX}<details><summary>the mean attention of every slot (110 rows)</summary>"
        f"{table_html(110)}</details></div>\n<h3>Fig. 5</h3>\n</section>",
    ]


class Structure(HTMLParser):
    """Each table's enclosing elements, the page's ids and in-page links, and the <details> summaries."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict]] = []
        self.tables: list[list[tuple[str, dict]]] = []
        self.ids: list[str] = []
        self.links: list[str] = []
        self.summaries: list[str] = []
        self._summary: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "a" and attrs.get("href", "").startswith("#"):
            self.links.append(attrs["href"][1:])
        if tag == "table":
            self.tables.append(list(self.stack))
        if tag == "summary":
            self._summary = []
        if tag not in ("br", "img", "meta"):
            self.stack.append((tag, attrs))

    def handle_endtag(self, tag):
        if tag == "summary" and self._summary is not None:
            self.summaries.append("".join(self._summary))
            self._summary = None
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self._summary is not None:
            self._summary.append(data)


def parse(page: str) -> Structure:
    parser = Structure()
    parser.feed(page)
    return parser


def test_toc_links_every_section_and_subsection_to_an_id_on_the_page():
    page = render_page("report", PROVENANCE, sections())
    found = parse(page)
    assert len(found.ids) == len(set(found.ids)), "ids must be unique"
    assert found.links and set(found.links) <= set(found.ids)  # every in-page link resolves
    toc = page[page.index('<nav class="toc"') : page.index("</nav>")]
    toc_links = re.findall(r'href="#([^"]+)"', toc)
    assert toc_links[:2] == ["provenance", "single-cell"]  # at the top: provenance, then each section
    headings = re.findall(r"<h([34])[^>]*>", page.split("</nav>", 1)[1])
    assert len(toc_links) == 1 + 3 + len(headings)  # provenance, the 3 sections, every h3 and h4
    assert "single-cell-training-how-each-run-stopped" in toc_links
    assert "transfer-the-drops" in toc_links and "differential-fig-5-2" in toc_links  # h4; a repeated heading
    assert ">Class balance &amp; accuracy</a>" in toc  # heading text escaped once, not twice
    assert page.index('<nav class="toc"') < page.index('<section class="provenance"')


def test_toc_of_a_section_written_with_single_quotes():
    page = render_page("t", PROVENANCE, ["<section id='a'><h2>A</h2><h3 id='b'>B</h3><h3>C</h3></section>"])
    toc = page[page.index('<nav class="toc"') : page.index("</nav>")]
    assert re.findall(r'href="#([^"]+)"', toc) == ["provenance", "a", "b", "a-c"]
    assert '<h3 id="a-c">C</h3>' in page


def test_toc_nests_subsections_under_their_section():
    _, toc = prepare_sections(sections())
    assert [entry["id"] for entry in toc] == ["single-cell", "transfer", "differential"]
    assert [child["text"] for child in toc[1]["children"]] == ["Table 3", "Domain classifier"]
    assert [grand["id"] for grand in toc[1]["children"][0]["children"]] == ["transfer-the-drops"]
    assert slug("Fig. 3: loss curves (log scale)") == "fig-3-loss-curves-log-scale"


def test_every_table_scrolls_in_its_own_box_and_the_css_allows_it():
    page = render_page("report", PROVENANCE, sections())
    found = parse(page)
    assert len(found.tables) == 6
    for ancestors in found.tables:
        assert any(tag == "div" and "overflow-x:auto" in a.get("style", "") for tag, a in ancestors)
    # the stylesheet: boxes scroll sideways and stay within the page; numbers do not wrap, long texts do
    style = page[page.index("<style>") : page.index("</style>")]
    assert re.search(r'div\[style\*="overflow-x"\] \{ overflow-x: auto; max-width: 100%; \}', style)
    assert "white-space: nowrap" in style and re.search(r"td\.text \{ white-space: normal;", style)
    assert page.count('<td class="text">test positive fraction differs') == 2 * 40
    # the table the transfer section left bare got a box; the one already in a boxed <details> got no second one
    assert page.count(SCROLL_BOX) == 6


def test_long_tables_are_folded_with_a_summary_of_what_and_how_many_rows():
    page = render_page("report", PROVENANCE, sections())
    found = parse(page)
    assert found.summaries == [
        "Training: how each run stopped: 70 rows × 13 columns (click to show)",
        "Class balance & accuracy (table 2): 40 rows × 2 columns (click to show)",
        "the mean attention of every slot (110 rows)",  # the section's own fold, kept as it is
    ]
    folded = [ancestors for ancestors in found.tables if any(tag == "details" for tag, _ in ancestors)]
    assert len(folded) == 3
    assert FOLD_ROWS == 25  # 14 and 5 rows stay open
    assert page.count('<details class="fold">') == 2
    assert page.count("<details") == 3  # no fold inside a fold
