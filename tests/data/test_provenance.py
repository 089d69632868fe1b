"""One place rebuilds the physics of a dataset or a run: the same material, solver, dtype and settings."""

import h5py
import pytest
import torch

from spsll.data.generation import generate
from spsll.data.hdf5 import DatasetError
from spsll.data.provenance import load_material, physics_of_dataset, physics_of_run
from spsll.physics.material import Material
from spsll.physics.measure.dispersion import simulate_dispersions
from tests.data.conftest import ROOT, load_yaml, make_request

NM = 1e-9


def test_material_yaml_matches_the_packaged_default():
    assert load_material(ROOT / "conf" / "material" / "fept.yaml") == Material.fept()


def test_a_dataset_is_resimulated_exactly_as_it_was_made(tmp_path):
    meas = {"n_cells": 64, "duration_ps": 2.0}
    req = make_request("dispersion", tmp_path / "d.h5", sampling="explicit", points=[[20.0, 5.0]], chunk_size=1,
                       measurement=meas)
    path = generate(req, progress=False)
    phys = physics_of_dataset(path, device="cpu")
    # the dataset computes in float32 (conf/dataset/dispersion.yaml): the rebuilt solver does too
    assert phys.kind == "dispersion" and phys.solver.dtype == "float32" and phys.solver.name == "spsll"
    assert phys.material == Material.fept() and phys.sigma_range_nm == (5.0, 50.0)
    again = simulate_dispersions(phys.material, torch.tensor([20 * NM]), torch.tensor([5 * NM]),
                                 solver=phys.solver, settings=phys.settings)
    with h5py.File(path, "r") as f:
        assert again.freq_refined_thz.numpy().tobytes() == f["freq_refined_thz"][:].tobytes()


def test_a_run_config_gives_the_same_physics_as_its_dataset():
    cfg = {"material": load_yaml("material/fept.yaml"), "solver": load_yaml("solver/rtn_ensemble.yaml"),
           "dataset": {**load_yaml("dataset/domain_wall.yaml"), "path": "unused.h5"}}
    phys = physics_of_run(cfg, device="cpu")
    assert phys.kind == "domain_wall" and phys.solver.options["realisations"] == 64
    assert phys.solver.dtype == "float64" and phys.settings.n_cells == 500


def test_bad_sources_are_refused(tmp_path):
    with pytest.raises(DatasetError, match="generation request"):
        physics_of_dataset(tmp_path / "missing.h5")
    with h5py.File(tmp_path / "plain.h5", "w"):
        pass
    with pytest.raises(DatasetError, match="generation request"):
        physics_of_dataset(tmp_path / "plain.h5")
    with pytest.raises(ValueError, match="not a generation request"):
        physics_of_run({"material": {}})
