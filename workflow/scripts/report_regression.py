"""The regression MSE table, Figs. 1-4 and the report section (chromexpr.experiments.regression.report)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from pathlib import Path

from chromexpr.experiments.regression.report import build_regression_section

p = snakemake.params
histories = {}
for path in snakemake.input.history:
    run = Path(path).parent  # .../{model}/{part}/seed{n}
    histories[(run.parent.name, int(run.name.removeprefix("seed")))] = path
written = build_regression_section(
    metrics=snakemake.input.metrics,
    histories=histories,
    gradients=snakemake.input.gradients,
    datasets={cell: snakemake.input[f"cell_{cell}"] for cell in p.figure_cells},
    card=dict(p.card),
    out_dir=Path(snakemake.output[0]).parent,
    plan=p.plan,
    target=p.target,
    ensemble_model=p.ensemble_model,
    baselines=p.baselines,
    source_kind=p.source_kind,
)
log.info(f"wrote {len(written)} files into {Path(snakemake.output[0]).parent}")
