"""Redraw every section's figures from the tables in results/report/ (no training, no run files):
each enabled experiment's figures.redraw, in the registry's order."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from pathlib import Path

from chromexpr.experiments import registry

results = Path(snakemake.params.results)
for experiment in registry.enabled(snakemake.config):
    if experiment.section_dir is None:
        continue
    written = experiment.module("figures").redraw(Path(experiment.section_dir), results)
    log.info("%s: %d figure files redrawn under %s", experiment.name, len(written), experiment.section_dir)
