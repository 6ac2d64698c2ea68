"""``model.skops``: scikit-learn runs' estimators stored and read back without pickle."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline

from chromexpr.errors import InputError
from chromexpr.models.classical import MarkMeans
from chromexpr.training.sklearn_file import load_sklearn_file, save_sklearn_file, untrusted_types


class Planted:
    """What a planted file could hold: loading its pickle runs a command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def fitted_forest() -> tuple[object, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5 * 4))  # (genes, marks * bins)
    y = (x[:, :4].mean(axis=1) > 0).astype(int)
    model = make_pipeline(MarkMeans(n_marks=5, n_bins=4), RandomForestClassifier(n_estimators=5, random_state=0))
    return model.fit(x, y), x


def test_a_fitted_estimator_round_trips_and_equal_estimators_give_equal_files(tmp_path: Path) -> None:
    model, x = fitted_forest()
    a = save_sklearn_file(tmp_path / "a" / "model.skops", model)
    b = save_sklearn_file(tmp_path / "b" / "model.skops", model)
    assert a.read_bytes() == b.read_bytes()  # members carry a fixed date
    with zipfile.ZipFile(a) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
    assert untrusted_types(a) == []  # MarkMeans and the trees are the types chromexpr writes
    loaded = load_sklearn_file(a)
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))


def test_a_planted_pickle_is_refused_and_runs_no_code(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    path = tmp_path / "model.skops"
    path.write_bytes(pickle.dumps(Planted(marker)))
    with pytest.raises(InputError, match="not a chromexpr scikit-learn model file") as info:
        load_sklearn_file(path)
    assert not marker.exists()
    assert info.value.path == str(path) and "re-train the run" in (info.value.hint or "")


class Foreign:
    """A type chromexpr never writes into a model file."""

    def __init__(self) -> None:
        self.value = 1


def test_a_skops_file_naming_other_types_is_refused_by_name(tmp_path: Path) -> None:
    import skops.io

    path = tmp_path / "model.skops"
    path.write_bytes(skops.io.dumps({"estimator": Foreign()}))
    assert untrusted_types(path) == [f"{__name__}.Foreign"]
    with pytest.raises(InputError, match=rf"names types chromexpr does not write \({__name__}\.Foreign\)"):
        load_sklearn_file(path)


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="scikit-learn model file not found"):
        load_sklearn_file(tmp_path / "model.skops")
