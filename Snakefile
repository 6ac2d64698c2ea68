# chromexpr: histone-modification ChIP-seq -> per-gene TSS bins -> datasets -> models -> reports.
# Stages live in rules/*.smk; the logic lives in the chromexpr library (src/chromexpr).
from snakemake.utils import min_version

min_version("9.0")


# The demo config of this repository; --configfile FILE adds or overrides keys.
configfile: f"{workflow.basedir}/config/config.yaml"


include: "rules/common.smk"
include: "rules/demo.smk"
include: "rules/download.smk"
include: "rules/reference.smk"
include: "rules/binning.smk"
include: "rules/dataset.smk"
include: "rules/train.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        final_targets(),
