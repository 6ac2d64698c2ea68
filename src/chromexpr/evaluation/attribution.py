"""Input attributions of trained torch models, with captum: one implementation for every experiment.

``input_gradients`` is the signed gradient of one model output with respect to the input (captum's
``Saliency`` with ``abs=False``: the Team Jamaica Fig. 4, "not quite a saliency map"); ``mean_input_gradients``
averages it over genes and over the models of an ensemble (the gradient of the ensemble mean is the mean of the
sub-models' gradients, so averaging the models' maps is exact). Models are scored in eval mode (BatchNorm uses
its running statistics, dropout is off), on the CPU unless told otherwise, in float32.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from chromexpr.errors import InputError

__all__ = ["ATTRIBUTION_BATCH", "input_gradients", "mean_input_gradients"]

ATTRIBUTION_BATCH = 512  # genes per backward pass


class _Output(torch.nn.Module):
    """``model(x)[key]`` (column ``index`` of a 2-D output) as a plain tensor, which captum needs."""

    def __init__(self, model: torch.nn.Module, key: str) -> None:
        super().__init__()
        self.model, self.key = model, key

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        if self.key not in out:
            raise InputError(
                f"{type(self.model).__name__} has no output {self.key!r} (it returns {', '.join(out)})",
                hint="attribute an output the model's card lists",
            )
        return out[self.key]


def input_gradients(
    model: torch.nn.Module,
    x: np.ndarray,
    *,
    key: str = "prediction",
    target: int | None = None,
    device: str | torch.device = "cpu",
    batch_size: int = ATTRIBUTION_BATCH,
) -> np.ndarray:
    """The signed gradient ``d model(x)[key] / d x`` of every gene, ``(genes, marks, bins)`` float32.

    Args:
        model: a torch model (``forward(x)`` returns a dict).
        x: ``(genes, marks, bins)`` inputs, as the model was trained on.
        key: the output attributed: ``prediction`` (regression), ``logits`` (classification).
        target: the column of a 2-D output (``cell_logits``); None for a 1-D output.
        device: where the model runs.
        batch_size: genes per backward pass (results do not depend on it).
    """
    from captum.attr import Saliency

    dev = torch.device(device)
    model = model.to(dev).eval()
    saliency = Saliency(_Output(model, key))
    pieces = []
    for start in range(0, x.shape[0], batch_size):
        xb = torch.from_numpy(np.ascontiguousarray(x[start : start + batch_size], dtype=np.float32)).to(dev)
        xb.requires_grad_()  # (batch, marks, bins): a leaf captum differentiates against
        grad = saliency.attribute(xb, target=target, abs=False)  # (batch, marks, bins)
        pieces.append(grad.detach().float().cpu().numpy())
    if not pieces:
        return np.zeros((0, *x.shape[1:]), dtype=np.float32)
    return np.concatenate(pieces)


def mean_input_gradients(
    models: Sequence[torch.nn.Module],
    x: np.ndarray,
    *,
    key: str = "prediction",
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """The mean over genes and over ``models`` of ``input_gradients``: ``(marks, bins)`` float64 (signed)."""
    if not models:
        raise InputError("no models to attribute")
    if x.shape[0] == 0:
        raise InputError("no genes to attribute")
    maps = [input_gradients(m, x, key=key, device=device).astype(np.float64).mean(axis=0) for m in models]
    return np.mean(maps, axis=0)
