"""Tests of the transfer section of the report (chromexpr.experiments.transfer.report): every file written, the
fragment's links and wording, the tables behind it, redrawing the figures."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from chromexpr.errors import InputError
from chromexpr.experiments.transfer import plan
from chromexpr.experiments.transfer.figures import redraw
from chromexpr.experiments.transfer.report import SECTION_TITLE, build_transfer_section

from ..conftest import SectionLinks
from .test_evaluate import AUROC, SOURCE, TARGETS, write_transfer_run, write_tree


def build(tmp_path: Path, protocol: str = "honest", **kw) -> tuple[Path, dict[str, Path]]:
    transfer, origin = write_tree(tmp_path / "results", protocol=protocol)
    out = tmp_path / "report" / "transfer"
    written = build_transfer_section(
        transfer_metrics=transfer, origin_metrics=origin, out_dir=out, source=SOURCE, protocol=protocol, **kw
    )
    return out, written


def test_files_list() -> None:
    assert plan.report_files() == [
        "table3.tsv",
        "table3.md",
        "per_target.tsv",
        "paired.tsv",
        "domain_curves.tsv",
        "section.html",
        "fig4_per_target.png",
        "fig4_per_target.pdf",
        "domain_curves.png",
        "domain_curves.pdf",
    ]


def test_every_file_and_the_fragment(tmp_path: Path) -> None:
    out, written = build(tmp_path)
    assert sorted(written) == sorted(plan.report_files())
    for name in plan.report_files():
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
        assert written[name] == out / name
    assert not list(out.glob(".*tmp*"))  # no temporaries left

    html = (out / "section.html").read_text()
    assert html.lstrip().startswith('<section id="transfer">') and html.rstrip().endswith("</section>")
    assert "<html" not in html and "<body" not in html  # a fragment
    parsed = SectionLinks()
    parsed.feed(html)
    assert parsed.sections == ["transfer"]
    assert "".join(parsed.h2).strip() == SECTION_TITLE == "Cross-cell transfer (TransferChrome, Table 3 and Fig. 4)"
    # the fragment goes into ../index.html: every link is relative to the parent folder
    assert sorted(parsed.images) == ["transfer/domain_curves.png", "transfer/fig4_per_target.png"]
    for src in parsed.images + parsed.links:
        assert src.startswith("transfer/"), src
        assert (out.parent / src).is_file(), src
    text = re.sub(r"\s+", " ", html)
    assert "<strong>honest</strong>" in text
    assert "no target label is read before the test" in text
    assert f"{SOURCE}" in text
    assert "Not evidence for the paper&#39;s claims" in text or "Not evidence for the paper's claims" in text
    assert "Only 3 target cells (the paper has 55)" in text
    assert "runs over 3 targets (E003, E004, E005)." in text
    # Table 3 with the paper beside ours, the drops, the paired table
    assert "TransferChrome_origin" in text and "0.8479" in text and "0.8330" in text
    assert "0.8133" in text  # our TransferChrome_origin mean (2.44 / 3)
    assert "2.9 %" in text and "1.5 %" in text
    assert "<td>-4.0</td>" in text  # our uncross drop: -0.04 = -4.0 points
    assert "uncross − origin" in text and "cross − uncross" in text
    assert "Genes per transfer run (median): train 300, adapt 200, valid 60, test 40." in text


def test_tables_written(tmp_path: Path) -> None:
    out, _ = build(tmp_path)
    t3 = pd.read_csv(out / "table3.tsv", sep="\t")
    assert list(t3["row"]) == [
        "TransferChrome_origin",
        "TransferChrome_uncross",
        "TransferChrome_cross",
        "DeepChrome",
        "DeepChrome_uncross",
    ]
    assert t3.set_index("row").at["TransferChrome_cross", "mean"] == pytest.approx(2.38 / 3, abs=1e-6)
    assert t3.set_index("row").at["TransferChrome_cross", "published_mean"] == 0.833
    per_target = pd.read_csv(out / "per_target.tsv", sep="\t")
    assert len(per_target) == sum(len(v) for cells in AUROC.values() for v in cells.values())
    paired = pd.read_csv(out / "paired.tsv", sep="\t")
    assert len(paired) == 4 and paired["paired_genes"].all()
    curves = pd.read_csv(out / "domain_curves.tsv", sep="\t", dtype={"target": str})
    # one cross run per target and seed (2 seeds), 3 epochs each
    assert len(curves) == len(TARGETS) * 2 * 3
    assert set(curves["target"]) == set(TARGETS)
    md = (out / "table3.md").read_text()
    assert "| TransferChrome_cross |" in md and "protocol honest" in md


def test_paper_protocol_is_named_and_explained(tmp_path: Path) -> None:
    out, _ = build(tmp_path, protocol="paper")
    text = re.sub(r"\s+", " ", (out / "section.html").read_text())
    assert "<strong>paper</strong>" in text
    assert "origin and transfer are tested on different genes" in text
    paired = pd.read_csv(out / "paired.tsv", sep="\t")
    assert not paired["paired_genes"].any()


def test_runs_of_another_protocol_are_refused(tmp_path: Path) -> None:
    transfer, origin = write_tree(tmp_path / "results")
    transfer.append(write_transfer_run(tmp_path / "x", "convchrome", "uncross", "E003", 0, 0.8, protocol="paper"))
    with pytest.raises(InputError, match="protocol 'paper'"):
        build_transfer_section(
            transfer_metrics=transfer, origin_metrics=origin, out_dir=tmp_path / "o", source=SOURCE, protocol="honest"
        )
    with pytest.raises(InputError, match="unknown transfer protocol"):
        build_transfer_section(
            transfer_metrics=transfer, origin_metrics=origin, out_dir=tmp_path / "o", source=SOURCE, protocol="x"
        )


def test_without_published_and_without_runs(tmp_path: Path) -> None:
    out, _ = build(tmp_path, published=None)
    assert pd.read_csv(out / "table3.tsv", sep="\t")["published_mean"].isna().all()
    assert "no published table was given" in re.sub(r"\s+", " ", (out / "section.html").read_text())
    empty = tmp_path / "empty" / "transfer"
    written = build_transfer_section(
        transfer_metrics=[], origin_metrics=[], out_dir=empty, source=SOURCE, protocol="honest"
    )
    assert sorted(written) == sorted(plan.report_files())
    assert "No transfer runs" in (empty / "section.html").read_text()


def test_redraw_draws_from_the_tables(tmp_path: Path) -> None:
    out, _ = build(tmp_path)
    for name in ("fig4_per_target.png", "fig4_per_target.pdf", "domain_curves.png", "domain_curves.pdf"):
        (out / name).unlink()
    (tmp_path / "results").rename(tmp_path / "gone")  # the runs are not needed
    written = redraw(out)
    assert sorted(p.name for p in written) == [
        "domain_curves.pdf",
        "domain_curves.png",
        "fig4_per_target.pdf",
        "fig4_per_target.png",
    ]
    assert all(p.is_file() and p.stat().st_size > 0 for p in written)
    (out / "domain_curves.tsv").unlink()
    assert len(redraw(out)) == 4  # the domain figure then says there is nothing to show
    (out / "per_target.tsv").unlink()
    with pytest.raises(InputError, match="per-target table not found"):
        redraw(out)
