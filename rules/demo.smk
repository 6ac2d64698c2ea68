# The embedded demo source: real genes and RPKM, reads simulated into real tagAlign.gz files.


rule simulate_reads:
    input:
        genes=config_file("source.demo.genes"),
        expression=config_file("source.demo.expression"),
        chrom_sizes=config_file("source.demo.chrom_sizes"),
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
        code=script_code("simulate_reads.py"),
    script:
        "../workflow/scripts/simulate_reads.py"
