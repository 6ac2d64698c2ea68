"""``model.skops``: a scikit-learn run's fitted estimator, stored without pickle.

A run folder can be copied between people and to cluster scratch, so a file in it may have been placed
by someone else. A pickle runs code when it is loaded; this file is written with skops' secure format
(``skops.io``: a zip of a JSON schema and numpy arrays), and :func:`load_sklearn_file` rebuilds only the
types chromexpr itself writes: skops' own trusted types (scikit-learn estimators, numpy), our
estimators' classes (``chromexpr.models.*``) and scikit-learn's internal classes (a fitted tree is
``sklearn.tree._tree.Tree``). A file naming any other type is refused, with the type in the message,
before anything in it is built.

skops names each object by its memory address (``__id__`` in ``schema.json``, and the ``<id>.npy`` member
of each array) and dates the zip members with the time of writing. :func:`_renumber` numbers the objects
0, 1, 2, ... in the order of the schema and the members are dated 1980-01-01
(``chromexpr.io.npz.reproducible_zip``), so equal estimators give equal files, as every other file of a run.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from chromexpr.errors import InputError
from chromexpr.io.atomic import atomic_path
from chromexpr.io.npz import reproducible_zip

#: The file name of a scikit-learn run's model, beside a torch run's ``model.pt``.
SKLEARN_MODEL = "model.skops"
#: Module prefixes of the types a model file may hold beyond skops' default trusted ones.
TRUSTED_PREFIXES = ("chromexpr.models.", "sklearn.")

_HINT = "re-train the run (delete its folder and run the workflow again); chromexpr writes model.skops itself"


def save_sklearn_file(path: str | Path, estimator: Any) -> Path:
    """Write ``estimator`` to ``path`` with skops (deflated, reproducible), atomically."""
    import skops.io

    path = Path(path)
    # compressed once, by reproducible_zip: skops and _renumber store their members as they are
    data = reproducible_zip(_renumber(skops.io.dumps(estimator)))
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
    return path


def _renumber(data: bytes) -> bytes:
    """The skops archive ``data`` with its objects' ``__id__`` (memory addresses) replaced by 0, 1, 2, ... in
    the order the schema names them, and each array member ``<id>.npy`` renamed to match."""
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        schema = json.loads(src.read("schema.json"))
        numbers: dict[int, int] = {}

        def visit(node: Any) -> Any:
            if isinstance(node, dict):
                out = {}
                for key, value in node.items():
                    if key == "__id__" and isinstance(value, int):
                        value = numbers.setdefault(value, len(numbers))
                    elif key == "file" and isinstance(value, str) and value.endswith(".npy"):
                        value = f"{numbers.setdefault(int(value[:-4]), len(numbers))}.npy"
                    out[key] = visit(value)
                return out
            if isinstance(node, list):
                return [visit(value) for value in node]
            return node

        schema = visit(schema)
        out = io.BytesIO()
        with zipfile.ZipFile(out, mode="w", compression=zipfile.ZIP_STORED) as dst:
            for member in src.infolist():
                if member.filename == "schema.json":
                    dst.writestr("schema.json", json.dumps(schema, indent=2))
                else:
                    dst.writestr(f"{numbers[int(member.filename[:-4])]}.npy", src.read(member))
    return out.getvalue()


def _named_types(path: str | Path) -> list[str]:
    """Every type ``path`` names beyond skops' default trusted ones.

    Raises:
        InputError: the file is missing or not a skops file.
    """
    import skops.io

    path = Path(path)
    if not path.is_file():
        raise InputError("scikit-learn model file not found", path=path, hint="run the training job first")
    try:
        names = skops.io.get_untrusted_types(file=path)
    except Exception as err:  # noqa: BLE001 - zip, JSON and schema errors differ by cause
        raise InputError(
            f"not a chromexpr scikit-learn model file (skops: {type(err).__name__}: {err})", path=path, hint=_HINT
        ) from err
    return list(names)


def untrusted_types(path: str | Path) -> list[str]:
    """The types ``path`` names that :func:`load_sklearn_file` refuses (none for a file chromexpr wrote).

    Raises:
        InputError: the file is missing or not a skops file.
    """
    return _refused(_named_types(path))


def _refused(names: list[str]) -> list[str]:
    return [name for name in names if not name.startswith(TRUSTED_PREFIXES)]


def load_sklearn_file(path: str | Path) -> Any:
    """The estimator in ``path``, rebuilt by skops without running code from the file.

    Raises:
        InputError: the file is missing, not a skops file, or names a type chromexpr does not write.
    """
    import skops.io

    trusted = _named_types(path)
    refused = _refused(trusted)
    if refused:
        raise InputError(
            f"refused: the model file names types chromexpr does not write ({', '.join(refused[:5])}); "
            "nothing in it was loaded",
            path=path,
            hint=_HINT,
        )
    try:
        return skops.io.load(path, trusted=trusted)
    except Exception as err:  # noqa: BLE001 - a file that names only our types but does not rebuild
        raise InputError(
            f"not a readable chromexpr scikit-learn model file (skops: {type(err).__name__}: {err})",
            path=path,
            hint=_HINT,
        ) from err
