# The remc source: downloads with resume, retries with back-off, size/checksum checks, atomic rename.
# Downloads run on the submitting host (localrule): cluster nodes often have no internet access.


rule download_reads:
    output:
        "resources/remc/{cell}-{mark}.tagAlign.gz",
    log:
        "logs/download/{cell}-{mark}.log",
    retries: 1
    localrule: True
    conda:
        "../envs/genomics.yaml"
    resources:
        mem_mb=500,
        runtime=lambda wc, attempt: 120 * attempt,
    params:
        url=lambda wc: config["source"]["remc"]["reads_url"].format(
            cell=wc.cell, mark=wc.mark
        ),
        known=lambda wc: known_checksum(f"{wc.cell}-{wc.mark}.tagAlign.gz"),
        retries=config["source"]["remc"]["retries"],
    script:
        "../workflow/scripts/download.py"


rule download_expression:
    output:
        "resources/remc/expression.tsv.gz",
    log:
        "logs/download/expression.log",
    localrule: True
    conda:
        "../envs/genomics.yaml"
    resources:
        mem_mb=500,
        runtime=30,
    params:
        url=config["source"]["remc"]["expression_url"],
        known=known_checksum("57epigenomes.RPKM.pc.gz"),
        retries=config["source"]["remc"]["retries"],
    script:
        "../workflow/scripts/download.py"


rule download_counts:
    output:
        "resources/remc/counts.tsv.gz",
    log:
        "logs/download/counts.log",
    localrule: True
    conda:
        "../envs/genomics.yaml"
    resources:
        mem_mb=500,
        runtime=30,
    params:
        url=config["source"]["remc"]["counts_url"],
        known=known_checksum("57epigenomes.N.pc.gz"),
        retries=config["source"]["remc"]["retries"],
    script:
        "../workflow/scripts/download.py"


rule download_annotation:
    output:
        "resources/remc/gene_info.tsv",
    log:
        "logs/download/annotation.log",
    localrule: True
    conda:
        "../envs/genomics.yaml"
    resources:
        mem_mb=500,
        runtime=30,
    params:
        url=config["source"]["remc"]["annotation_url"],
        known=known_checksum("Ensembl_v65.Gencode_v10.ENSG.gene_info"),
        retries=config["source"]["remc"]["retries"],
    script:
        "../workflow/scripts/download.py"
