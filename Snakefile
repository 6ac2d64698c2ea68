# chromexpr: histone-modification ChIP-seq -> per-gene TSS bins -> datasets -> models -> reports.
# Stages live in rules/*.smk; the logic lives in the chromexpr library (src/chromexpr).
import gc

from snakemake.utils import min_version

from chromexpr.dag import exit_on_input_error, read_yaml
from chromexpr.experiments.registry import NAMES as EXPERIMENT_NAMES

min_version("9.0")

# Building the DAG of a full run (config/remc.yaml: ~4,200 jobs, ~30,000 input files) creates millions
# of long-lived objects, and at CPython's default thresholds (700, 10, 10) the cyclic garbage collector
# rescans all of them some 14 times: ~2.5 s, a tenth of `snakemake -n`. With a larger first threshold
# it makes 3 full passes (~0.9 s in all) at the same peak memory (~310 MB either way). This is the
# Snakemake process only: the jobs run with the default settings.
gc.set_threshold(50_000, 10, 10)

# A project is its config and its working directory. Without --configfile, the demo (config/config.yaml);
# a --configfile is complete on its own: its keys, then the schema's defaults (every experiment off unless it
# enables it, its own report title), never layered over the demo. Several --configfile files layer in order.
# `snakemake -s CHECKOUT/Snakefile --directory PROJECT --configfile PROJECT/config.yaml` runs a second project
# from one checkout, with its own results/ (docs/configuration.md, "A project of your own").
if not workflow.overwrite_configfiles:
    # a YAML syntax error in the demo config is reported with its file and line (Snakemake's own message
    # names neither); `chromexpr check-config FILE` does the same for a --configfile
    with exit_on_input_error():
        read_yaml(f"{workflow.basedir}/config/config.yaml")

    configfile: f"{workflow.basedir}/config/config.yaml"


# The front page of `snakemake --report report.zip`; each output wrapped in report() has its caption.
report: "workflow/report/workflow.rst"


# GPUs are counted per submitted job, not across the cluster: `--resources gpu=1` caps each SLURM job
# (a group of training jobs then shares one GPU, in turn) and, locally, the whole run (rules/common.smk).
resource_scopes:
    gpu="local",


include: "rules/common.smk"
include: "rules/sources.smk"
include: "rules/shipped.smk"
include: "rules/demo.smk"
include: "rules/download.smk"


# the processed source starts from released binned datasets: no reference, no binning


if SOURCE != "processed":

    include: "rules/reference.smk"
    include: "rules/binning.smk"


include: "rules/dataset.smk"


# one rules file per experiment (chromexpr.experiments.registry), in report order
for name in EXPERIMENT_NAMES:

    include: f"rules/{name}.smk"


include: "rules/report.smk"


rule all:
    default_target: True
    input:
        final_targets(),
