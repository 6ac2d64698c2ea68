"""Fig. 4's data for one seed: the ensemble's mean signed input gradient over each figure cell's test genes
(chromexpr.evaluation.attribution.mean_input_gradients over the fold sub-models)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from pathlib import Path

from chromexpr.experiments.regression.evaluate import ensemble_gradients
from chromexpr.training.runtime import job_card, setup_torch

setup_torch(snakemake)
table = ensemble_gradients(
    job_card(snakemake, snakemake.params.model),
    [str(Path(f).parent) for f in snakemake.input.models],
    {cell: snakemake.input[f"cell_{cell}"] for cell in snakemake.params.cells},
    snakemake.output[0],
)
log.info(f"gradients of {len(snakemake.input.models)} sub-models over {len(snakemake.params.cells)} cells")
