# The single-cell experiment: one job per model x cell x seed (DeepChrome protocol: train, select on
# valid AUROC, test once). Torch models ask for a GPU; scikit-learn baselines do not. Every model with
# single-cell runs is trained here: train.models, and the models whose single-cell runs another experiment
# reads (chromexpr.experiments.registry.single_cell_models). The report page (rules/report.smk) holds
# its section.


from chromexpr.experiments.single_cell import plan as single_cell_plan

MODELS = single_cell_plan.models(config)
SINGLE_CELL_MODELS = registry.single_cell_models(config)
# the single-cell runs on the other gene sets in use (transfer's origin runs on its set): torch cards only
GENE_SET_MODELS = {
    name: registry.single_cell_models(config, name) for name in GENE_SETS
}
TORCH_MODELS = [
    m
    for m in dict.fromkeys(
        SINGLE_CELL_MODELS + [m for ms in GENE_SET_MODELS.values() for m in ms]
    )
    if FRAMEWORK[m] == "torch"
] or ["__none__"]
SKLEARN_MODELS = [m for m in SINGLE_CELL_MODELS if FRAMEWORK[m] == "sklearn"] or [
    "__none__"
]
SINGLE_CELL_RUN = single_cell_plan.RUN
GENE_SET_RUN = gene_sets.single_cell_run("{gene_set}")
EXPERIMENT_TARGETS["single_cell"] = lambda: ["results/report/index.html"]


rule train_torch:
    input:
        dataset="results/datasets/{cell}.npz",
    output:
        model="results/runs/single_cell/{model}/{cell}/seed{seed}/model.pt",
        metrics="results/runs/single_cell/{model}/{cell}/seed{seed}/metrics.json",
        predictions="results/runs/single_cell/{model}/{cell}/seed{seed}/predictions.tsv.gz",
        history="results/runs/single_cell/{model}/{cell}/seed{seed}/history.tsv",
    log:
        "logs/train/single_cell/{model}/{cell}/seed{seed}.log",
    benchmark:
        "benchmarks/train/single_cell/{model}/{cell}/seed{seed}.tsv"
    wildcard_constraints:
        model="|".join(TORCH_MODELS),
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
        train=torch_training_params(),
        code=run_code("train_model.py"),
    script:
        "../workflow/scripts/train_model.py"


# the same runs on another gene set's datasets (gene_sets.*), under results/runs/genesets/{gene_set}/single_cell/
use rule train_torch as train_torch_gene_set with:
    input:
        dataset=gene_sets.dataset("{gene_set}"),
    output:
        model=f"{GENE_SET_RUN}/model.pt",
        metrics=f"{GENE_SET_RUN}/metrics.json",
        predictions=f"{GENE_SET_RUN}/predictions.tsv.gz",
        history=f"{GENE_SET_RUN}/history.tsv",
    log:
        "logs/train/genesets/{gene_set}/single_cell/{model}/{cell}/seed{seed}.log",
    benchmark:
        "benchmarks/train/genesets/{gene_set}/single_cell/{model}/{cell}/seed{seed}.tsv"


rule train_sklearn:
    input:
        dataset="results/datasets/{cell}.npz",
    output:
        model="results/runs/single_cell/{model}/{cell}/seed{seed}/model.skops",
        metrics="results/runs/single_cell/{model}/{cell}/seed{seed}/metrics.json",
        predictions="results/runs/single_cell/{model}/{cell}/seed{seed}/predictions.tsv.gz",
        history="results/runs/single_cell/{model}/{cell}/seed{seed}/history.tsv",
    log:
        "logs/train/single_cell/{model}/{cell}/seed{seed}.log",
    benchmark:
        "benchmarks/train/single_cell/{model}/{cell}/seed{seed}.tsv"
    wildcard_constraints:
        model="|".join(SKLEARN_MODELS),
        seed=r"\d+",
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        mem_mb=lambda wc, attempt: 6000 * attempt,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        card=card_checksum,
        train={},
        code=run_code("train_model.py"),
    script:
        "../workflow/scripts/train_model.py"
