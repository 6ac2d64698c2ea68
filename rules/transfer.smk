# TransferChrome's cross-cell experiment (Table 3, Fig. 4): the source cell -> each target cell.
# - {model}_origin: the single-cell run of the target on the experiment's gene set (rules/single_cell.smk:
#   the single-cell experiment's own run on the default set, else a run under results/runs/genesets/);
# - {model}_uncross: the source-only model scored on the target. Under the honest protocol its training
#   (source train genes, source valid genes select) does not depend on the target, so it is the source's
#   single-cell run, scored on the target's test genes (no training job); under the paper protocol it is
#   trained per target (all source genes outside the valid split);
# - {model}_cross: domain adaptation with the gradient-reversal head on unlabelled target genes.
# Model selection always uses source validation genes; the target's labels are read once, at the test.


from chromexpr.experiments.transfer import plan as transfer_plan

TRANSFER = config["experiments"]["transfer"]
TRANSFER_MODELS = transfer_plan.models(config)
TRANSFER_CROSS_MODELS = transfer_plan.cross_models(config, CARDS)
TRANSFER_TARGETS = transfer_plan.targets(config) if TRANSFER["enabled"] else []
TRANSFER_RUN = transfer_plan.RUN
EXPERIMENT_TARGETS["transfer"] = lambda: ["results/report/transfer/section.html"]


rule transfer_cross:
    input:
        source=transfer_plan.dataset(config, "{source}"),
        target=transfer_plan.dataset(config, "{target}"),
    output:
        model=f"{TRANSFER_RUN}/model.pt",
        metrics=f"{TRANSFER_RUN}/metrics.json",
        predictions=f"{TRANSFER_RUN}/predictions.tsv.gz",
        history=f"{TRANSFER_RUN}/history.tsv",
        genes=f"{TRANSFER_RUN}/genes.tsv.gz",
    log:
        "logs/train/transfer/{model}_{variant}/{source}_to_{target}/seed{seed}.log",
    benchmark:
        "benchmarks/train/transfer/{model}_{variant}/{source}_to_{target}/seed{seed}.tsv"
    wildcard_constraints:
        model="|".join(TRANSFER_CROSS_MODELS) or "__none__",
        variant="cross",
        source="|".join(CELLS),
        target="|".join(CELLS),
        seed=r"\d+",
    group:
        TORCH_GROUP
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        gpu=torch_gpu(),
        mem_mb=lambda wc, attempt: 8000 * attempt,
        runtime=lambda wc, attempt: 480 * attempt,
    params:
        card=card_checksum,
        train=torch_training_params(),
        transfer=lambda wc: transfer_plan.job_info(config, wc.variant),
        code=run_code("train_transfer.py"),
    script:
        "../workflow/scripts/train_transfer.py"


rule transfer_uncross:
    input:
        unpack(
            lambda wc: transfer_plan.uncross_inputs(
                config, wc.model, wc.source, wc.target, wc.seed
            )
        ),
    output:
        model=f"{TRANSFER_RUN}/model.pt",
        metrics=f"{TRANSFER_RUN}/metrics.json",
        predictions=f"{TRANSFER_RUN}/predictions.tsv.gz",
        history=f"{TRANSFER_RUN}/history.tsv",
        genes=f"{TRANSFER_RUN}/genes.tsv.gz",
    log:
        "logs/train/transfer/{model}_{variant}/{source}_to_{target}/seed{seed}.log",
    benchmark:
        "benchmarks/train/transfer/{model}_{variant}/{source}_to_{target}/seed{seed}.tsv"
    wildcard_constraints:
        model="|".join(TRANSFER_MODELS) or "__none__",
        variant="uncross",
        source="|".join(CELLS),
        target="|".join(CELLS),
        seed=r"\d+",
    group:
        TORCH_GROUP
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        gpu=torch_gpu(trains=TRANSFER["protocol"] == "paper"),
        mem_mb=lambda wc, attempt: 8000 * attempt,
        runtime=lambda wc, attempt: (480 if TRANSFER["protocol"] == "paper" else 30)
        * attempt,
    params:
        card=card_checksum,
        train=torch_training_params() if TRANSFER["protocol"] == "paper" else {},
        transfer=lambda wc: transfer_plan.job_info(config, wc.variant),
        code=run_code("train_transfer.py"),
    script:
        "../workflow/scripts/train_transfer.py"


rule report_transfer:
    input:
        transfer=transfer_plan.run_files(config, CARDS, "metrics.json"),
        history=transfer_plan.run_files(config, CARDS, "history.tsv"),
        predictions=transfer_plan.run_files(config, CARDS, "predictions.tsv.gz"),
        origin=transfer_plan.origin_files(config, "metrics.json"),
        published=config_file("report.published"),
    output:
        [
            report(
                f"results/report/transfer/{name}",
                caption="../workflow/report/transfer.rst",
                category="Transfer (TransferChrome)",
            )
            for name in transfer_plan.report_files(config)
        ],
    log:
        "logs/report_transfer.log",
    localrule: True
    conda:
        "../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        cards=report_cards("transfer"),
        source=TRANSFER["source"],
        protocol=TRANSFER["protocol"],
        source_kind=config["source"]["kind"],
        code=script_code("report_transfer.py"),
    script:
        "../workflow/scripts/report_transfer.py"
