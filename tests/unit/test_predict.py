"""``chromexpr predict`` (chromexpr.predict): a trained run applied to a sample's raw files.

The round trip: simulated reads of the demo's E003 (two marks) are binned and built into a dataset
exactly as the workflow does, a counts card (deepchrome) and a signal card (convchrome) train one
epoch on it, and predicting the same cell from its raw reads gives back the run's own
``predictions.tsv.gz`` probabilities (1e-6). A bigWig whose bins hold known values predicts what the
model gives for those values by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from chromexpr.dataset import load_dataset
from chromexpr.errors import InputError
from chromexpr.models import build_model, load_card
from chromexpr.predict import predict_sample, resolve_model_path, sample_input
from chromexpr.training import train_model
from chromexpr.training.model_file import load_model_file, save_model_file

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "src/chromexpr/data/demo"
CHROMEXPR = str(Path(sys.executable).parent / "chromexpr")
MARKS = ("H3K4me3", "H3K27me3")


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([CHROMEXPR, *args], capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout + proc.stderr)
    return proc


def two_mark_card(name: str) -> dict:
    card = load_card(name)
    card["input"]["marks"] = list(MARKS)
    card["expected_parameters"] = None
    return card


@pytest.fixture(scope="module")
def sample(demo_cell):
    """E003's reads for two marks (the shared ``demo_cell``), its dataset, and one-epoch runs of
    deepchrome and convchrome."""
    root, ref, reads = demo_cell
    root = root / "predict"
    root.mkdir()
    flags = [f for mark, path in reads.items() for f in ("--reads", f"{mark}={path}")]
    run("bin-reads", *flags, "--tss", str(ref / "tss.tsv"), "--out-dir", str(root / "counts"))
    run(
        "dataset",
        "--counts",
        *(f"{mark}={root / 'counts' / f'{mark}.tsv'}" for mark in MARKS),
        "--tss",
        str(ref / "tss.tsv"),
        "--splits",
        str(ref / "splits.tsv"),
        "--expression",
        str(DEMO / "expression.tsv"),
        "--cell",
        "E003",
        "--fit-on",
        "all",  # a signal card's sample, z-scored over all its genes, then equals the dataset's signal
        "--out",
        str(root / "E003.npz"),
    )
    runs = {}
    for name in ("deepchrome", "convchrome"):
        runs[name] = root / "runs" / name
        train_model(two_mark_card(name), root / "E003.npz", runs[name], seed=0, device="cpu", max_epochs=1)
    return {"root": root, "ref": ref, "reads": reads, "runs": runs, "dataset": root / "E003.npz"}


def reads_files(sample) -> dict:
    return {mark: ("reads", path) for mark, path in sample["reads"].items()}


@pytest.mark.parametrize("name", ["deepchrome", "convchrome"])
@pytest.mark.parametrize("depth", ["match", "none"])
def test_predicting_the_training_cell_reproduces_its_predictions(sample, name, depth) -> None:
    run_dir = sample["runs"][name]
    result = predict_sample(run_dir / "model.pt", reads_files(sample), sample["ref"] / "tss.tsv", depth=depth)
    ours = result.table
    theirs = pd.read_csv(run_dir / "predictions.tsv.gz", sep="\t")
    tss = pd.read_csv(sample["ref"] / "tss.tsv", sep="\t")
    assert ours["gene_id"].tolist() == tss["gene_id"].tolist()  # the TSS table's order, every gene
    merged = theirs.merge(ours, on="gene_id", suffixes=("_run", "_predict"), validate="one_to_one")
    assert len(merged) == len(theirs) == len(ours) == 3318
    np.testing.assert_allclose(merged["probability_predict"], merged["probability_run"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(1 / (1 + np.exp(-ours["logit"])), ours["probability"], rtol=1e-12)
    assert result.info["input"]["depth"] == depth and result.info["trained_on"] == "E003"


def test_the_model_file_carries_what_prediction_needs(sample) -> None:
    loaded = load_model_file(sample["runs"]["deepchrome"] / "model.pt")
    meta = loaded.meta
    dataset = load_dataset(sample["dataset"])
    assert meta["task"] == "classification" and meta["cells"] == ["E003"] and meta["marks"] == list(MARKS)
    assert meta["geometry"]["window_bp"] == 5000 and meta["geometry"]["bin_bp"] == 100 and meta["bins"] == 100
    assert meta["input"] == {"values": "counts", "transform": "none"}
    order = [list(dataset.marks).index(m) for m in MARKS]
    np.testing.assert_allclose(meta["depth"]["mean_per_bin"], dataset.counts[:, order].mean(axis=(0, 2)))
    np.testing.assert_allclose(meta["normalization"]["zscore_mean"], dataset.zscore_mean[order])
    assert meta["card"]["input"]["marks"] == list(MARKS) and meta["card"]["name"] == "deepchrome"
    # the same file, read by torch alone: a plain dict of plain values and tensors
    raw = torch.load(sample["runs"]["deepchrome"] / "model.pt", weights_only=True)
    assert raw["format"] == "chromexpr-model/1" and set(raw["state_dict"]) == set(loaded.state_dict)


def test_depth_match_scales_a_shallower_sample_back(sample) -> None:
    """A sample at half the depth (every count halved) is scaled back by 2 for a counts card."""
    meta = load_model_file(sample["runs"]["deepchrome"] / "model.pt").meta
    dataset = load_dataset(sample["dataset"])
    order = [list(dataset.marks).index(m) for m in MARKS]
    counts = dataset.counts[:, order].astype(np.float64)  # (genes, marks, bins)
    x_full, _ = sample_input(counts, meta, depth="match")
    x_half, applied = sample_input(counts / 2, meta, depth="match")
    np.testing.assert_allclose(x_half, x_full, rtol=1e-6)
    assert applied["depth_scale"] == pytest.approx({m: 2.0 for m in MARKS})
    assert applied["depth_ratio"] == pytest.approx({m: 2.0 for m in MARKS})
    x_none, applied = sample_input(counts / 2, meta, depth="none")
    np.testing.assert_allclose(x_none, counts / 2, rtol=1e-6)
    assert applied["depth_ratio"] == pytest.approx({m: 2.0 for m in MARKS})  # reported, not applied
    assert applied["depth_scale"] == {m: 1.0 for m in MARKS}


def test_signal_cards_zscore_with_the_sample_or_the_training_cell(sample) -> None:
    meta = load_model_file(sample["runs"]["convchrome"] / "model.pt").meta
    dataset = load_dataset(sample["dataset"])
    order = [list(dataset.marks).index(m) for m in MARKS]
    counts = dataset.counts[:, order].astype(np.float64)
    x_own, applied = sample_input(counts * 3, meta, depth="match")  # depth-free: own statistics
    np.testing.assert_allclose(x_own, dataset.signal[:, order], atol=1e-5)
    assert applied["zscore"] == "the sample's own statistics over this TSS table's genes with data"
    x_model, applied = sample_input(counts, meta, depth="none")
    np.testing.assert_allclose(x_model, dataset.signal[:, order], atol=1e-6)
    assert applied["zscore"].startswith("the training cell's (E003)")


def write_bigwig(path: Path, chrom_sizes: dict[str, int], intervals: list[tuple[str, int, int, float]]) -> None:
    import pyBigWig

    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(chrom_sizes.items()))
    for chrom in chrom_sizes:
        rows = sorted((s, e, v) for c, s, e, v in intervals if c == chrom)
        if rows:
            bw.addEntries(
                [chrom] * len(rows), [s for s, _, _ in rows], ends=[e for _, e, _ in rows], values=[v for *_, v in rows]
            )
    bw.close()


def test_a_bigwig_sample_predicts_what_its_bins_hold(sample, tmp_path) -> None:
    """Two genes on their own stretches of chr17: each 100-bp bin of the bigWig holds one known value, so
    the model's input is those values (in transcription order) and its output follows by hand."""
    tss = tmp_path / "genes.bed"
    tss.write_text("chr17\t100000\t100001\tplus\t0\t+\nchr17\t300000\t300001\tminus\t0\t-\n")
    rng = np.random.default_rng(7)
    values = {m: rng.integers(0, 6, (2, 100)).astype(float) for m in MARKS}  # (genes, bins) per mark
    files = {}
    for mark in MARKS:
        intervals = []
        for g, (start, strand) in enumerate(((100000 - 5000, "+"), (300000 - 5000 + 1, "-"))):
            for b in range(100):
                # '-' genes: bin 0 in transcription order is the genomic bin furthest downstream
                k = b if strand == "+" else 99 - b
                intervals.append(("chr17", start + 100 * k, start + 100 * (k + 1), values[mark][g, b]))
        files[mark] = ("bigwig", tmp_path / f"{mark}.bw")
        write_bigwig(files[mark][1], {"chr17": 1_000_000}, intervals)
    run_dir = sample["runs"]["deepchrome"]
    result = predict_sample(run_dir / "model.pt", files, tss, depth="none", stat="mean")
    loaded = load_model_file(run_dir / "model.pt")
    model = build_model(loaded.meta["card"])
    model.load_state_dict(loaded.state_dict)
    model.eval()
    x = torch.tensor(np.stack([values[m] for m in MARKS], axis=1), dtype=torch.float32)  # (2, marks, bins)
    with torch.no_grad():
        logit = model(x)["logits"].double().numpy()
    assert result.table["gene_id"].tolist() == ["plus", "minus"]
    np.testing.assert_allclose(result.table["logit"], logit, atol=1e-5)
    assert result.info["bigwig_stat"] == "mean"


def test_cli_writes_the_table_and_its_sidecar(sample, tmp_path) -> None:
    out = tmp_path / "E003.tsv"
    flags = [f for mark, path in sample["reads"].items() for f in ("--reads", f"{mark}={path}")]
    proc = run(
        "predict",
        "--run",
        str(sample["runs"]["deepchrome"]),
        *flags,
        "--tss",
        str(sample["ref"] / "tss.tsv"),
        "--out",
        str(out),
    )
    table = pd.read_csv(out, sep="\t")
    assert list(table.columns) == ["gene_id", "probability", "logit"] and len(table) == 3318
    info = json.loads((tmp_path / "E003.json").read_text())
    assert info["input"]["depth"] == "match" and info["genes"] == 3318 and info["card"] == "deepchrome"
    assert "3,318 genes" in proc.stdout


def test_clear_errors(sample, tmp_path) -> None:
    model = sample["runs"]["deepchrome"] / "model.pt"
    tss = sample["ref"] / "tss.tsv"
    one = {"H3K4me3": ("reads", sample["reads"]["H3K4me3"])}
    with pytest.raises(InputError, match=r"needs mark\(s\) H3K27me3"):
        predict_sample(model, one, tss)
    extra = {**reads_files(sample), "H3K9me3": ("reads", sample["reads"]["H3K4me3"])}
    with pytest.raises(InputError, match=r"H3K9me3 are not inputs of this model"):
        predict_sample(model, extra, tss)
    bare = tmp_path / "bare.pt"
    torch.save(load_model_file(model).state_dict, bare)
    with pytest.raises(InputError, match="holds weights only"):
        predict_sample(bare, reads_files(sample), tss)
    other = tmp_path / "differential.pt"
    meta = dict(load_model_file(model).meta, task="differential")
    save_model_file(other, load_model_file(model).state_dict, meta)
    with pytest.raises(InputError, match="a differential run cannot score one sample"):
        predict_sample(other, reads_files(sample), tss)
    with pytest.raises(InputError, match="--depth match or none"):
        predict_sample(model, reads_files(sample), tss, depth="total")
    near_end = tmp_path / "edge.bed"
    near_end.write_text("chr17\t100\t101\tedge\t0\t+\n")
    with pytest.raises(
        InputError, match="no gene of the TSS table has data in every mark of the sample: 1 genes: window"
    ):
        predict_sample(model, reads_files(sample), near_end)
    sklearn_run = tmp_path / "logreg"
    sklearn_run.mkdir()
    (sklearn_run / "model.skops").write_bytes(b"")
    with pytest.raises(InputError, match="scikit-learn model"):
        resolve_model_path(run=sklearn_run)
    with pytest.raises(InputError, match="exactly one of --run DIR and --model FILE"):
        resolve_model_path(run=sklearn_run, model=model)
    ensemble = tmp_path / "ensemble"
    ensemble.mkdir()
    (ensemble / "metrics.json").write_text('{"model": "ensemble", "task": "regression", "framework": "ensemble"}')
    with pytest.raises(InputError, match="this run is the ensemble of the regression experiment"):
        resolve_model_path(run=ensemble)
    with pytest.raises(InputError, match=r"this folder holds runs \(ensemble\), not one run") as info:
        resolve_model_path(run=tmp_path)
    assert f"give one of them: --run {tmp_path / 'ensemble'}" in str(info.value)


def test_a_model_file_with_broken_metadata_or_foreign_weights_is_an_error_before_binning(sample, tmp_path) -> None:
    model = sample["runs"]["deepchrome"] / "model.pt"
    tss = sample["ref"] / "tss.tsv"
    loaded = load_model_file(model)
    cases = {
        "a list": ({"format": "chromexpr-model/1", "state_dict": loaded.state_dict, "meta": [1, 2]}, "meta is a list"),
        "no task": (
            {"format": "chromexpr-model/1", "state_dict": loaded.state_dict, "meta": {"card": loaded.meta["card"]}},
            "meta lacks task",
        ),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / f"{name}.pt"
        torch.save(data, path)
        with pytest.raises(InputError, match=message):
            predict_sample(path, reads_files(sample), tss)
    foreign = tmp_path / "foreign.pt"  # convchrome's weights under deepchrome's metadata
    save_model_file(foreign, load_model_file(sample["runs"]["convchrome"] / "model.pt").state_dict, loaded.meta)
    with pytest.raises(InputError, match=r"the weights do not fit the card the file records \('deepchrome'\)"):
        absent = {mark: ("reads", tmp_path / "absent.gz") for mark in sample["reads"]}
        predict_sample(foreign, absent, tss)  # before any file is read


def test_the_published_attentivechrome_checkpoint_predicts_from_bigwigs(tmp_path) -> None:
    """Imported with ``import-weights``, the authors' checkpoint applied to bigWigs that hold five real
    E123 test genes' counts gives the reference implementation's outputs (data/real/weights/README.md)."""
    from chromexpr.cli import main
    from chromexpr.io.deepdiff_csv import read_deepdiff_csv

    checkpoint = REPO / "data/real/weights/attentivechrome_Cell1_R2.pt"
    file_marks = ["H3K4me1", "H3K4me3", "H3K9me3", "H3K27me3", "H3K36me3"]
    reference_first5 = [0.100395, 0.088956, 0.917878, 0.918249, 0.123992]
    model = tmp_path / "model.pt"
    argv = ["import-weights", "--card", "attentivechrome", "--reference", str(checkpoint)]
    assert main([*argv, "--marks", ",".join(file_marks), "--bins", "200", "--out", str(model)]) == 0
    table = read_deepdiff_csv(REPO / "data/real/deepdiff_sample/E123.test.csv.gz")
    counts = np.asarray(table.counts[:5], dtype=float)  # (5 genes, marks, 200 bins), file order
    tss = tmp_path / "genes.bed"
    starts = [50_000 + 40_000 * g for g in range(5)]  # + strand, each window [tss - 10 kb, tss + 10 kb)
    tss.write_text("".join(f"chr1\t{s}\t{s + 1}\t{table.gene_ids[g]}\t0\t+\n" for g, s in enumerate(starts)))
    files = {}
    for m, mark in enumerate(file_marks):
        rows = [
            ("chr1", s - 10_000 + 100 * b, s - 10_000 + 100 * (b + 1), counts[g, m, b])
            for g, s in enumerate(starts)
            for b in range(200)
        ]
        files[mark] = ("bigwig", tmp_path / f"{mark}.bw")
        write_bigwig(files[mark][1], {"chr1": 1_000_000}, rows)
    with pytest.raises(InputError, match="records no training depth"):
        predict_sample(model, files, tss)
    result = predict_sample(model, files, tss, depth="none")
    assert result.table["gene_id"].tolist() == list(table.gene_ids[:5])
    np.testing.assert_allclose(result.table["logit"], reference_first5, atol=1e-5, rtol=0)
    assert result.info["trained_on"].startswith("not recorded")


def chr17_only(sample, out: Path) -> dict:
    """The sample's reads of chr17 only (as a sample sequenced on one chromosome), per mark."""
    import gzip

    files = {}
    for mark, path in sample["reads"].items():
        with gzip.open(path, "rt") as fh:
            kept = [line for line in fh if line.startswith("chr17\t")]
        files[mark] = ("reads", out / f"{mark}.chr17.tagAlign.gz")
        with gzip.open(files[mark][1], "wt") as fh:
            fh.writelines(kept)
    return files


def test_genes_without_data_are_left_out_and_the_depth_rests_on_reads_not_on_the_table(sample, tmp_path) -> None:
    """Reads of chr17 only: the genes on other chromosomes are left out, each with its reason, and the chr17
    genes get exactly the probabilities the whole sample gives them (the depth ratio is the training reads on
    chr17 over the sample's: 1), whichever genes the TSS table lists."""
    from chromexpr.preprocess.binning import bin_reads
    from chromexpr.preprocess.geometry import BinGeometry

    tss = sample["ref"] / "tss.tsv"
    genes = pd.read_csv(tss, sep="\t")
    # the run's model.pt with the training reads per chromosome the workflow's binning records give it (the
    # fixture's dataset was built from bin-reads TSVs, which carry no read counts)
    loaded = load_model_file(sample["runs"]["deepchrome"] / "model.pt")
    assert loaded.meta["depth"]["reads_per_chrom"] is None
    geometry = BinGeometry(window_bp=5000, bin_bp=100)
    trained = [bin_reads(sample["reads"][m], genes, geometry)[1]["reads_per_chrom"] for m in MARKS]
    meta = {
        **loaded.meta,
        "depth": {**loaded.meta["depth"], "reads_per_chrom": [{c[3:]: n for c, n in t.items()} for t in trained]},
    }
    model = tmp_path / "model.pt"
    save_model_file(model, loaded.state_dict, meta)
    whole = predict_sample(model, reads_files(sample), tss).table.set_index("gene_id")
    part = predict_sample(model, chr17_only(sample, tmp_path), tss)
    on17 = genes.loc[genes["chrom"] == "chr17", "gene_id"].tolist()
    assert part.table["gene_id"].tolist() == on17  # the TSS table's order, chr17 genes only
    np.testing.assert_allclose(part.table["probability"], whole.loc[on17, "probability"], atol=1e-7, rtol=0)
    assert part.info["input"]["depth_ratio"] == {"H3K4me3": 1.0, "H3K27me3": 1.0}
    assert part.info["input"]["depth_from"].startswith("reads per chromosome")
    info = part.info
    assert info["genes"] == len(on17) and info["genes_left_out"] == len(genes) - len(on17)
    reasons = {
        f"no read of H3K4me3, H3K27me3 on {c}": int((genes["chrom"] == c).sum())
        for c in ("chr19", "chr20", "chr21", "chr22")
    }
    assert info["left_out_reasons"] == dict(sorted(reasons.items(), key=lambda kv: -kv[1]))
    first = genes[genes["chrom"] != "chr17"].iloc[0]
    assert info["left_out"][0] == {
        "gene_id": first["gene_id"],
        "chrom": first["chrom"],
        "tss": int(first["tss"]),
        "reason": f"no read of H3K4me3, H3K27me3 on {first['chrom']}",
    }
    # one gene alone: the same probability as in the whole table
    one = tmp_path / "one.tsv"
    genes[genes["gene_id"] == on17[5]].to_csv(one, sep="\t", index=False)
    alone = predict_sample(model, chr17_only(sample, tmp_path), one).table
    # (float32 arithmetic in a batch of 1 vs 1,025: equal to 1e-7; a scale from the table gave 0.685 vs 0.675)
    assert alone["probability"].tolist() == [pytest.approx(part.table["probability"].iloc[5], abs=1e-7)]
    # without recorded reads the depth rests on this table's genes with data, and the sidecar says so
    fallback = predict_sample(sample["runs"]["deepchrome"] / "model.pt", chr17_only(sample, tmp_path), tss)
    assert fallback.info["input"]["depth_from"] == (
        "mean count per bin over this TSS table's genes with data (the model records no training reads per chromosome)"
    )
    assert fallback.info["genes_left_out"] == info["genes_left_out"]


def test_the_model_file_records_the_training_reads_per_chromosome() -> None:
    """From the datasets' binning records (the workflow's), the mean over the training cells, by chrom_key."""
    from chromexpr.dataset import Dataset
    from chromexpr.training.model_file import model_meta

    def dataset(reads: dict) -> Dataset:
        marks = {m: {"stats": {"reads_per_chrom": reads[m]}} for m in MARKS}
        one = np.zeros((2, 2, 100), dtype=np.float32)
        return Dataset(
            counts=one, signal=one, expression=np.zeros(2), label=np.zeros(2, dtype=np.int8),
            split=np.array(["train", "test"]), gene_ids=np.array(["a", "b"]), marks=np.array(MARKS),
            zscore_mean=np.zeros(2), zscore_std=np.ones(2), meta={"cell": "X", "provenance": {"marks": marks}},
        )  # fmt: skip

    card = two_mark_card("deepchrome")
    a = dataset({"H3K4me3": {"chr1": 10, "chrM": 2}, "H3K27me3": {"chr1": 4}})
    b = dataset({"H3K4me3": {"1": 20}, "H3K27me3": {"chr1": 6, "chr2": 8}})
    meta = model_meta(card, [a, b], task="classification")
    assert meta["depth"]["reads_per_chrom"] == [{"1": 15.0, "M": 1.0}, {"1": 5.0, "2": 4.0}]
    bigwig = dataset({"H3K4me3": {"chr1": 10}, "H3K27me3": {}})  # a mark without reads: none recorded
    assert model_meta(card, [bigwig], task="classification")["depth"]["reads_per_chrom"] is None


def test_a_tss_past_the_chromosome_end_is_left_out_with_or_without_chromosome_sizes(sample, tmp_path) -> None:
    model = sample["runs"]["deepchrome"] / "model.pt"
    genes = pd.read_csv(sample["ref"] / "tss.tsv", sep="\t").head(3)
    past = pd.DataFrame({"gene_id": ["past"], "chrom": ["chr17"], "tss": [90_000_000], "strand": ["+"]})
    tss = tmp_path / "genes.tsv"
    pd.concat([genes, past]).to_csv(tss, sep="\t", index=False)
    # no sizes: the reads tell where chr17 ends
    result = predict_sample(model, reads_files(sample), tss)
    assert result.table["gene_id"].tolist() == genes["gene_id"].tolist()
    [left] = result.info["left_out"]
    assert left["gene_id"] == "past" and left["reason"].startswith("window past the last read of every mark on chr17")
    # with the assembly's sizes (chr17: 81,195,210 bp)
    result = predict_sample(model, reads_files(sample), tss, chrom_sizes=DEMO / "chrom.sizes")
    [left] = result.info["left_out"]
    assert left["reason"] == "window passes the end of chr17 (81,195,210 bp in the chromosome sizes)"
    assert result.info["left_out_reasons"] == {"window passes the end of chr17": 1}
    # every gene past the end: an error naming the TSS table and why, not the marks' files
    only = tmp_path / "only.tsv"
    past.to_csv(only, sep="\t", index=False)
    with pytest.raises(
        InputError, match=r"only.tsv: no gene of the TSS table has data .* 1 genes: window past the last"
    ):
        predict_sample(model, reads_files(sample), only)


def test_a_bigwig_without_a_chromosome_leaves_its_genes_out(sample, tmp_path) -> None:
    tss = tmp_path / "genes.bed"
    tss.write_text(
        "chr17\t100000\t100001\ton17\t0\t+\nchr19\t100000\t100001\ton19\t0\t+\nchr17\t999000\t999001\tend\t0\t+\n"
    )
    files = {}
    for mark in MARKS:
        files[mark] = ("bigwig", tmp_path / f"{mark}.bw")
        write_bigwig(files[mark][1], {"chr17": 1_000_000}, [("chr17", 95_000, 105_000, 1.0)])
    result = predict_sample(sample["runs"]["deepchrome"] / "model.pt", files, tss, depth="none")
    assert result.table["gene_id"].tolist() == ["on17"]
    assert [(g["gene_id"], g["reason"]) for g in result.info["left_out"]] == [
        ("on19", "chr19 is not in the bigWig of H3K4me3"),
        ("end", "window passes the end of chr17 (1,000,000 bp in the bigWig of H3K4me3)"),
    ]


def test_a_model_file_with_a_bad_geometry_or_class_names_the_file(sample, tmp_path) -> None:
    import copy

    loaded = load_model_file(sample["runs"]["deepchrome"] / "model.pt")
    tss = sample["ref"] / "tss.tsv"
    window = copy.deepcopy(loaded.meta)
    window["geometry"]["window_bp"] = 0
    cls = copy.deepcopy(loaded.meta)
    cls["card"]["class"] = "nosuch.Model"
    for name, meta, message in [
        ("window.pt", window, r"window.pt: the model file records a bin geometry no dataset has .*window_bp \(0\)"),
        ("class.pt", cls, r"class.pt: the model file's card cannot be built: unknown model class 'nosuch.Model'"),
    ]:
        save_model_file(tmp_path / name, loaded.state_dict, meta)
        with pytest.raises(InputError, match=message) as info:
            predict_sample(tmp_path / name, reads_files(sample), tss)
        assert "config key" not in str(info.value) and "use the run's own model.pt" in str(info.value)
