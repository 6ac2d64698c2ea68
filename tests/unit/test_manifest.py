"""The report sections' file lists (chromexpr.reporting.manifest): what the Snakefile declares, by
hand, and one definition shared with the section builders."""

from __future__ import annotations

from chromexpr.reporting import cross_cell, differential, regression, transfer
from chromexpr.reporting.manifest import (
    cross_cell_report_files,
    differential_report_files,
    regression_report_files,
    transfer_report_files,
)


def test_regression_files_by_hand() -> None:
    files = regression_report_files()
    assert files[:2] == ["mse.tsv", "mse.md"] and "section.html" in files
    figures = [f for f in files if f.endswith((".png", ".pdf"))]
    assert figures == [
        f"{stem}.{ext}"
        for stem in ("fig1_inputs", "fig2_expression", "fig3_loss", "fig4_gradients")
        for ext in ("png", "pdf")
    ]
    assert len(files) == 8 + 8


def test_every_list_is_unique_and_holds_its_page() -> None:
    for files in (
        cross_cell_report_files(),
        differential_report_files(),
        regression_report_files(),
        transfer_report_files(),
    ):
        assert len(files) == len(set(files)) and "section.html" in files
    assert len(cross_cell_report_files()) == 5 + 1 + 12
    assert len(differential_report_files()) == 10 + 6
    assert len(transfer_report_files()) == 6 + 4


def test_the_section_modules_use_the_same_lists() -> None:
    assert cross_cell.cross_cell_report_files is cross_cell_report_files
    assert differential.differential_report_files is differential_report_files
    assert regression.regression_report_files is regression_report_files
    assert transfer.transfer_report_files is transfer_report_files
