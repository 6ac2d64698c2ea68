# The differential experiment (DeepDiff Table 1, Figs. 4-5): per pair of cells (A, B) the LFC
# log2((count_B + 1)/(count_A + 1)) of raw RNA-seq counts, from both cells' marks at TSS +/- 10 kb
# (binned once at the widest window; the single-cell datasets are cut out of the same counts).


from chromexpr.experiments.differential import plan as differential_plan

DIFFERENTIAL = config["experiments"]["differential"]
DIFF_RUN = differential_plan.RUN
# the genes of the pair datasets and their split (the paper's: every gene, split deepdiff)
DIFF_GENE_SET = differential_plan.gene_set(config)
DIFF_MODELS = differential_plan.models(config)
# the pairs and the counts table, read and checked with the config (rules/common.smk, INPUTS)
DIFF_INPUTS = INPUTS.experiments.get("differential", {})
DIFF_PAIRS = DIFF_INPUTS.get("pairs", [])
DIFF_CELLS = differential_plan.cells(DIFF_PAIRS)
# models assembled from two cell runs (DeepDiff's AttentiveChrome baseline) -> the card of those runs, trained
# once per cell and seed (DIFF_CELL_RUN) on the cell's own genes and selected on its own validation genes
DIFF_ASSEMBLED = differential_plan.cell_models(config, CARDS)
DIFF_TORCH_MODELS = [
    m for m in DIFF_MODELS if FRAMEWORK[m] == "torch" and m not in DIFF_ASSEMBLED
] or ["__none__"]
DIFF_SKLEARN_MODELS = [m for m in DIFF_MODELS if FRAMEWORK[m] == "sklearn"] or [
    "__none__"
]
DIFF_ATTENTION_PAIR = differential_plan.attention_pair(config, DIFF_PAIRS)
DIFF_CELL_RUN = differential_plan.CELL_RUN
# the raw RNA-seq read counts of the targets: the configured table, or the remc source's download
DIFF_COUNTS = DIFF_INPUTS.get("counts", "resources/remc/counts.tsv.gz")
EXPERIMENT_TARGETS["differential"] = lambda: [
    "results/report/differential/section.html"
]


if SOURCE == "processed":

    rule ingest_differential:
        input:
            unpack(processed_inputs),
            expression=DIFF_COUNTS,
        output:
            "results/datasets/differential/{cell}.npz",
        log:
            "logs/ingest_differential/{cell}.log",
        conda:
            "../envs/genomics.yaml"
        threads: 1
        resources:
            mem_mb=lambda wc, attempt: 4000 * attempt,
            runtime=lambda wc, attempt: 20 * attempt,
        params:
            fmt=config["source"]["processed"]["format"],
            window_bp=DIFFERENTIAL["window_bp"],
            log1p=config["normalize"]["log1p"],
            fit_on=config["normalize"]["fit_on"],
            duplicates=config["expression"]["duplicates"],
            median_over=config["expression"]["median_over"],
            code=script_code("ingest_processed.py"),
        script:
            "../workflow/scripts/ingest_processed.py"

else:

    rule build_differential_dataset:
        input:
            unpack(dataset_counts),
            tss="results/reference/tss.tsv",
            splits=gene_sets.manifest(DIFF_GENE_SET),
            expression=DIFF_COUNTS,
        output:
            "results/datasets/differential/{cell}.npz",
        log:
            "logs/build_differential_dataset/{cell}.log",
        conda:
            "../envs/genomics.yaml"
        threads: 1
        resources:
            mem_mb=lambda wc, attempt: 4000 * attempt,
            runtime=lambda wc, attempt: 20 * attempt,
        params:
            marks=MARKS,
            log1p=config["normalize"]["log1p"],
            fit_on=config["normalize"]["fit_on"],
            duplicates=config["expression"]["duplicates"],
            median_over=config["expression"]["median_over"],
            geometry=differential_plan.geometry(geometry(), config),
            binned=binning_geometry(),
            gene_set=gene_set_record(DIFF_GENE_SET),
            code=script_code("build_dataset.py"),
        script:
            "../workflow/scripts/build_dataset.py"


rule train_differential_cell:
    input:
        dataset="results/datasets/differential/{cell}.npz",
    output:
        model=f"{DIFF_CELL_RUN}/model.pt",
        metrics=f"{DIFF_CELL_RUN}/metrics.json",
        predictions=f"{DIFF_CELL_RUN}/predictions.tsv.gz",
        history=f"{DIFF_CELL_RUN}/history.tsv",
    log:
        "logs/train/differential/cells/{model}/{cell}/seed{seed}.log",
    benchmark:
        "benchmarks/train/differential/cells/{model}/{cell}/seed{seed}.tsv"
    wildcard_constraints:
        model="|".join(DIFF_ASSEMBLED.values()) or "__none__",
        seed=r"\d+",
    group:
        TORCH_GROUP
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        gpu=torch_gpu(),
        mem_mb=lambda wc, attempt: 6000 * attempt,
        runtime=lambda wc, attempt: 240 * attempt,
    params:
        card=card_checksum,
        train=differential_plan.training_params(config),
        code=run_code("train_differential_cell.py"),
    script:
        "../workflow/scripts/train_differential_cell.py"


rule train_differential_torch:
    input:
        a="results/datasets/differential/{cell_a}.npz",
        b="results/datasets/differential/{cell_b}.npz",
    output:
        model=f"{DIFF_RUN}/model.pt",
        metrics=f"{DIFF_RUN}/metrics.json",
        predictions=f"{DIFF_RUN}/predictions.tsv.gz",
        history=f"{DIFF_RUN}/history.tsv",
        attention=f"{DIFF_RUN}/attention.npz",
    log:
        "logs/train/differential/{model}/{cell_a}_vs_{cell_b}/seed{seed}.log",
    benchmark:
        "benchmarks/train/differential/{model}/{cell_a}_vs_{cell_b}/seed{seed}.tsv"
    wildcard_constraints:
        model="|".join(DIFF_TORCH_MODELS),
        cell_a="|".join(CELLS),
        cell_b="|".join(CELLS),
        seed=r"\d+",
    group:
        TORCH_GROUP
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        gpu=torch_gpu(),
        mem_mb=lambda wc, attempt: 6000 * attempt,
        runtime=lambda wc, attempt: 480 * attempt,
    params:
        card=card_checksum,
        train=differential_plan.training_params(config),
        code=run_code("train_differential.py"),
    script:
        "../workflow/scripts/train_differential.py"


# a pair model assembled from its two cells' runs (DeepDiff's AttentiveChrome baseline): trains nothing, so it
# runs on a CPU node; it scores the pair's test genes once with the cells' selected weights
rule assemble_differential:
    input:
        a="results/datasets/differential/{cell_a}.npz",
        b="results/datasets/differential/{cell_b}.npz",
        cell_runs=lambda wc: differential_plan.cell_run_inputs(
            config, CARDS, wc.model, wc.cell_a, wc.cell_b, wc.seed
        ).values(),
    output:
        model=f"{DIFF_RUN}/model.pt",
        metrics=f"{DIFF_RUN}/metrics.json",
        predictions=f"{DIFF_RUN}/predictions.tsv.gz",
        history=f"{DIFF_RUN}/history.tsv",
        attention=f"{DIFF_RUN}/attention.npz",
    log:
        "logs/train/differential/{model}/{cell_a}_vs_{cell_b}/seed{seed}.log",
    wildcard_constraints:
        model="|".join(DIFF_ASSEMBLED) or "__none__",
        cell_a="|".join(CELLS),
        cell_b="|".join(CELLS),
        seed=r"\d+",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        card=card_checksum,
        # the cell runs' budget (the experiment's), recorded as the pair run's; it scores on the CPU
        train={**differential_plan.training_params(config), "device": "cpu"},
        code=run_code("train_differential.py"),
    script:
        "../workflow/scripts/train_differential.py"


rule train_differential_sklearn:
    input:
        a="results/datasets/differential/{cell_a}.npz",
        b="results/datasets/differential/{cell_b}.npz",
    output:
        model=f"{DIFF_RUN}/model.skops",
        metrics=f"{DIFF_RUN}/metrics.json",
        predictions=f"{DIFF_RUN}/predictions.tsv.gz",
        history=f"{DIFF_RUN}/history.tsv",
    log:
        "logs/train/differential/{model}/{cell_a}_vs_{cell_b}/seed{seed}.log",
    benchmark:
        "benchmarks/train/differential/{model}/{cell_a}_vs_{cell_b}/seed{seed}.tsv"
    wildcard_constraints:
        model="|".join(DIFF_SKLEARN_MODELS),
        cell_a="|".join(CELLS),
        cell_b="|".join(CELLS),
        seed=r"\d+",
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        mem_mb=lambda wc, attempt: 6000 * attempt,
        runtime=lambda wc, attempt: 120 * attempt,
    params:
        card=card_checksum,
        train={},
        code=run_code("train_differential.py"),
    script:
        "../workflow/scripts/train_differential.py"


rule report_differential:
    input:
        metrics=differential_plan.run_files(config, DIFF_PAIRS, "metrics.json"),
        predictions=differential_plan.run_files(
            config, DIFF_PAIRS, "predictions.tsv.gz"
        ),
        history=differential_plan.run_files(config, DIFF_PAIRS, "history.tsv"),
        # every torch card returns its attention
        attention=differential_plan.run_files(
            config,
            DIFF_PAIRS,
            "attention.npz",
            of=[m for m in DIFF_MODELS if FRAMEWORK[m] == "torch"],
        ),
    output:
        [
            report(
                f"results/report/differential/{name}",
                caption="../workflow/report/differential.rst",
                category="Differential (DeepDiff)",
            )
            for name in differential_plan.report_files(config)
        ],
    log:
        "logs/report_differential.log",
    localrule: True
    conda:
        "../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        cards=report_cards("differential"),
        pairs=DIFF_PAIRS,
        models=DIFF_MODELS,
        attention_pair=DIFF_ATTENTION_PAIR,
        lfc_threshold=DIFFERENTIAL["lfc_threshold"],
        source_kind=config["source"]["kind"],
        code=script_code("report_differential.py"),
    script:
        "../workflow/scripts/report_differential.py"
