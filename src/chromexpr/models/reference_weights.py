"""Checkpoints of the authors' code: AttentiveChrome (QData/AttentiveChrome ``v2PyTorch``, the kipoi
models) and DeepDiff (QData/DeepDiffChrome), loaded into our models.

The reference saves ``torch.save(model.state_dict(), path)`` with its own names::

    rnn_hms.{m}.rnn.{weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._reverse}   level 1, slot m
    rnn_hms.{m}.bin_attention.bin_context_vector                  (64, 1)
    hm_level_rnn_1.rnn.*, hm_level_rnn_1.bin_attention.bin_context_vector   (32, 1)   level 2
    fdiff1_1.{weight, bias}                                        Linear 32 -> 1

and, for DeepDiff, ``rnn_hms2`` / ``rnn_hms3`` / ``rnn_hmsx``, ``hm_level_rnn_2`` / ``_3`` / ``_1x``,
``f1_1``, ``f2_1``, ``predictor_1``, ``predictor_`` (the table :data:`DEEPDIFF_LAYOUTS`). Its LSTMs
are sequence-first, ours batch-first: the weights are the same tensors. Its context vectors are
``(dim, 1)``, ours ``(dim,)``.

``load_reference_weights`` reads such a file with ``torch.load(..., weights_only=True)`` (a
downloaded file never runs code; files saved on a GPU load on the CPU), checks every name and shape
against the card's model and loads it strictly. A whole pickled model (``torch.save(model)``, as
DeepDiffChrome's ``train.py`` writes) is refused: load it once in the reference code and save its
``state_dict()``. ``to_reference_names`` is the inverse mapping.
"""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from chromexpr.errors import InputError
from chromexpr.io.weights_only import pickled_global, refusal
from chromexpr.models.attentivechrome import AttentiveChrome
from chromexpr.models.deepdiff import AttentiveChromeDiff, DeepDiff
from chromexpr.models.registry import build_model, load_card

BIN, MARK, LINEAR = "bin", "mark", "linear"

#: (our module, the reference's module, kind) in the reference's state-dict order
Layout = list[tuple[str, str, str]]

ATTENTIVECHROME_LAYOUT: Layout = [
    ("bin_encoder", "rnn_hms", BIN),
    ("mark_encoder", "hm_level_rnn_1", MARK),
    ("classifier", "fdiff1_1", LINEAR),
]

_RAW: Layout = [
    ("raw_encoder", "rnn_hms", BIN),
    ("mark_encoder", "hm_level_rnn_1", MARK),
    ("head", "fdiff1_1", LINEAR),
]
_CELL_HEADS: Layout = [("head_a", "f1_1", LINEAR), ("head_b", "f2_1", LINEAR)]

DEEPDIFF_LAYOUTS: dict[str, Layout] = {
    "raw_d": _RAW,
    "raw_c": _RAW,
    "raw": _RAW,
    "aux": [
        ("encoder_a", "rnn_hms", BIN),
        ("encoder_b", "rnn_hms2", BIN),
        ("mark_encoder_a", "hm_level_rnn_1", MARK),
        ("mark_encoder_b", "hm_level_rnn_2", MARK),
        *_CELL_HEADS,
        ("head_hidden", "predictor_1", LINEAR),
        ("head", "predictor_", LINEAR),
    ],
    "raw_aux": [
        ("encoder_a", "rnn_hms", BIN),
        ("raw_encoder", "rnn_hms3", BIN),
        ("encoder_b", "rnn_hms2", BIN),
        ("mark_encoder_a", "hm_level_rnn_1", MARK),
        ("mark_encoder", "hm_level_rnn_3", MARK),
        ("mark_encoder_b", "hm_level_rnn_2", MARK),
        *_CELL_HEADS,
        ("head", "predictor_", LINEAR),
    ],
    "aux_siamese": [
        ("shared_encoder", "rnn_hms", BIN),
        ("mark_encoder_a", "hm_level_rnn_1", MARK),
        ("mark_encoder_b", "hm_level_rnn_2", MARK),
        *_CELL_HEADS,
        ("head_hidden", "predictor_1", LINEAR),
        ("head", "predictor_", LINEAR),
    ],
    "raw_aux_siamese": [
        ("shared_encoder", "rnn_hms", BIN),
        ("raw_encoder", "rnn_hmsx", BIN),
        ("mark_encoder_a", "hm_level_rnn_1", MARK),
        ("mark_encoder", "hm_level_rnn_1x", MARK),
        ("mark_encoder_b", "hm_level_rnn_2", MARK),
        *_CELL_HEADS,
        ("head", "predictor_", LINEAR),
    ],
}

_SAVE_HINT = "in the reference code: torch.save(model.state_dict(), path)"


def reference_layout(model: nn.Module) -> Layout:
    """The module mapping of an AttentiveChrome or DeepDiff model (see :data:`DEEPDIFF_LAYOUTS`)."""
    if isinstance(model, AttentiveChrome):
        return ATTENTIVECHROME_LAYOUT
    if isinstance(model, DeepDiff):
        return DEEPDIFF_LAYOUTS[model.variant]
    raise InputError(
        f"no reference checkpoint layout for {type(model).__name__}",
        hint="AttentiveChrome and DeepDiff models have one; for AttentiveChromeDiff use its cell_a / cell_b",
    )


def name_pairs(model: nn.Module) -> list[tuple[str, str]]:
    """``(our name, reference name)`` of every tensor of ``model``, in the reference's order."""
    pairs: list[tuple[str, str]] = []
    for ours, ref, kind in reference_layout(model):
        module = model.get_submodule(ours)
        if kind == BIN:
            for m, lstm in enumerate(module.lstms):
                pairs += [(f"{ours}.lstms.{m}.{n}", f"{ref}.{m}.rnn.{n}") for n, _ in lstm.named_parameters()]
                pairs.append((f"{ours}.attention.{m}.context", f"{ref}.{m}.bin_attention.bin_context_vector"))
        elif kind == MARK:
            pairs += [(f"{ours}.lstm.{n}", f"{ref}.rnn.{n}") for n, _ in module.lstm.named_parameters()]
            pairs.append((f"{ours}.attention.context", f"{ref}.bin_attention.bin_context_vector"))
        else:
            pairs += [(f"{ours}.{n}", f"{ref}.{n}") for n, _ in module.named_parameters()]
    return pairs


def _reference_shape(name: str, tensor: torch.Tensor) -> torch.Size:
    # context vectors are (dim, 1) columns in the reference
    return torch.Size([tensor.shape[0], 1]) if name.endswith("bin_context_vector") else tensor.shape


def to_reference_names(model: nn.Module) -> OrderedDict[str, torch.Tensor]:
    """The state dict of an AttentiveChrome or DeepDiff model in the reference's names and shapes.

    What the reference's ``model.state_dict()`` would hold for the same weights, so
    ``torch.save(to_reference_names(model), path)`` writes a file the reference code (and
    :func:`load_reference_weights`) loads. Tensors are detached CPU copies.

    Raises:
        InputError: for any other model (AttentiveChromeDiff: convert ``model.cell_a`` and
            ``model.cell_b`` separately).
    """
    state = model.state_dict()
    pairs = name_pairs(model)
    covered = {ours for ours, _ in pairs}
    if covered != set(state):  # pragma: no cover - a model changed without this table
        raise AssertionError(f"reference layout misses {sorted(set(state) - covered)}")
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for ours, ref in pairs:
        tensor = state[ours].detach().cpu().clone()
        out[ref] = tensor.reshape(_reference_shape(ref, tensor))
    return out


def read_reference_state(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from ``path`` with ``torch.load(map_location="cpu", weights_only=True)``.

    Raises:
        InputError: naming the file when it is missing, not a PyTorch file, holds anything but
            tensors (e.g. a pickled model object, which could run code), or is not a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("checkpoint not found", path=path, hint="give the reference's state-dict file (.pt)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        name = pickled_global(err)
        if name is not None:
            raise InputError(
                f"refused: not a plain state dict, it pickles {name}, and loading it could run code",
                path=path,
                hint=f"load the whole model once where you trust it and save its weights only, {_SAVE_HINT}",
            ) from err
        raise InputError(f"not a readable PyTorch checkpoint ({refusal(err)})", path=path, hint=_SAVE_HINT) from err
    except Exception as err:  # noqa: BLE001 - zip, EOF and format errors of torch.load differ by version
        raise InputError(
            f"not a readable PyTorch checkpoint (torch.load: {type(err).__name__}: {err})", path=path, hint=_SAVE_HINT
        ) from err
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise InputError(
            f"not a state dict (a mapping of names to tensors), got {type(state).__name__}", path=path, hint=_SAVE_HINT
        )
    return dict(state)


def _level1_count(state: Mapping[str, torch.Tensor], prefix: str) -> int:
    """Number of level-1 encoders ``prefix.{m}`` in a reference state dict."""
    found = set()
    for name in state:
        head, _, rest = name.partition(".")
        index, _, _ = rest.partition(".")
        if head == prefix and index.isdigit():
            found.add(int(index))
    return len(found)


def check_reference_state(
    model: nn.Module, state: Mapping[str, torch.Tensor], *, path: str | Path, n_marks: int
) -> None:
    """Raise ``InputError`` naming ``path`` and the first mismatch of ``state`` against ``model``.

    Order of the checks: the number of marks (level-1 encoders of the first encoder module, e.g.
    ``rnn_hms``); then, walking the expected names in the reference's order, the first missing name
    or wrong shape; then the first name of the file (in file order) the model has no place for.
    """
    expected = to_reference_names(model)
    ours_of = {ref: ours for ours, ref in name_pairs(model)}
    first_ours, first_ref, _ = next(entry for entry in reference_layout(model) if entry[2] == BIN)
    module = model.get_submodule(first_ours)
    slots_per_mark = module.n_marks // n_marks
    found = _level1_count(state, first_ref)
    if found and found != module.n_marks and found % slots_per_mark == 0:
        raise InputError(
            f"the checkpoint has level-1 encoders for {found // slots_per_mark} marks ({found} in "
            f"'{first_ref}'), but {n_marks} marks were given",
            path=path,
            hint="give the marks in the order of the checkpoint's encoders (the training data's column order); "
            "or the card's model (DeepDiff variant) is not the checkpoint's",
        )
    missing = [n for n in expected if n not in state]
    unexpected = [n for n in state if n not in expected]
    wrong = [n for n in expected if n in state and tuple(state[n].shape) != tuple(expected[n].shape)]
    if not (missing or unexpected or wrong):
        return
    totals = f"{len(missing)} missing, {len(unexpected)} unexpected, {len(wrong)} of the wrong shape"
    first = next(n for n in expected if n in missing or n in wrong) if (missing or wrong) else None
    if first is not None and first in wrong:
        problem = (
            f"'{first}' has shape {tuple(state[first].shape)}, expected {tuple(expected[first].shape)} "
            f"(our '{ours_of[first]}')"
        )
    elif first is not None:
        problem = f"missing '{first}' (shape {tuple(expected[first].shape)})"
        if unexpected:
            problem += f"; the file has unexpected '{unexpected[0]}'"
    else:
        problem = f"unexpected '{unexpected[0]}'"
    cls = type(model).__name__ + (f" {model.variant}" if isinstance(model, DeepDiff) else "")
    raise InputError(
        f"checkpoint does not fit the card's {cls}: {problem} ({totals})",
        path=path,
        hint="check --card (the variant) and that the file is a state dict of the reference implementation",
    )


def _load_into(model: nn.Module, path: str | Path, n_marks: int) -> None:
    state = read_reference_state(path)
    check_reference_state(model, state, path=path, n_marks=n_marks)
    ours = model.state_dict()
    mapped = {o: state[r].reshape(ours[o].shape) for o, r in name_pairs(model)}
    model.load_state_dict(mapped, strict=True)


def load_reference_weights(
    card: str | Path | Mapping[str, Any],
    path: str | Path | Sequence[str | Path],
    *,
    marks: Sequence[str],
    bins: int | None = None,
) -> nn.Module:
    """Build the card's model for a reference checkpoint and load the checkpoint into it.

    Args:
        card: a card name, path or dict of class ``AttentiveChrome``, ``DeepDiff`` (its variant must
            be the checkpoint's) or ``AttentiveChromeDiff`` (then ``path`` is two files, the
            AttentiveChrome checkpoints of cell A and of cell B).
        path: the state-dict file(s) the reference code saved.
        marks: the marks in the order of the checkpoint's level-1 encoders (the column order of the
            data it was trained on); they become the model's ``input.marks``.
        bins: bins per gene of the inputs (default: the card's); the LSTMs accept any length.

    Returns:
        The model in eval mode. For AttentiveChrome, ``logits`` equals the reference's linear output
        (before any sigmoid); for DeepDiff, ``prediction`` / ``prediction_a`` / ``prediction_b`` and
        the attention maps equal the reference's outputs (its bin attention reshaped to
        ``(batch, slots, bins)``). The global torch RNG is left as it was.

    Raises:
        InputError: naming the file and the first mismatch: a missing or unexpected name, a shape
            (expected vs found), a number of marks that is not the checkpoint's; or a file that is not
            a plain state dict.
    """
    data = copy.deepcopy(load_card(card))
    data["input"]["marks"] = list(marks)
    if bins is not None:
        data["input"]["bins"] = bins
    data = load_card(data)  # validates the marks (unique names) and bins
    n_marks, n_bins = len(data["input"]["marks"]), int(data["input"]["bins"])
    if data["class"] not in ("AttentiveChrome", "DeepDiff", "AttentiveChromeDiff"):
        raise InputError(
            f"card '{data['name']}' (class {data['class']}) has no reference checkpoint format",
            key="class",
            hint="use an attentivechrome, deepdiff_* or attentivechrome_diff card",
        )
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    wanted = 2 if data["class"] == "AttentiveChromeDiff" else 1
    if len(paths) != wanted:
        raise InputError(
            f"card '{data['name']}' takes {wanted} checkpoint file(s), {len(paths)} given",
            hint="attentivechrome_diff: the AttentiveChrome checkpoints of cell A then cell B; other cards: one file",
        )
    with torch.random.fork_rng(devices=[]):  # the initial weights are overwritten: leave the RNG alone
        # n_marks / n_bins as overrides: no parameter-count warning for another number of marks
        model = build_model(data, overrides={"n_marks": n_marks, "n_bins": n_bins})
    if isinstance(model, AttentiveChromeDiff):
        for part, file in zip((model.cell_a, model.cell_b), paths, strict=True):
            _load_into(part, file, n_marks)
    else:
        _load_into(model, paths[0], n_marks)
    return model.eval()
