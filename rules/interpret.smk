# What the single-cell classifiers learned (experiments.interpret): per run, its test genes' input
# gradients, integrated gradients, attention maps, class optimization and linear weights
# (chromexpr.evaluation.interpretation.interpret_run); per classifier and cell, DeepChrome 2.0's GAN
# Monte-Carlo (gan_run); then the report's interpretation section.


from chromexpr.experiments.interpret import plan as interpret_plan

INTERPRET = config["experiments"]["interpret"]
INTERPRET_CELLS = interpret_plan.cells(config)
INTERPRET_RUN = interpret_plan.RUN
INTERPRET_GAN = interpret_plan.GAN
EXPERIMENT_TARGETS["interpret"] = lambda: ["results/report/interpret/section.html"]


rule interpret_run:
    input:
        model=f"{SINGLE_CELL_RUN}/model.pt",
        dataset="results/datasets/{cell}.npz",
    output:
        INTERPRET_RUN,
    log:
        "logs/interpret/{model}/{cell}/seed{seed}.log",
    benchmark:
        "benchmarks/interpret/{model}/{cell}/seed{seed}.tsv"
    wildcard_constraints:
        model="|".join(INTERPRET["models"]) or "__none__",
        seed=r"\d+",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 8000 * attempt,
        runtime=lambda wc, attempt: 120 * attempt,
    params:
        ig_steps=INTERPRET["ig_steps"],
        class_optimization=lambda wc: (
            INTERPRET["class_optimization"]
            if wc.model in INTERPRET["class_optimization"]["models"]
            else None
        ),
        code=run_code("interpret_run.py"),
    script:
        "../workflow/scripts/interpret_run.py"


rule interpret_gan:
    input:
        model=f"{SINGLE_CELL_RUN}/model.pt",
        dataset="results/datasets/{cell}.npz",
    output:
        INTERPRET_GAN,
    log:
        "logs/interpret_gan/{model}/{cell}/seed{seed}.log",
    benchmark:
        "benchmarks/interpret_gan/{model}/{cell}/seed{seed}.tsv"
    wildcard_constraints:
        model="|".join(INTERPRET["gan"]["models"]) or "__none__",
        seed=r"\d+",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 8000 * attempt,
        runtime=lambda wc, attempt: 240 * attempt,
    params:
        gan=INTERPRET["gan"],
        code=run_code("interpret_gan.py"),
    script:
        "../workflow/scripts/interpret_gan.py"


rule report_interpret:
    input:
        **interpret_plan.files(config),
    output:
        [
            report(
                f"results/report/interpret/{name}",
                caption="../workflow/report/interpret.rst",
                category="Interpretation",
            )
            for name in interpret_plan.report_files(config)
        ],
    log:
        "logs/report_interpret.log",
    localrule: True
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        cards=report_cards("interpret"),
        source_kind=config["source"]["kind"],
        code=script_code("report_interpret.py"),
    script:
        "../workflow/scripts/report_interpret.py"
