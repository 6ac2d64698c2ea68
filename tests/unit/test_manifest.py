"""The report files (chromexpr.reporting.manifest's figure files; each experiment plan's list): what the Snakefile
declares, by hand, and one definition shared with the section builders."""

from __future__ import annotations

from chromexpr.experiments import registry
from chromexpr.reporting.manifest import figure_files


def test_figure_files_by_hand() -> None:
    assert figure_files(["a", "b"]) == ["a.png", "a.pdf", "b.png", "b.pdf"]


def test_every_sections_list_is_unique_and_holds_its_section() -> None:
    config = {"report": {"reference_model": "deepchrome"}}
    sizes = {}
    for experiment in registry.experiments():
        files = experiment.plan.report_files(config)
        assert len(files) == len(set(files)), experiment.name
        if experiment.section_dir not in (None, registry.REPORT_ROOT):
            assert "section.html" in files, experiment.name
        sizes[experiment.name] = len(files)
    # tables + section.html + 2 files per figure
    assert sizes == {
        "single_cell": 13 + 10 + 1,  # its tables and figures, and the page (index.html)
        "transfer": 6 + 4,
        "cross_cell": 5 + 1 + 12,
        "differential": 10 + 6,
        "regression": 8 + 8,
        "interpret": 5 + 14,
        "predict": 5 + 2,  # predictions, calibration, histogram, section; the probabilities figure
    }
