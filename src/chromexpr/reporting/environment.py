"""The one Jinja2 environment of the report.

The core templates (``chromexpr/reporting/templates``): ``page.html.j2``, the page every section goes into
(``chromexpr.reporting.page``), and ``macros.html.j2``, the macros every section imports ``with context``:
``files(...)`` (links to the section's files), ``table(html)`` (a scrolling table), ``figure(stem, alt)`` (a
figure with its PNG and PDF), ``produced(tools)``. Their links start with the section's ``prefix`` (its folder
relative to ``index.html``). Each experiment's section is ``section.html.j2`` beside its report module, found
through the same environment. Values are escaped; tables arrive as escaped HTML (``formatting.html_table``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined, select_autoescape


def environment(section_dir: str | Path | None = None) -> Environment:
    """The report's environment; ``section_dir`` (an experiment package's folder) is searched first."""
    loaders = [FileSystemLoader(str(section_dir))] if section_dir is not None else []
    loaders.append(PackageLoader("chromexpr.reporting", "templates"))
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_section(module_file: str | Path, context: Mapping[str, Any], template: str = "section.html.j2") -> str:
    """An experiment's section: ``template`` beside ``module_file`` (its report module's ``__file__``)."""
    return environment(Path(module_file).parent).get_template(template).render(**context)
