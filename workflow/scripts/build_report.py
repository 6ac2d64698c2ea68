"""The single-cell section and the report page, results/report/ (chromexpr.experiments.single_cell.report)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log_to(snakemake)

from pathlib import Path

from chromexpr.experiments.single_cell.report import build_report

build_report(
    list(snakemake.input.metrics),
    Path(snakemake.output.html).parent,
    published=snakemake.input.published,
    reference_model=snakemake.params.reference_model,
    title=snakemake.params.title,
    # set by rules/report.smk, not a param: naming one more config file must not re-run the report
    config_files=snakemake.config.get("_configfiles", []),
    source_kind=snakemake.params.source_kind,
    notes=snakemake.params.notes,
    sections=list(snakemake.input.sections),
    workflow_dir=Path(snakemake.scriptdir).parents[1],  # the checkout (scriptdir: the original script folder)
)
