"""Why ``torch.load(..., weights_only=True)`` refused a file, in one line.

torch's own message is several paragraphs and ends with the advice to load the file with
``weights_only=False``, which would run whatever code the file pickles: never show it for a file a person
may have placed. :func:`refusal` keeps what the file held instead.
"""

from __future__ import annotations

import re

_GLOBAL = re.compile(r"(?:Unsupported global: GLOBAL|load unsupported GLOBAL) ([^\s,]+)")
_DETAIL = re.compile(r"WeightsUnpickler error:\s*(.+?)\s*(?:\n\n|$)", re.S)


def pickled_global(err: BaseException) -> str | None:
    """The Python object (``module.name``) a refused file pickles, when torch names one."""
    found = _GLOBAL.search(str(err))
    return found.group(1) if found else None


def refusal(err: BaseException) -> str:
    """One line on why the weights-only unpickler (or the zip reader under it) stopped."""
    name = pickled_global(err)
    if name is not None:
        return f"it pickles {name}, and loading it could run code; refused unexecuted"
    text = str(err)
    detail = _DETAIL.search(text)
    if detail is not None:
        return f"the weights-only unpickler stopped: {detail.group(1).strip()}"
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(err).__name__}: {first[:200]}" if first else type(err).__name__
