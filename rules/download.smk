# The remc source: downloads with resume, retries with back-off, size/checksum checks, atomic rename.
# Downloads run on the submitting host (localrule): cluster nodes often have no internet access.


rule download_reads:
    output:
        "resources/remc/{cell}-{mark}.tagAlign.gz",
    params:
        url=lambda wc: config["source"]["remc"]["reads_url"].format(
            cell=wc.cell, mark=wc.mark
        ),
        known=lambda wc: known_checksum(f"{wc.cell}-{wc.mark}.tagAlign.gz"),
        retries=config["source"]["remc"]["retries"],
    log:
        "logs/download/{cell}-{mark}.log",
    localrule: True
    retries: 1
    resources:
        mem_mb=500,
        runtime=lambda wc, attempt: 120 * attempt,
    conda:
        "../envs/genomics.yaml"
    script:
        "../workflow/scripts/download.py"


rule download_expression:
    output:
        "resources/remc/expression.tsv.gz",
    params:
        url=config["source"]["remc"]["expression_url"],
        known=known_checksum("57epigenomes.RPKM.pc.gz"),
        retries=config["source"]["remc"]["retries"],
    log:
        "logs/download/expression.log",
    localrule: True
    resources:
        mem_mb=500,
        runtime=30,
    conda:
        "../envs/genomics.yaml"
    script:
        "../workflow/scripts/download.py"


rule download_annotation:
    output:
        "resources/remc/gene_info.tsv",
    params:
        url=config["source"]["remc"]["annotation_url"],
        known=known_checksum("Ensembl_v65.Gencode_v10.ENSG.gene_info"),
        retries=config["source"]["remc"]["retries"],
    log:
        "logs/download/annotation.log",
    localrule: True
    resources:
        mem_mb=500,
        runtime=30,
    conda:
        "../envs/genomics.yaml"
    script:
        "../workflow/scripts/download.py"
