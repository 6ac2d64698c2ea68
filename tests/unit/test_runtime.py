"""Tests for chromexpr.training.runtime: the deterministic switch without TorchInductor's import cost."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import torch

from chromexpr.training.runtime import deterministic, set_deterministic_algorithms


def test_deterministic_sets_and_restores_the_flags():
    before = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    with deterministic(torch.device("cpu")):
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    ) == before


def test_the_switch_does_not_import_inductor():
    """torch.use_deterministic_algorithms imports torch._inductor (and dynamo, sympy: 1.3-1.8 s); ours sets the
    same eager flag without it, in a fresh process where nothing else imported it."""
    code = textwrap.dedent(
        """
        import sys, torch
        from chromexpr.training.runtime import set_deterministic_algorithms
        set_deterministic_algorithms(True, warn_only=True)
        assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()
        print("torch._inductor" in sys.modules, "torch._dynamo" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_inductor_config_follows_where_it_is_loaded():
    import torch._inductor.config as inductor

    previous = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        set_deterministic_algorithms(True)
        assert inductor.deterministic is True
        set_deterministic_algorithms(False)
        assert inductor.deterministic is False and not torch.are_deterministic_algorithms_enabled()
    finally:
        set_deterministic_algorithms(previous[0], warn_only=previous[1])
