"""What trained classifiers learned: attention maps, class optimization, integrated gradients, linear weights.

Conventions (every torch classifier of ``chromexpr.models``): ``forward(x)`` with ``x`` ``(batch, marks, bins)``
returns ``"logits"`` ``(batch,)``, the log-odds of class 1 = *expressed* (trained with BCE-with-logits;
``sigmoid(logits)`` is the probability ``chromexpr.training.inference.predict_probability`` reports). DeepChrome and
the linear model also return ``"class_logits"`` ``(batch, 2)`` with ``logits = class_logits[:, 1] - class_logits[:, 0]``,
so ``log_softmax(class_logits) = (logsigmoid(-logits), logsigmoid(logits))``: the class log-probabilities used here
are computed from ``logits`` alone and agree with the training loss for every model. Class 0 = not expressed.

- :func:`attention_maps`: AttentiveChrome's bin and mark attention of every gene.
- :func:`class_optimization`: DeepChrome's optimization-based visualization (Singh et al. 2016; the reference
  ``7_viz.lua``): the input that maximises one class's probability under an L2 penalty.
- :func:`integrated_gradients` / :func:`integrated_gradients_with_delta`: captum's IntegratedGradients of one
  output, per gene, with the completeness gap.
- :func:`class_means`, :func:`attribution_signs`: summaries of an attribution array.
- :func:`linear_weights`: the 12 parameters of the DeepChrome 2.0 linear model (its Fig. 8).

Models are run in eval mode (dropout off, BatchNorm on running statistics) and their training flag is restored
afterwards; nothing here changes a model's parameters.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from chromexpr.errors import InputError
from chromexpr.evaluation.attribution import _Output

__all__ = [
    "ATTENTION_BATCH",
    "IG_INPUTS",
    "ClassOptimization",
    "attention_maps",
    "attribution_signs",
    "class_means",
    "class_optimization",
    "integrated_gradients",
    "integrated_gradients_with_delta",
    "linear_weights",
]

ATTENTION_BATCH = 512  # genes per forward pass
# Model inputs (genes x n_steps) per IntegratedGradients call. Measured on 2 CPU cores, 256 test genes,
# 20 steps: 320 inputs (16 genes) run AttentiveChrome's LSTMs 1.9x faster than 5,120 (256 genes), and
# DeepChrome 2.7x, with bitwise the same attributions; 160 or 640 are no faster.
IG_INPUTS = 320


def _ig_genes(batch_size: int | None, n_steps: int) -> int:
    """Genes per captum call: ``batch_size``, or as many as make about :data:`IG_INPUTS` inputs."""
    return batch_size if batch_size is not None else max(1, IG_INPUTS // n_steps)


@contextlib.contextmanager
def _evaluating(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """``model`` in eval mode inside the block, its training flag restored after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def _check_genes(x: np.ndarray, what: str = "x") -> np.ndarray:
    """``x`` as a C-contiguous float32 ``(genes, marks, bins)`` array, or an ``InputError``."""
    x = np.asarray(x)
    if x.ndim != 3:
        raise InputError(f"{what} must be (genes, marks, bins), got shape {x.shape}")
    return np.ascontiguousarray(x, dtype=np.float32)


# --- attention -----------------------------------------------------------------------------------


def attention_maps(
    model: torch.nn.Module,
    x: np.ndarray,
    *,
    batch_size: int = ATTENTION_BATCH,
    device: str | torch.device = "cpu",
) -> dict[str, np.ndarray]:
    """AttentiveChrome's attention weights of every gene, in the order of ``x``.

    Parameters
    ----------
    model
        A model whose output holds ``"attention": {"bin": (batch, marks, bins), "mark": (batch, marks)}``
        (``AttentiveChrome``).
    x
        ``(genes, marks, bins)`` inputs, as the model was trained on.
    batch_size
        Genes per forward pass (results do not depend on it).
    device
        Where the model runs.

    Returns
    -------
    dict
        ``"bin"`` ``(genes, marks, bins)`` float32, summing to 1 over bins; ``"mark"`` ``(genes, marks)`` float32,
        summing to 1 over marks.

    Raises
    ------
    InputError
        If ``x`` is not 3-D or the model returns no bin and mark attention.
    """
    x = _check_genes(x)
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    dev = torch.device(device)
    model = model.to(dev)
    bins: list[np.ndarray] = []
    marks: list[np.ndarray] = []
    with _evaluating(model), torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            xb = torch.from_numpy(x[start : start + batch_size]).to(dev)  # (batch, marks, bins)
            attention = model(xb).get("attention")
            if not isinstance(attention, Mapping) or "bin" not in attention or "mark" not in attention:
                raise InputError(
                    f"{type(model).__name__} returns no bin and mark attention",
                    hint="attention maps come from AttentiveChrome-style models (output 'attention': {'bin', 'mark'})",
                )
            bins.append(attention["bin"].float().cpu().numpy())  # (batch, marks, bins)
            marks.append(attention["mark"].float().cpu().numpy())  # (batch, marks)
    if not bins:
        return {
            "bin": np.zeros(x.shape, dtype=np.float32),
            "mark": np.zeros(x.shape[:2], dtype=np.float32),
        }
    return {"bin": np.concatenate(bins), "mark": np.concatenate(marks)}


# --- class optimization --------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassOptimization:
    """The result of :func:`class_optimization`.

    Attributes
    ----------
    map
        ``(marks, bins)`` float32 in ``[0, 1]``, scaled so its maximum is 1 (all zeros if the optimum was 0).
    losses
        ``(steps,)`` float64: the objective (NLL of ``target`` + L2 penalty) at the input of each step, before
        its update.
    target
        The class optimized for: 1 = expressed, 0 = not expressed.
    """

    map: np.ndarray
    losses: np.ndarray
    target: int


def class_optimization(
    model: torch.nn.Module,
    *,
    target: int,
    marks: int,
    bins: int,
    steps: int = 1000,
    lr: float = 0.1,
    l2: float = 0.009,
    seed: int = 0,
    clamp_each_step: bool = False,
    device: str | torch.device = "cpu",
) -> ClassOptimization:
    """DeepChrome's class-optimization map: the input a classifier finds most typical of one class.

    Starting from ``X`` uniform in ``[0, 1)`` (a ``torch.Generator`` seeded with ``seed``), RMSprop (``lr``; torch's
    defaults ``alpha=0.99``, ``eps=1e-8``, as Torch7's ``optim.rmsprop``) minimises over ``X`` alone
    ``NLL(target | X) + l2 * sum(X ** 2)``, where the class log-probabilities are ``logsigmoid(+-logits)``, i.e.
    ``log_softmax`` of DeepChrome's two class scores. Then ``X`` is clamped to ``[0, 1]`` and divided by its maximum.

    The reference (``7_viz.lua``: lambda 0.009, RMSprop lr 0.1, 1000 steps, ``torch.rand`` start) clamps once,
    after the last step, as the default here does; ``clamp_each_step=True`` projects ``X`` onto ``[0, 1]`` after
    every step instead (projected descent: the optimized input is then the one that is shown). The reference optimizes Torch class 1,
    which its data loader gives to expressed genes, i.e. ``target=1`` here.

    Parameters
    ----------
    model
        A classifier whose output holds ``"logits"`` ``(batch,)`` (log-odds of expressed); its parameters are not
        changed (gradients are taken with respect to ``X`` only).
    target
        1 (expressed) or 0 (not expressed).
    marks, bins
        The input geometry the model takes.
    steps
        RMSprop steps.
    lr
        RMSprop learning rate.
    l2
        Weight of the squared L2 norm of ``X`` in the objective.
    seed
        Seeds the starting point; the same seed gives the same map.
    clamp_each_step
        Clamp ``X`` to ``[0, 1]`` after every step (True) or only at the end (False, the reference code).
    device
        Where the model runs.

    Returns
    -------
    ClassOptimization
        ``map`` ``(marks, bins)`` float32, ``losses`` ``(steps,)`` float64, ``target``.

    Raises
    ------
    InputError
        If ``target`` is not 0 or 1, ``steps`` < 1, or the model has no 1-D ``logits`` output.
    """
    if target not in (0, 1):
        raise InputError(f"target must be 1 (expressed) or 0 (not expressed), got {target!r}")
    if steps < 1:
        raise InputError(f"steps must be >= 1, got {steps}")
    dev = torch.device(device)
    model = model.to(dev)
    sign = 1.0 if target == 1 else -1.0
    generator = torch.Generator().manual_seed(seed)
    start = torch.rand((1, marks, bins), generator=generator, dtype=torch.float32)  # (1, marks, bins) in [0, 1)
    x = start.to(dev).requires_grad_()  # (1, marks, bins): the only tensor optimized
    optimizer = torch.optim.RMSprop([x], lr=lr)
    losses = np.empty(steps, dtype=np.float64)
    with _evaluating(model):
        for step in range(steps):
            out = model(x)
            logits = out.get("logits") if isinstance(out, Mapping) else None
            if logits is None or logits.dim() != 1:
                raise InputError(
                    f"{type(model).__name__} has no 1-D 'logits' output",
                    hint="class optimization needs a binary classifier (logits = log-odds of expressed)",
                )
            nll = -F.logsigmoid(sign * logits).sum()  # NLL of the target class, one input
            loss = nll + l2 * x.pow(2).sum()
            (grad,) = torch.autograd.grad(loss, x)  # (1, marks, bins); model parameters get no .grad
            losses[step] = float(loss.detach())
            x.grad = grad
            optimizer.step()
            if clamp_each_step:
                with torch.no_grad():
                    x.clamp_(0.0, 1.0)
    with torch.no_grad():
        final = x.detach().clamp(0.0, 1.0)[0].float().cpu().numpy()  # (marks, bins)
    peak = float(final.max())
    if peak > 0.0:
        final = final / np.float32(peak)
    else:
        final = np.zeros_like(final)
    return ClassOptimization(map=final.astype(np.float32), losses=losses, target=target)


# --- integrated gradients ------------------------------------------------------------------------


def _baseline_array(baseline: str | float | np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The baseline broadcast to ``shape`` ``(genes, marks, bins)``, float32."""
    if isinstance(baseline, str):
        if baseline != "zeros":
            raise InputError(f"unknown baseline {baseline!r}", hint="use 'zeros', a number or an array")
        baseline = 0.0
    try:
        return np.broadcast_to(np.asarray(baseline, dtype=np.float32), shape)
    except ValueError as err:
        raise InputError(
            f"baseline of shape {np.shape(baseline)} does not broadcast to the input's {shape}",
            hint="give a number, a (marks, bins) array or a (genes, marks, bins) array",
        ) from err


def integrated_gradients_with_delta(
    model: torch.nn.Module,
    x: np.ndarray,
    *,
    key: str = "logits",
    target: int | None = None,
    baseline: str | float | np.ndarray = "zeros",
    n_steps: int = 50,
    batch_size: int | None = None,
    device: str | torch.device = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """Integrated gradients of ``model(x)[key]`` per gene and captum's completeness gap.

    Parameters
    ----------
    model, x, key, target, baseline, n_steps, batch_size, device
        As :func:`integrated_gradients`.

    Returns
    -------
    tuple
        ``(attributions (genes, marks, bins) float32, delta (genes,) float64)`` where ``delta =
        attributions.sum(over marks, bins) - (F(x) - F(baseline))`` (0 for an exact path integral).
    """
    from captum.attr import IntegratedGradients

    x = _check_genes(x)
    if batch_size is not None and batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    if n_steps < 1:
        raise InputError(f"n_steps must be >= 1, got {n_steps}")
    batch_size = _ig_genes(batch_size, n_steps)
    base = _baseline_array(baseline, x.shape)
    dev = torch.device(device)
    model = model.to(dev)
    ig = IntegratedGradients(_Output(model, key))
    pieces: list[np.ndarray] = []
    deltas: list[np.ndarray] = []
    with _evaluating(model):
        for start in range(0, x.shape[0], batch_size):
            stop = start + batch_size
            xb = torch.from_numpy(x[start:stop]).to(dev)  # (batch, marks, bins)
            bb = torch.from_numpy(np.ascontiguousarray(base[start:stop])).to(dev)  # (batch, marks, bins)
            attr, delta = ig.attribute(
                xb, baselines=bb, target=target, n_steps=n_steps, return_convergence_delta=True
            )  # (batch, marks, bins), (batch,)
            pieces.append(attr.detach().float().cpu().numpy())
            deltas.append(delta.detach().double().cpu().numpy().reshape(-1))
    if not pieces:
        return np.zeros(x.shape, dtype=np.float32), np.zeros(0, dtype=np.float64)
    return np.concatenate(pieces), np.concatenate(deltas)


def integrated_gradients(
    model: torch.nn.Module,
    x: np.ndarray,
    *,
    key: str = "logits",
    target: int | None = None,
    baseline: str | float | np.ndarray = "zeros",
    n_steps: int = 50,
    batch_size: int | None = None,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Integrated gradients (captum ``IntegratedGradients``) of one model output, per gene.

    With ``key="logits"`` a positive attribution pushes the gene towards *expressed* (the log-odds rise).

    Parameters
    ----------
    model
        A torch model (``forward(x)`` returns a dict).
    x
        ``(genes, marks, bins)`` inputs, as the model was trained on.
    key
        The output attributed: ``logits`` (classification, ``(batch,)``), ``prediction`` (regression),
        ``class_logits`` (with ``target``).
    target
        The column of a 2-D output; None for a 1-D output.
    baseline
        ``"zeros"``, a number, or an array broadcasting to ``x`` (``(marks, bins)`` or ``(genes, marks, bins)``).
    n_steps
        Points of the Gauss-Legendre path integral.
    batch_size
        Genes per captum call (results do not depend on it); None: ``IG_INPUTS // n_steps``.
    device
        Where the model runs.

    Returns
    -------
    numpy.ndarray
        ``(genes, marks, bins)`` float32 attributions; each gene's sum is ``F(x) - F(baseline)`` up to the
        integration error (see :func:`integrated_gradients_with_delta`).
    """
    attributions, _ = integrated_gradients_with_delta(
        model,
        x,
        key=key,
        target=target,
        baseline=baseline,
        n_steps=n_steps,
        batch_size=batch_size,
        device=device,
    )
    return attributions


# --- summaries -----------------------------------------------------------------------------------


def class_means(attr: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Mean attribution map of the expressed and of the not-expressed genes.

    Parameters
    ----------
    attr
        ``(genes, marks, bins)`` attributions (e.g. :func:`integrated_gradients`).
    labels
        ``(genes,)`` labels, 1 = expressed, 0 = not expressed.

    Returns
    -------
    dict
        ``"expressed"`` and ``"not_expressed"``: ``(marks, bins)`` float64 means over the genes of that class.

    Raises
    ------
    InputError
        If the shapes disagree, a label is not 0 or 1, or a class has no genes.
    """
    attr = np.asarray(attr)
    labels = np.asarray(labels)
    if attr.ndim != 3:
        raise InputError(f"attributions must be (genes, marks, bins), got shape {attr.shape}")
    if labels.shape != (attr.shape[0],):
        raise InputError(f"labels must be ({attr.shape[0]},) for {attr.shape[0]} genes, got shape {labels.shape}")
    if not np.isin(labels, (0, 1)).all():
        raise InputError("labels must be 0 (not expressed) or 1 (expressed)")
    result: dict[str, np.ndarray] = {}
    for name, value in (("expressed", 1), ("not_expressed", 0)):
        chosen = labels == value
        if not chosen.any():
            raise InputError(f"no {name.replace('_', '-')} genes (label {value}) to average")
        result[name] = attr[chosen].astype(np.float64).mean(axis=0)  # (marks, bins)
    return result


def attribution_signs(mean_attr: np.ndarray, marks: Sequence[str], *, atol: float = 0.0) -> dict[str, int]:
    """The direction in which each mark pushes the prediction: +1 towards expressed, -1 away, 0 neither.

    Parameters
    ----------
    mean_attr
        ``(marks, bins)`` map of the mean signed attribution towards *expressed* (e.g. the mean over all test
        genes of :func:`integrated_gradients` of ``logits``).
    marks
        The mark names, in the order of ``mean_attr``'s rows.
    atol
        A bin-sum with ``|sum| <= atol`` counts as 0.

    Returns
    -------
    dict
        ``{mark: sign}`` with ``sign = sign(mean_attr[m].sum())`` (the sign of the sum over bins, equal to that
        of the mean over bins), as a Python int in ``{-1, 0, 1}``.

    Raises
    ------
    InputError
        If ``mean_attr`` is not 2-D or its rows do not match ``marks``.
    """
    mean_attr = np.asarray(mean_attr, dtype=np.float64)
    names = list(marks)
    if mean_attr.ndim != 2:
        raise InputError(f"the mean attribution must be (marks, bins), got shape {mean_attr.shape}")
    if mean_attr.shape[0] != len(names):
        raise InputError(f"{mean_attr.shape[0]} rows of attribution but {len(names)} marks ({', '.join(names)})")
    if len(set(names)) != len(names):
        raise InputError(f"a mark is named twice: {', '.join(names)}")
    totals = mean_attr.sum(axis=1)  # (marks,)
    return {name: 0 if abs(total) <= atol else int(np.sign(total)) for name, total in zip(names, totals, strict=True)}


def linear_weights(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """The parameters of the DeepChrome 2.0 linear model (``MarkMeanLinear``, card ``linear12``).

    The class scores are ``weight @ reduce(x) + bias`` with ``reduce`` the mean (or sum) of each mark over bins;
    row 0 scores *not expressed*, row 1 *expressed*, and ``weight[1] - weight[0]`` is each mark's effect on the
    log-odds of expressed.

    Parameters
    ----------
    model
        A ``MarkMeanLinear`` (any module with an ``nn.Linear`` attribute ``linear`` of 2 outputs).

    Returns
    -------
    dict
        ``"weight"`` ``(2, marks)`` and ``"bias"`` ``(2,)``, float32 copies of the parameters.

    Raises
    ------
    InputError
        If the model has no such linear layer.
    """
    layer = getattr(model, "linear", None)
    if not isinstance(layer, torch.nn.Linear) or layer.out_features != 2 or layer.bias is None:
        raise InputError(
            f"{type(model).__name__} is not the 12-parameter linear model",
            hint="linear weights come from MarkMeanLinear (card linear12): Linear(marks -> 2) with a bias",
        )
    return {
        "weight": layer.weight.detach().float().cpu().numpy().copy(),  # (2, marks)
        "bias": layer.bias.detach().float().cpu().numpy().copy(),  # (2,)
    }
