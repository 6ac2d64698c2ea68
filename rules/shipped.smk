# Files that ship with chromexpr (demo tables, reference tables) are copied into resources/shipped/
# so that every input is a relative path; the copy's only param is the file's checksum, so a moved
# project stays up to date and an updated package table re-runs what reads it.
from chromexpr.shipped import shipped_names

SHIPPED = shipped_names()


rule stage_shipped:
    output:
        "resources/shipped/{name}",
    log:
        "logs/stage_shipped/{name}.log",
    wildcard_constraints:
        name="|".join(re.escape(n) for n in SHIPPED),
    localrule: True
    conda:
        "../envs/genomics.yaml"
    threads: 1
    resources:
        mem_mb=200,
        runtime=5,
    params:
        sha256=shipped_checksum,
        code=script_code("stage_shipped.py"),
    script:
        "../workflow/scripts/stage_shipped.py"
