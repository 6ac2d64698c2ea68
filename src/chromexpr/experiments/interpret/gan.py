"""DeepChrome 2.0's GAN Monte-Carlo visualization (Kadavath, Paradis, Yeung; Fig. 4 and Table 1).

A GAN is trained on the training inputs; many inputs are sampled from its generator (3 million in the paper),
the classifier scores them, and the top ``k`` (100) by probability of each class are kept and averaged over bins
(the paper: "We then take the mean of the inputs along the temporal axis, and normalize the frequency").
``sanity_table`` is Table 1: the mean class probabilities of the classifier on real, GAN and random inputs.

The paper does not describe the GAN; :data:`ARCHITECTURE` is this module's choice, in short:

* **Transform.** The GAN works in a standardized space: ``t = log1p(x)`` for non-negative inputs (raw read
  counts: heavy-tailed, so a linear output layer fits their logarithm far better than the counts), ``t = x``
  otherwise (z-scores, or any signed input); then ``u = (t - mean_m) / std_m`` per mark ``m`` (statistics over
  genes and bins of the training inputs). A sample ``u`` maps back by ``t = u * std_m + mean_m``, clipped to the
  per-mark range of ``t`` over the training inputs (the GAN never leaves the data's support, which also keeps
  ``expm1`` finite), then ``x = expm1(t)`` clamped at 0 (counts) or ``x = t``. Samples are continuous: the real
  counts are integers, the generated ones are not rounded.
* **Generator.** MLP ``latent (32) -> 256 -> 512 -> marks * bins``, each hidden layer Linear -> BatchNorm1d ->
  LeakyReLU(0.2), a linear output (the standardized space), reshaped to ``(marks, bins)``; ``z ~ N(0, I)``.
  After training, BatchNorm's running statistics are re-estimated on 16 batches of fresh latents with the final
  weights (cumulative average), and the generator samples in eval mode: a sample depends on its latent only.
* **Discriminator.** MLP ``marks * bins -> 512 -> 256 -> 1`` with LeakyReLU(0.2), no normalization, a logit out.
* **Loss.** Non-saturating GAN (Goodfellow et al. 2014): the discriminator minimizes
  ``BCE(D(real), 1) + BCE(D(G(z)), 0)``, the generator ``BCE(D(G(z)), 1)``; one discriminator step then one
  generator step per batch of real inputs (fresh latents for each); Adam lr 2e-4, betas (0.5, 0.999), for both.

Sampling is reproducible and independent of the batch size: sample ``j`` of seed ``s`` is drawn from latent
chunk ``j // SAMPLE_CHUNK`` (``numpy.random.default_rng([s, chunk])``) and the generator always runs on whole
chunks, so ``sample_gan(gan, n)`` is a prefix of ``sample_gan(gan, m)`` for ``n < m`` and ``monte_carlo``
gives identical results for any ``batch_size``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from chromexpr.errors import InputError
from chromexpr.experiments.interpret.evaluate import SANITY_SOURCES, published_sanity
from chromexpr.experiments.interpret.plan import PUBLISHED_CARD, PUBLISHED_METRIC

__all__ = [
    "ARCHITECTURE",
    "NORMALIZATION",
    "PUBLISHED_CARD",
    "PUBLISHED_METRIC",
    "SAMPLE_CHUNK",
    "SANITY_SOURCES",
    "GanModel",
    "build_discriminator",
    "build_generator",
    "monte_carlo",
    "normalize_profiles",
    "probability_classifier",
    "published_sanity",
    "sample_gan",
    "sanity_table",
    "train_gan",
]

ARCHITECTURE = (
    "GAN (architecture unstated in DeepChrome 2.0: chromexpr's choice). Data space: log1p(x) for non-negative "
    "inputs (raw counts), x itself otherwise (z-scores), then standardized per mark (mean / std over genes and "
    "bins of the training inputs); samples map back by the inverse, clipped to the per-mark training range, "
    "expm1 and clamped >= 0 for counts. Generator: MLP latent 32 -> 256 -> 512 -> marks*bins, hidden layers "
    "Linear-BatchNorm1d-LeakyReLU(0.2), linear output, z ~ N(0, I); BatchNorm statistics re-estimated after "
    "training, sampling in eval mode. Discriminator: MLP marks*bins -> 512 -> 256 -> 1, LeakyReLU(0.2). Loss: "
    "non-saturating BCE GAN, one D step and one G step per batch; Adam lr 2e-4, betas (0.5, 0.999)."
)

NORMALIZATION = (
    "Fig. 4 'Normalized activation frequency for top 100 inputs in terms of positive and negative class "
    "probability'; text: 'take the mean of the inputs along the temporal axis, and normalize the frequency' "
    "(how is unstated). Choice: each class's profile is the mean over its top-k inputs and over bins; for each "
    "mark both class values are divided by the larger absolute value of the two (the larger is 1; 0 where both "
    "are 0)."
)


#: latents per generator forward pass: the unit of reproducible sampling (see the module docstring)
SAMPLE_CHUNK = 4096

_HIDDEN_G = (256, 512)
_HIDDEN_D = (512, 256)
_SLOPE = 0.2
_LR = 2e-4
_BETAS = (0.5, 0.999)
_RECALIBRATION_BATCHES = 16


def build_generator(latent: int, marks: int, bins: int, hidden: tuple[int, ...] = _HIDDEN_G) -> nn.Module:
    """The generator MLP: ``(batch, latent)`` -> ``(batch, marks * bins)`` in the standardized space."""
    layers: list[nn.Module] = []
    width = latent
    for h in hidden:
        layers += [nn.Linear(width, h), nn.BatchNorm1d(h), nn.LeakyReLU(_SLOPE)]
        width = h
    layers.append(nn.Linear(width, marks * bins))
    return nn.Sequential(*layers)


def build_discriminator(marks: int, bins: int, hidden: tuple[int, ...] = _HIDDEN_D) -> nn.Module:
    """The discriminator MLP: ``(batch, marks * bins)`` -> ``(batch, 1)`` logits (real vs generated)."""
    layers: list[nn.Module] = []
    width = marks * bins
    for h in hidden:
        layers += [nn.Linear(width, h), nn.LeakyReLU(_SLOPE)]
        width = h
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


@dataclass
class GanModel:
    """A trained GAN generator and what maps its output back to the classifier's input space.

    Attributes:
        generator_state: the generator's ``state_dict`` (CPU tensors).
        transform: ``log1p`` (non-negative inputs) or ``identity``.
        center: ``(marks,)`` per-mark mean of the transformed training inputs.
        scale: ``(marks,)`` per-mark standard deviation of the transformed training inputs (1 where it is 0).
        low: ``(marks,)`` per-mark minimum of the transformed training inputs (samples are clipped to it).
        high: ``(marks,)`` per-mark maximum of the transformed training inputs.
        marks: input channels.
        bins: bins per gene.
        latent: latent dimension.
        hidden: generator hidden widths.
        g_loss: generator loss, mean over the batches of each epoch.
        d_loss: discriminator loss, mean over the batches of each epoch.
        seed: training seed.
        epochs: training epochs.
        batch_size: training batch size.
    """

    generator_state: dict[str, torch.Tensor]
    transform: str
    center: np.ndarray
    scale: np.ndarray
    low: np.ndarray
    high: np.ndarray
    marks: int
    bins: int
    latent: int = 32
    hidden: tuple[int, ...] = _HIDDEN_G
    g_loss: list[float] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    seed: int = 0
    epochs: int = 0
    batch_size: int = 256

    def generator(self, device: str | torch.device = "cpu") -> nn.Module:
        """The generator module in eval mode, on ``device`` (built without touching the global torch RNG)."""
        with torch.random.fork_rng(devices=[]):  # the throw-away initialization draws from the global RNG
            module = build_generator(self.latent, self.marks, self.bins, tuple(self.hidden))
        module.load_state_dict(self.generator_state)
        return module.to(device).eval()

    def to_input_space(self, u: np.ndarray) -> np.ndarray:
        """Generator output ``(n, marks * bins)`` (standardized) -> ``(n, marks, bins)`` float32 inputs."""
        t = u.reshape(-1, self.marks, self.bins).astype(np.float64)  # (n, marks, bins)
        t = t * self.scale[None, :, None] + self.center[None, :, None]
        t = np.clip(t, self.low[None, :, None], self.high[None, :, None])
        if self.transform == "log1p":
            t = np.maximum(np.expm1(t), 0.0)
        return t.astype(np.float32)

    def to_gan_space(self, x: np.ndarray) -> np.ndarray:
        """Inputs ``(n, marks, bins)`` -> the standardized space ``(n, marks * bins)`` float32."""
        t = np.log1p(x.astype(np.float64)) if self.transform == "log1p" else x.astype(np.float64)
        u = (t - self.center[None, :, None]) / self.scale[None, :, None]  # (n, marks, bins)
        return u.reshape(len(x), -1).astype(np.float32)


def _check_inputs(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 3 or len(x) == 0:
        raise InputError(f"{what} must be a non-empty (genes, marks, bins) array, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise InputError(f"{what} holds non-finite values", hint="impute or drop those genes first")
    return x


def _fork_rng(device: torch.device):
    if device.type == "cuda":
        return torch.random.fork_rng(devices=[device.index or 0], device_type="cuda")
    return torch.random.fork_rng(devices=[])


def train_gan(
    x_train: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 256,
    latent: int = 32,
    seed: int = 0,
    device: str = "cpu",
    transform: str = "auto",
) -> GanModel:
    """Train the GAN of :data:`ARCHITECTURE` on ``x_train`` ``(genes, marks, bins)``.

    Deterministic given ``seed`` on the CPU (weights, shuffling and latents come from ``seed``); the global
    torch RNG state is left as it was (``torch.random.fork_rng``). ``epochs=0`` returns the untrained
    generator.

    Args:
        x_train: the training inputs, in the classifier's input space.
        epochs: passes over ``x_train`` (shuffled each epoch; a trailing batch of one gene is skipped).
        batch_size: real inputs per step.
        latent: latent dimension of the generator.
        seed: seed of initialization, shuffling and latents.
        device: where the GAN trains.
        transform: ``auto`` (``log1p`` when ``x_train`` is non-negative, else ``identity``), ``log1p`` or
            ``identity``.
    """
    x_train = _check_inputs(x_train, "x_train")
    if epochs < 0 or batch_size < 2 or latent < 1:
        raise InputError(f"epochs must be >= 0, batch_size >= 2, latent >= 1 (got {epochs}, {batch_size}, {latent})")
    if transform == "auto":
        transform = "log1p" if float(x_train.min()) >= 0 else "identity"
    if transform not in ("log1p", "identity"):
        raise InputError(f"unknown GAN transform {transform!r}", hint="use auto, log1p or identity")
    if transform == "log1p" and float(x_train.min()) < 0:
        raise InputError("the log1p GAN transform needs non-negative inputs", hint="use transform='identity'")
    n_genes, marks, bins = x_train.shape
    t = np.log1p(x_train.astype(np.float64)) if transform == "log1p" else x_train.astype(np.float64)
    center = t.mean(axis=(0, 2))  # (marks,)
    scale = t.std(axis=(0, 2))  # (marks,)
    scale = np.where(scale > 0, scale, 1.0)
    low, high = t.min(axis=(0, 2)), t.max(axis=(0, 2))  # (marks,) each
    gan = GanModel(
        generator_state={},
        transform=transform,
        center=center,
        scale=scale,
        low=low,
        high=high,
        marks=marks,
        bins=bins,
        latent=latent,
        seed=seed,
        epochs=epochs,
        batch_size=batch_size,
    )
    dev = torch.device(device)
    real_all = torch.from_numpy(gan.to_gan_space(x_train)).to(dev)  # (genes, marks * bins)
    with _fork_rng(dev):
        torch.manual_seed(seed)
        rng = torch.Generator().manual_seed(seed)  # shuffling and latents, on the CPU
        generator = build_generator(latent, marks, bins).to(dev)
        discriminator = build_discriminator(marks, bins).to(dev)
        opt_g = torch.optim.Adam(generator.parameters(), lr=_LR, betas=_BETAS)
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=_LR, betas=_BETAS)
        bce = nn.BCEWithLogitsLoss()
        for _ in range(epochs):
            generator.train()
            order = torch.randperm(n_genes, generator=rng).to(dev)  # (genes,)
            g_sum = d_sum = 0.0
            steps = 0
            for start in range(0, n_genes, batch_size):
                real = real_all[order[start : start + batch_size]]  # (b, marks * bins)
                b = len(real)
                if b < 2:  # BatchNorm needs two samples
                    continue
                ones = torch.ones(b, 1, device=dev)  # (b, 1)
                zeros = torch.zeros(b, 1, device=dev)  # (b, 1)
                z = torch.randn(b, latent, generator=rng).to(dev)  # (b, latent)
                fake = generator(z)  # (b, marks * bins)
                d_loss = bce(discriminator(real), ones) + bce(discriminator(fake.detach()), zeros)
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
                z = torch.randn(b, latent, generator=rng).to(dev)  # (b, latent)
                g_loss = bce(discriminator(generator(z)), ones)
                opt_g.zero_grad(set_to_none=True)
                g_loss.backward()
                opt_g.step()
                g_sum += float(g_loss.detach())
                d_sum += float(d_loss.detach())
                steps += 1
            gan.g_loss.append(g_sum / max(steps, 1))
            gan.d_loss.append(d_sum / max(steps, 1))
        _recalibrate(generator, latent, max(batch_size, 256), rng, dev)
    gan.generator_state = {k: v.detach().cpu().clone() for k, v in generator.state_dict().items()}
    return gan


@torch.no_grad()
def _recalibrate(generator: nn.Module, latent: int, batch: int, rng: torch.Generator, dev: torch.device) -> None:
    """Re-estimate BatchNorm's running statistics with the final weights (cumulative average over batches)."""
    norms = [m for m in generator.modules() if isinstance(m, nn.BatchNorm1d)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    generator.train()
    for _ in range(_RECALIBRATION_BATCHES):
        generator(torch.randn(batch, latent, generator=rng).to(dev))  # (batch, latent) in
    for m in norms:
        m.momentum = 0.1
    generator.eval()


class _Sampler:
    """Samples ``[start, stop)`` of seed ``seed``, computed chunk by chunk (see the module docstring)."""

    def __init__(self, gan: GanModel, seed: int, device: str | torch.device = "cpu") -> None:
        self.gan, self.seed, self.device = gan, int(seed), torch.device(device)
        self.module = gan.generator(self.device)
        self._cached: tuple[int, np.ndarray] | None = None

    def chunk(self, index: int) -> np.ndarray:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        z = np.random.default_rng([self.seed, index]).standard_normal((SAMPLE_CHUNK, self.gan.latent))
        with torch.no_grad():
            u = self.module(torch.from_numpy(z.astype(np.float32)).to(self.device))  # (chunk, marks * bins)
        x = self.gan.to_input_space(u.cpu().numpy())  # (chunk, marks, bins)
        self._cached = (index, x)
        return x

    def range(self, start: int, stop: int) -> np.ndarray:
        parts = []
        for c in range(start // SAMPLE_CHUNK, (stop - 1) // SAMPLE_CHUNK + 1):
            lo = max(start - c * SAMPLE_CHUNK, 0)
            hi = min(stop - c * SAMPLE_CHUNK, SAMPLE_CHUNK)
            parts.append(self.chunk(c)[lo:hi])
        return np.concatenate(parts) if len(parts) > 1 else parts[0].copy()

    def batches(self, n: int, batch_size: int) -> Iterator[tuple[int, np.ndarray]]:
        for start in range(0, n, batch_size):
            yield start, self.range(start, min(start + batch_size, n))


def _check_count(n: int, batch_size: int) -> None:
    if n < 1 or batch_size < 1:
        raise InputError(f"the number of samples and the batch size must be >= 1 (got {n}, {batch_size})")


def sample_gan(gan: GanModel, n: int, *, seed: int = 0, batch_size: int = 65536, device: str = "cpu") -> np.ndarray:
    """``n`` GAN samples ``(n, marks, bins)`` float32 in the classifier's input space.

    The same ``seed`` gives identical samples (for any ``batch_size``: it only sets how many are made at a
    time), another seed different ones; the global torch RNG is not used.
    """
    _check_count(n, batch_size)
    sampler = _Sampler(gan, seed, device)
    out = np.empty((n, gan.marks, gan.bins), dtype=np.float32)  # (n, marks, bins)
    for start, x in sampler.batches(n, batch_size):
        out[start : start + len(x)] = x
    return out


def _probabilities(classify: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    p = np.asarray(classify(x), dtype=np.float64).reshape(-1)  # (batch,)
    if len(p) != len(x):
        raise InputError(f"classify returned {len(p)} probabilities for {len(x)} inputs")
    if not np.isfinite(p).all():
        raise InputError("classify returned non-finite probabilities")
    return p


def _top(scores: np.ndarray, index: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest ``scores``, ties broken by the smaller ``index``, best first."""
    if len(scores) > k:
        kth = scores[np.argpartition(-scores, k - 1)[:k]].min()
        keep = np.flatnonzero(scores >= kth)  # the top k and every tie of the k-th
    else:
        keep = np.arange(len(scores))
    order = np.lexsort((index[keep], -scores[keep]))[:k]
    return keep[order]


def normalize_profiles(expressed: np.ndarray, not_expressed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fig. 4's per-mark normalization (:data:`NORMALIZATION`): both ``(marks,)`` class profiles divided, mark by
    mark, by the larger absolute value of the two (0 where both are 0)."""
    expressed = np.asarray(expressed, dtype=np.float64)
    not_expressed = np.asarray(not_expressed, dtype=np.float64)
    peak = np.maximum(np.abs(expressed), np.abs(not_expressed))  # (marks,)
    safe = np.where(peak > 0, peak, 1.0)
    return expressed / safe, not_expressed / safe


def monte_carlo(
    classify: Callable[[np.ndarray], np.ndarray],
    gan: GanModel,
    *,
    n_samples: int,
    top_k: int = 100,
    seed: int = 0,
    batch_size: int = 65536,
    device: str = "cpu",
) -> dict[str, Any]:
    """DeepChrome 2.0 Fig. 4: the mean of the top-``k`` GAN samples of each class, per mark.

    ``n_samples`` samples (:func:`sample_gan` with ``seed``) are streamed ``batch_size`` at a time (memory
    holds one batch and the running top ``k`` of each class, never all samples); ``classify(x)`` maps
    ``(batch, marks, bins)`` to P(expressed) ``(batch,)``. The ``expressed`` class keeps the ``k`` samples of
    highest P(expressed), ``not_expressed`` the ``k`` of lowest P(expressed) (highest P(not expressed)); ties
    go to the earlier sample, so the result does not depend on ``batch_size``.

    Normalization (:data:`NORMALIZATION`): the paper's Fig. 4 caption reads "Normalized activation frequency
    for top 100 inputs in terms of positive and negative class probability from dataset of 3 million
    GAN-generated inputs" and the text "We then take the mean of the inputs along the temporal axis, and
    normalize the frequency", without saying how. Here each class's value of a mark is the mean over its
    top-``k`` samples and over bins, and for each mark the two class values are divided by the larger absolute
    value of the two, so the larger is 1 (for non-negative inputs; 0 where both are 0).

    Returns:
        ``expressed`` / ``not_expressed``: ``(marks,)`` normalized profiles; ``expressed_maps`` /
        ``not_expressed_maps``: ``(marks, bins)`` means of the top-``k`` samples (input space, unnormalized);
        ``expressed_mean`` / ``not_expressed_mean``: ``(marks,)`` unnormalized profiles;
        ``expressed_probability`` / ``not_expressed_probability``: ``(k,)`` P(expressed) of the kept samples,
        best first; ``expressed_index`` / ``not_expressed_index``: their sample numbers; ``n_samples``,
        ``top_k``, ``seed``, ``normalization``.
    """
    _check_count(n_samples, batch_size)
    if not 1 <= top_k <= n_samples:
        raise InputError(f"top_k must be between 1 and n_samples ({n_samples}), got {top_k}")
    sampler = _Sampler(gan, seed, device)
    empty_x = np.empty((0, gan.marks, gan.bins), dtype=np.float32)
    # per class: kept inputs (<= k, marks, bins), their P(expressed) (<= k,) and sample numbers (<= k,)
    kept = {c: (empty_x, np.empty(0), np.empty(0, dtype=np.int64)) for c in ("expressed", "not_expressed")}
    for start, x in sampler.batches(n_samples, batch_size):
        p = _probabilities(classify, x)  # (batch,)
        index = np.arange(start, start + len(x), dtype=np.int64)  # (batch,)
        for c, sign in (("expressed", 1.0), ("not_expressed", -1.0)):
            kx, kp, ki = kept[c]
            cand_p, cand_i = np.concatenate([kp, p]), np.concatenate([ki, index])  # (k + batch,) each
            best = _top(sign * cand_p, cand_i, top_k)  # (k,) positions in the candidates
            old = best < len(kp)
            best_x = np.empty((len(best), gan.marks, gan.bins), dtype=np.float32)  # (k, marks, bins)
            best_x[old] = kx[best[old]]
            best_x[~old] = x[best[~old] - len(kp)]
            kept[c] = (best_x, cand_p[best], cand_i[best])
    result: dict[str, Any] = {}
    for c in ("expressed", "not_expressed"):
        kx, kp, ki = kept[c]
        result[f"{c}_maps"] = kx.astype(np.float64).mean(axis=0)  # (marks, bins)
        result[f"{c}_mean"] = result[f"{c}_maps"].mean(axis=1)  # (marks,)
        result[f"{c}_probability"] = kp
        result[f"{c}_index"] = ki
    result["expressed"], result["not_expressed"] = normalize_profiles(
        result["expressed_mean"], result["not_expressed_mean"]
    )
    result.update(n_samples=int(n_samples), top_k=int(top_k), seed=int(seed), normalization=NORMALIZATION)
    return result


def sanity_table(
    classify: Callable[[np.ndarray], np.ndarray],
    x_real: np.ndarray,
    gan: GanModel,
    *,
    n: int = 10000,
    seed: int = 0,
    batch_size: int = 65536,
    device: str = "cpu",
) -> list[dict[str, Any]]:
    """DeepChrome 2.0 Table 1: mean class probabilities of the classifier on real, GAN and random inputs.

    Rows, in order: ``real`` (all of ``x_real`` when it has at most ``n`` genes, else a seeded random subset of
    ``n``, in their original order), ``gan`` (``n`` samples of :func:`sample_gan` with ``seed``) and ``random``
    (``n`` inputs, every value uniform over ``[min, max]`` of its mark in ``x_real``: the paper's control is
    "a random input", presumably uniform). Each row: ``input``, ``n``, ``mean_positive`` (mean P(expressed)),
    ``mean_negative`` (mean of 1 - P(expressed)) and the published pair of :func:`published_sanity`.
    """
    x_real = _check_inputs(x_real, "x_real")
    _check_count(n, batch_size)
    real_rng, random_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    if len(x_real) > n:
        x_sub = x_real[np.sort(real_rng.choice(len(x_real), size=n, replace=False))]  # (n, marks, bins)
    else:
        x_sub = x_real
    low = x_real.min(axis=(0, 2)).astype(np.float64)  # (marks,)
    high = x_real.max(axis=(0, 2)).astype(np.float64)  # (marks,)
    marks, bins = x_real.shape[1:]
    x_random = random_rng.uniform(low[None, :, None], high[None, :, None], size=(n, marks, bins))  # (n, m, b)
    inputs = {
        "real": x_sub,
        "gan": sample_gan(gan, n, seed=seed, batch_size=batch_size, device=device),  # (n, marks, bins)
        "random": x_random.astype(np.float32),
    }
    published = published_sanity()
    rows = []
    for name, x in inputs.items():
        p = np.concatenate(
            [_probabilities(classify, x[s : s + batch_size]) for s in range(0, len(x), batch_size)]
        )  # (len(x),)
        rows.append(
            {
                "input": name,
                "n": len(x),
                "mean_positive": float(p.mean()),
                "mean_negative": float((1.0 - p).mean()),
                "published_positive": published[name][0],
                "published_negative": published[name][1],
            }
        )
    return rows


def probability_classifier(
    card: dict[str, Any], model: Any, *, device: str = "cpu"
) -> Callable[[np.ndarray], np.ndarray]:
    """``classify(x)`` -> P(expressed) ``(batch,)`` of a trained model (``predict_probability`` of
    :mod:`chromexpr.training.inference`: the sigmoid of the model's ``logits``), for :func:`monte_carlo`."""
    from chromexpr.training.inference import predict_probability

    def classify(x: np.ndarray) -> np.ndarray:
        return predict_probability(card, model, np.ascontiguousarray(x, dtype=np.float32), device=device)

    return classify
