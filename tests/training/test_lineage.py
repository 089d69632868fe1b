"""train.py refuses an existing data file generated with other settings than its config, naming them
and the command that regenerates it; the file is left as it was."""

import hashlib
import shlex
import shutil
import subprocess
import sys

import h5py
import pytest
from hydra import compose, initialize_config_dir

from spsll.data.hdf5 import DatasetError
from spsll.training.run import prepare_dataset
from tests.training.conftest import ROOT, train


def config(*overrides):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("train", overrides=["model=width_regressor", "dataset=domain_wall_small", *overrides])


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def walls(small_data, tmp_path):
    """A private copy of the shared wall file (generated with dataset=domain_wall_small, seed 0)."""
    path = tmp_path / "walls.h5"
    shutil.copy(small_data["domain_wall"], path)
    return path


def test_matching_file_is_used_as_it_is(walls):
    before = digest(walls)
    assert prepare_dataset(config(f"dataset.path={walls}"), "domain_wall") == walls
    assert digest(walls) == before


def test_other_seed_is_refused_with_the_command_that_regenerates(walls, tmp_path):
    before = digest(walls)
    out = train(tmp_path, "model=width_regressor", "dataset=domain_wall_small", f"dataset.path={walls}",
                "dataset_seed=1", "logger=none")
    assert out.returncode != 0
    assert "generated with other settings than this config (seed: file 0, config 1)" in out.stderr, out.stderr[-3000:]
    cmd = (f"python generate.py dataset=domain_wall_small solver=spsll material=fept seed=1 dataset.path={walls} "
           "overwrite=true")
    assert cmd in out.stderr and "or point dataset.path at another file" in out.stderr
    assert digest(walls) == before and not (tmp_path / "run" / "checkpoints").exists()
    # the command in the message makes the file this config asks for
    regen = subprocess.run([sys.executable, *shlex.split(cmd)[1:], "progress=false", "figures=false", "threads=1"],
                           cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert regen.returncode == 0, regen.stderr[-3000:]
    assert prepare_dataset(config(f"dataset.path={walls}", "dataset_seed=1"), "domain_wall") == walls
    with pytest.raises(DatasetError, match=r"seed: file 1, config 0"):
        prepare_dataset(config(f"dataset.path={walls}"), "domain_wall")


def test_other_sigma_range_and_measurement_are_named(walls):
    cfg = config(f"dataset.path={walls}", "dataset.sigma_nm=[1.0,50.0]", "dataset.measurement.n_harmonics=300")
    with pytest.raises(DatasetError) as err:
        prepare_dataset(cfg, "domain_wall")
    msg = str(err.value)
    assert "dataset.sigma_nm: file [1.0, 100.0], config [1.0, 50.0]" in msg
    assert "dataset.measurement.n_harmonics: file 700, config 300" in msg
    assert "seed" not in msg.split("(")[1].split(")")[0]  # only the keys that differ
    assert "python generate.py <dataset/solver/material overrides> seed=0" in msg  # no Hydra run: the pattern


def test_other_solver_is_refused(walls):
    with pytest.raises(DatasetError, match=r"solver.name: file 'spsll', config 'psll'"):
        prepare_dataset(config(f"dataset.path={walls}", "solver=psll"), "domain_wall")


def test_file_without_a_request_is_refused(walls):
    with h5py.File(walls, "r+") as f:
        del f.attrs["request"]
    with pytest.raises(DatasetError, match="records no generation settings. Regenerate it for this config"):
        prepare_dataset(config(f"dataset.path={walls}"), "domain_wall")
