"""One transfer run, source -> target (chromexpr.training.train_transfer; honest _uncross: score_run)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from pathlib import Path

from chromexpr.training import GeneSet, score_run, train_transfer
from chromexpr.training.runtime import job_card, setup_torch

setup_torch(snakemake)
wc, t, info = snakemake.wildcards, snakemake.params.train, snakemake.params.transfer
out_dir = Path(snakemake.output.metrics).parent
if wc.variant == "uncross" and info["protocol"] == "honest":
    score_run(
        job_card(snakemake),
        Path(snakemake.input.trained_metrics).parent,
        snakemake.input.target,
        out_dir,
        info={
            "model": f"{wc.model}_uncross",
            "experiment": "transfer",
            "base_model": wc.model,
            "variant": "uncross",
            "protocol": "honest",
            "source": wc.source,
            "target": wc.target,
            "n_adapt": 0,
        },
        probe_source=GeneSet(snakemake.input.source, ("test",)),
        log=log,
    )
else:
    train_transfer(
        job_card(snakemake),
        snakemake.input.source,
        snakemake.input.target,
        out_dir,
        variant=wc.variant,
        protocol=info["protocol"],
        schedule=info.get("lambda_schedule"),
        seed=int(wc.seed),
        device=t.get("device", "auto"),
        max_epochs=t.get("max_epochs"),
        patience=t.get("patience"),
        batch_size=t.get("batch_size"),
        log=log,
    )
