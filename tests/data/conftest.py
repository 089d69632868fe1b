import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from spsll.data.config import dataset_config
from spsll.data.generation import GenerationRequest
from spsll.physics.solvers import SolverConfig

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def load_yaml(rel):
    return OmegaConf.to_container(OmegaConf.load(ROOT / "conf" / rel), resolve=True)


def make_request(kind, path, seed=0, solver="spsll", solver_overrides=None, **overrides) -> GenerationRequest:
    base = load_yaml(f"dataset/{kind}.yaml")
    base.update(path=str(path), **overrides)
    solver_cfg = {**load_yaml(f"solver/{solver}.yaml"), **(solver_overrides or {})}
    return GenerationRequest(dataset_config(base), load_yaml("material/fept.yaml"),
                             SolverConfig.from_config(solver_cfg), seed)


@pytest.fixture
def wall_request(tmp_path):
    def make(name="dw.h5", **kw):
        kw.setdefault("n_samples", 40)
        kw.setdefault("chunk_size", 8)
        return make_request("domain_wall", tmp_path / name, **kw)
    return make
