"""Damaged data files (written here with h5py from tiny real ones): each is refused by the reader, the
DataModule and so train.py and evaluate.py, with a message naming the array, and nothing is written."""

import hashlib
import shutil

import h5py
import numpy as np
import pytest

from spsll.data.datamodule import SPSLLDataModule
from spsll.data.generation import generate
from spsll.data.hdf5 import DatasetError
from spsll.data.reader import load, open_dataset
from tests.data.conftest import make_request

N = 10
MEASUREMENT = {"dispersion": {"n_cells": 64, "duration_ps": 2.0, "store_spectrum": True, "spectrum_max_thz": 4.0},
               "domain_wall": {"n_cells": 128, "n_harmonics": 200, "n_error_harmonics": 40}}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One small, valid file of each kind (10 samples: 8 train, 1 val, 1 test)."""
    folder = tmp_path_factory.mktemp("tiny")
    return {kind: generate(make_request(kind, folder / f"{kind}.h5", n_samples=N, chunk_size=N,
                                        measurement=MEASUREMENT[kind]), progress=False)
            for kind in MEASUREMENT}


def replace_array(f, name, data):
    del f[name]
    f[name] = data


def _shorter_freq(f):
    replace_array(f, "freq_thz", f["freq_thz"][:, :-1])


def _shorter_mz(f):
    replace_array(f, "mz", f["mz"][:, :-2])


def _shorter_f_axis(f):
    replace_array(f, "f_thz", f["f_thz"][:-1])


def _nan_rows(f):
    data = f["freq_refined_thz"][:]
    data[[2, 5], 7] = np.nan
    f["freq_refined_thz"][...] = data


def _inf_width(f):
    data = f["width_nm"][:]
    data[0] = np.inf
    f["width_nm"][...] = data


def _nan_sigma(f):
    data = f["sigma_nm"][:]
    data[3] = np.nan
    f["sigma_nm"][...] = data


def _bad_split(f):
    split = f["split"][:]
    split[[0, 4, 6]] = [3, 7, 7]
    f["split"][...] = split


CASES = {
    "dispersion K != len(k)": ("dispersion", _shorter_freq,
                               r"freq_thz has shape \(10, 63\), but the axis k_rad_per_nm has 64 points"),
    "wall N != len(x)": ("domain_wall", _shorter_mz, r"mz has shape \(10, 126\), but the axis x_nm has 128 points"),
    "spectrum != (len(f), len(k))": ("dispersion", _shorter_f_axis,
                                     r"spectrum has shape \(10, 10, 64\), expected .* = \(n, 9, 64\)"),
    "NaN in two rows": ("dispersion", _nan_rows, "freq_refined_thz has NaN or inf in 2 of 10 rows"),
    "inf width": ("domain_wall", _inf_width, "width_nm has NaN or inf in 1 of 10 rows"),
    "NaN sigma": ("domain_wall", _nan_sigma, "sigma_nm has NaN or inf in 1 of 10 rows"),
    "split codes": ("dispersion", _bad_split,
                    r"split holds the code\(s\) 3 \(1 row\), 7 \(2 rows\); only 0 train, 1 val, 2 test"),
}


def damaged_copy(tiny, tmp_path, kind, edit):
    path = tmp_path / f"damaged_{kind}.h5"
    shutil.copy(tiny[kind], path)
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", list(CASES))
def test_damaged_file_is_refused_everywhere_and_left_alone(tiny, tmp_path, case):
    kind, edit, match = CASES[case]
    path = damaged_copy(tiny, tmp_path, kind, edit)
    before, files = digest(path), sorted(tmp_path.iterdir())
    with pytest.raises(DatasetError, match=match):
        open_dataset(path, kind=kind)
    with pytest.raises(DatasetError, match=match):
        load(path, split=0)
    with pytest.raises(DatasetError, match=match):
        SPSLLDataModule(path, kind, batch_size=4)
    assert digest(path) == before and sorted(tmp_path.iterdir()) == files  # nothing written


def test_the_undamaged_files_pass(tiny):
    for kind, path in tiny.items():
        with open_dataset(path, kind=kind) as f:
            assert len(f["split"]) == N
        dm = SPSLLDataModule(path, kind, batch_size=4)
        assert len(next(iter(dm.train_dataloader()))["params"]) == 4


def test_unconverged_walls_are_flagged_not_refused(tiny, tmp_path):
    def unconverged(f):
        flags = f["converged"][:]
        flags[:3] = False
        f["converged"][...] = flags

    path = damaged_copy(tiny, tmp_path, "domain_wall", unconverged)
    assert int((~load(path)["converged"]).sum()) == 3
    SPSLLDataModule(path, "domain_wall", batch_size=4)


def test_value_scan_can_be_skipped_by_a_caller_that_checked(tiny, tmp_path):
    """The DataModule scans the values once; the per-worker handles open without scanning again."""
    path = damaged_copy(tiny, tmp_path, "dispersion", _nan_rows)
    with open_dataset(path, kind="dispersion", check_values=False) as f:
        assert np.isnan(f["freq_refined_thz"][2, 7])
