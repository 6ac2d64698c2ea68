"""The optimizer and learning-rate schedule a card's ``training`` section asks for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from chromexpr.errors import InputError


def make_optimizer(params, training: Mapping[str, Any]) -> torch.optim.Optimizer:
    """The card's optimizer: ``sgd``, ``adam``, ``adamw`` or ``rmsprop`` with its lr, momentum
    (SGD, RMSprop) and weight decay."""
    name = str(training.get("optimizer") or "").lower()
    lr = float(training["lr"])
    momentum = float(training.get("momentum") or 0.0)
    weight_decay = float(training.get("weight_decay") or 0.0)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise InputError(
        f"unknown optimizer {training.get('optimizer')!r}",
        key="training.optimizer",
        hint="use sgd, adam, adamw or rmsprop",
    )


def make_scheduler(
    optimizer: torch.optim.Optimizer, training: Mapping[str, Any], max_epochs: int, *, rescale: bool
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """``null`` / ``none``: constant lr. ``cosine`` (or ``{name: cosine, t_max, eta_min}``): cosine
    annealing, stepped once per epoch, to ``eta_min`` (1e-6) after ``t_max`` epochs (the card's
    value, else ``max_epochs``; ``rescale`` = max_epochs was overridden, so anneal over that)."""
    spec = training.get("scheduler")
    if spec is None or spec == "none":
        return None
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping) or spec.get("name") != "cosine":
        raise InputError(
            f"unknown scheduler {spec!r}",
            key="training.scheduler",
            hint="use null or {name: cosine, t_max: <epochs>, eta_min: 1.0e-6}",
        )
    t_max = max_epochs if rescale or spec.get("t_max") is None else int(spec["t_max"])
    eta_min = float(spec.get("eta_min", 1e-6))
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=t_max, eta_min=eta_min)
