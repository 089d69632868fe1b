"""A user's microstructure profile → the coercivity models' mask (spsll/prediction/microstructure.py): tables and
.npy files, anisotropy profiles, resampling, and every refusal with its reason."""

import numpy as np
import pytest

from spsll.prediction.microstructure import profile_to_mask, read_profile
from spsll.prediction.observed import InputError

CELL, N = 0.339, 256


def _mask(seed=0):
    m = np.zeros(N)
    m[np.random.default_rng(seed).choice(N, 30, replace=False)] = 1
    return m


def _table(path, values, spacing=CELL):
    path.write_text("x_nm,value\n" + "".join(f"{(i + 0.5) * spacing:.6f},{v:g}\n" for i, v in enumerate(values)))
    return path


def test_a_table_and_an_npy_give_the_same_mask(tmp_path):
    m = _mask()
    v, dx, _ = read_profile(_table(tmp_path / "p.csv", m), None)
    assert dx == pytest.approx(CELL, rel=1e-5)
    got, notes = profile_to_mask(v, dx, "mask", CELL, N)
    np.testing.assert_array_equal(got, m)
    assert notes == []
    np.save(tmp_path / "p.npy", m)
    v2, dx2, _ = read_profile(tmp_path / "p.npy", CELL)
    np.testing.assert_array_equal(profile_to_mask(v2, dx2, "mask", CELL, N)[0], m)


def test_an_anisotropy_profile_and_graded_values_become_a_mask():
    kappa = 1 - _mask()
    kappa[5] = 0.3                                       # graded: rounded to a defect (1 − 0.3 ≥ 0.5)
    got, notes = profile_to_mask(kappa, CELL, "anisotropy", CELL, N)
    assert got[5] == 1 and got.sum() == _mask().sum() + (1 - _mask()[5]) and "graded" in notes[0]


def test_a_finer_profile_is_resampled_onto_the_model_cells():
    fine = np.repeat(_mask(), 2)                          # the same chain at half the cell
    got, notes = profile_to_mask(fine, CELL / 2, "mask", CELL, N)
    np.testing.assert_array_equal(got, _mask())
    assert "resampled" in notes[0]


@pytest.mark.parametrize(("values", "spacing", "kind", "message"), [
    (np.full(N, 2.0), CELL, "mask", "must lie in \\[0, 1\\]"),
    (-np.ones(N), CELL, "anisotropy", "negative anisotropy"),
    (np.full(N, 1.5), CELL, "anisotropy", "above the material's"),
    (np.zeros(N), 3 * CELL, "mask", "factor 3.00"),
    (np.zeros(200), CELL, "mask", "the model predicts chains of 86.78 nm"),
    (np.zeros(N), CELL, "grains", "profile_kind must be one of"),
])
def test_bad_profiles_are_refused_naming_the_problem(values, spacing, kind, message):
    with pytest.raises(InputError, match=message):
        profile_to_mask(values, spacing, kind, CELL, N)


def test_bad_files_are_refused(tmp_path):
    np.save(tmp_path / "p.npy", _mask())
    with pytest.raises(InputError, match="needs its cell size"):
        read_profile(tmp_path / "p.npy", None)
    np.save(tmp_path / "nan.npy", np.where(np.arange(N) == 7, np.nan, 0.0))
    with pytest.raises(InputError, match="index \\[7\\]"):
        read_profile(tmp_path / "nan.npy", CELL)
    uneven = tmp_path / "uneven.csv"
    uneven.write_text("".join(f"{x:.4f},0\n" for x in np.cumsum(np.linspace(0.3, 0.4, 40))))
    with pytest.raises(InputError, match="spacing varies"):
        read_profile(uneven, None)
    with pytest.raises(InputError, match="disagrees with the table"):
        read_profile(_table(tmp_path / "p.csv", _mask()), 0.5)
