"""The ensemble (mean of the fold sub-models) or the weighted variant (classifier-weighted cell-specific
sub-models) of one seed, from the member runs' files (chromexpr.experiments.regression.evaluate.combine_runs)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from pathlib import Path

from chromexpr.experiments.regression.evaluate import combine_runs

p = snakemake.params
folders = sorted({str(Path(f).parent) for f in snakemake.input})
# ensemble: part (fold0, ...) -> folder; weighted: cell -> its cell-specific sub-model's folder (part cell_{cell})
members = {
    Path(d).parent.name.removeprefix("cell_"): d for d in folders if Path(d).parent.parent.name != p.classifier_model
}
classifier = next((d for d in folders if Path(d).parent.parent.name == p.classifier_model), None)
metrics = combine_runs(
    snakemake.wildcards.kind,
    members,
    Path(snakemake.output.metrics).parent,
    training_cells=p.training_cells,
    seed=int(snakemake.wildcards.seed),
    classifier=classifier,
)
log.info(f"{snakemake.wildcards.kind}: test MSE {metrics['test_mse']:.4f} over {metrics['n_test']} rows")
