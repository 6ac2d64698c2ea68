# The embedded demo source: real genes and RPKM, reads simulated into real tagAlign.gz files.


rule simulate_reads:
    input:
        genes=repo_or_cwd(config["source"]["demo"]["genes"]),
        expression=repo_or_cwd(config["source"]["demo"]["expression"]),
        chrom_sizes=repo_or_cwd(config["source"]["demo"]["chrom_sizes"]),
    output:
        "resources/demo/{cell}-{mark}.tagAlign.gz",
    log:
        "logs/simulate_reads/{cell}-{mark}.log",
    benchmark:
        "benchmarks/simulate_reads/{cell}-{mark}.tsv"
    conda:
        "../envs/genomics.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        seed=config["source"]["demo"]["seed"],
        depth=config["source"]["demo"]["depth"],
        code=code_version("sources", "io/tables.py", "io/atomic.py"),
    script:
        "../workflow/scripts/simulate_reads.py"
