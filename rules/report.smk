# The comparison report: Table 2 layout, Figure 3 layout, paired tests, training diagnostics, published
# numbers, provenance, index.html. Every file the job writes is an output here, and every table and figure
# is in `snakemake --report` (chromexpr.reporting.report_files lists the same names; a test compares them).

REPORT_REF = config["report"]["reference_model"]
# The config files of this run, for provenance.json, under a reserved key the schema never sees (it is
# checked before this line). Not a param: naming one more config file that changes nothing the report
# uses must not re-run the report; the report records the files of the run that built it.
config["_configfiles"] = config_names()


rule report:
    input:
        metrics=expand(
            f"{SINGLE_CELL_RUN}/metrics.json", model=MODELS, cell=CELLS, seed=SEEDS
        ),
        history=expand(
            f"{SINGLE_CELL_RUN}/history.tsv", model=MODELS, cell=CELLS, seed=SEEDS
        ),
        predictions=expand(
            f"{SINGLE_CELL_RUN}/predictions.tsv.gz",
            model=MODELS,
            cell=CELLS,
            seed=SEEDS,
        ),
        published=config_file("report.published"),
        sections=report_sections(),
    output:
        html=report(
            "results/report/index.html",
            caption="../workflow/report/index.rst",
            category="Report",
        ),
        table2=report(
            "results/report/table2.tsv",
            caption="../workflow/report/table2.rst",
            category="Tables",
            subcategory="TSV",
        ),
        table2_md=report(
            "results/report/table2.md",
            caption="../workflow/report/table2.rst",
            category="Tables",
            subcategory="Markdown",
        ),
        per_cell=report(
            "results/report/per_cell_auroc.tsv",
            caption="../workflow/report/per_cell_auroc_table.rst",
            category="Tables",
            subcategory="TSV",
        ),
        runs=report(
            "results/report/runs.tsv",
            caption="../workflow/report/runs.rst",
            category="Tables",
            subcategory="TSV",
        ),
        split_balance=report(
            "results/report/split_balance.tsv",
            caption="../workflow/report/split_balance.rst",
            category="Tables",
            subcategory="TSV",
        ),
        training_curves=report(
            "results/report/training_curves.tsv",
            caption="../workflow/report/training_curves_table.rst",
            category="Tables",
            subcategory="TSV",
        ),
        roc_curves=report(
            "results/report/roc_curves.tsv",
            caption="../workflow/report/roc_curves_table.rst",
            category="Tables",
            subcategory="TSV",
        ),
        paired=report(
            f"results/report/paired_vs_{REPORT_REF}.tsv",
            caption="../workflow/report/paired_table.rst",
            category="Tables",
            subcategory="TSV",
        ),
        paired_md=report(
            f"results/report/paired_vs_{REPORT_REF}.md",
            caption="../workflow/report/paired_table.rst",
            category="Tables",
            subcategory="Markdown",
        ),
        published=report(
            "results/report/published_comparison.tsv",
            caption="../workflow/report/published_comparison.rst",
            category="Tables",
            subcategory="TSV",
        ),
        published_md=report(
            "results/report/published_comparison.md",
            caption="../workflow/report/published_comparison.rst",
            category="Tables",
            subcategory="Markdown",
        ),
        published_table2=report(
            "results/report/published_table2.tsv",
            caption="../workflow/report/published_table2.rst",
            category="Tables",
            subcategory="TSV",
        ),
        provenance=report(
            "results/report/provenance.json",
            caption="../workflow/report/provenance.rst",
            category="Provenance",
        ),
        per_cell_png=report(
            "results/report/per_cell_auroc.png",
            caption="../workflow/report/per_cell_auroc.rst",
            category="Figures",
            subcategory="PNG",
        ),
        per_cell_pdf=report(
            "results/report/per_cell_auroc.pdf",
            caption="../workflow/report/per_cell_auroc.rst",
            category="Figures",
            subcategory="PDF",
        ),
        distribution_png=report(
            "results/report/auroc_distribution.png",
            caption="../workflow/report/auroc_distribution.rst",
            category="Figures",
            subcategory="PNG",
        ),
        distribution_pdf=report(
            "results/report/auroc_distribution.pdf",
            caption="../workflow/report/auroc_distribution.rst",
            category="Figures",
            subcategory="PDF",
        ),
        paired_png=report(
            f"results/report/paired_vs_{REPORT_REF}.png",
            caption="../workflow/report/paired_vs_deepchrome.rst",
            category="Figures",
            subcategory="PNG",
        ),
        paired_pdf=report(
            f"results/report/paired_vs_{REPORT_REF}.pdf",
            caption="../workflow/report/paired_vs_deepchrome.rst",
            category="Figures",
            subcategory="PDF",
        ),
        training_curves_png=report(
            "results/report/training_curves.png",
            caption="../workflow/report/training_curves.rst",
            category="Figures",
            subcategory="PNG",
        ),
        training_curves_pdf=report(
            "results/report/training_curves.pdf",
            caption="../workflow/report/training_curves.rst",
            category="Figures",
            subcategory="PDF",
        ),
        roc_curves_png=report(
            "results/report/roc_curves.png",
            caption="../workflow/report/roc_curves.rst",
            category="Figures",
            subcategory="PNG",
        ),
        roc_curves_pdf=report(
            "results/report/roc_curves.pdf",
            caption="../workflow/report/roc_curves.rst",
            category="Figures",
            subcategory="PDF",
        ),
    log:
        "logs/report.log",
    localrule: True
    conda:
        "../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        cards=report_cards("single_cell"),
        reference_model=REPORT_REF,
        title=config["report"]["title"],
        source_kind=config["source"]["kind"],
        # a configured mark some models do not take (train.input_marks: card), said on the page
        notes=UNUSED_MARKS,
        code=script_code("build_report.py"),
    script:
        "../workflow/scripts/build_report.py"


# `snakemake --cores 1 figures` redraws every enabled experiment's figures from its section's tables
# (chromexpr.experiments.registry, each experiment's figures.redraw); it has no declared inputs, so it never
# triggers training or any other job, and it runs every time it is asked for.
rule figures:
    log:
        "logs/figures.log",
    localrule: True
    conda:
        "../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        results="results",
    script:
        "../workflow/scripts/draw_figures.py"
