# Reads (or bigWig signal) per bin around each kept TSS, one matrix per cell and mark.


rule bin_reads:
    input:
        reads=reads_file,
        tss="results/reference/tss.tsv",
        chrom_sizes=chrom_sizes_file(),
    output:
        counts=counts_file(),
        stats="results/counts/{cell}/{mark}.json",
    log:
        "logs/bin_reads/{cell}-{mark}.log",
    benchmark:
        "benchmarks/bin_reads/{cell}-{mark}.tsv"
    conda:
        "../envs/genomics.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        geometry=binning_geometry(),
        binning=binning_params,
        code=script_code("bin_reads.py"),
    script:
        "../workflow/scripts/bin_reads.py"
