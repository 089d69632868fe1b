"""What ``generate.py`` does with its composed config: validate, generate or merge, summarise."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import h5py
import torch
from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf

from spsll.data.config import dataset_config
from spsll.data.generation import GenerationRequest, generate, merge_shards
from spsll.physics.material import Material
from spsll.physics.solvers import SolverConfig

log = logging.getLogger("generate")


def build_request(cfg: DictConfig) -> GenerationRequest:
    """Validate the composed config at the boundary and turn it into a request."""
    ds = dataset_config(cfg.dataset)
    ds.path = _absolute(ds.path)
    material = OmegaConf.to_container(cfg.material, resolve=True)
    Material.from_config(material)  # validates the constants
    solver = SolverConfig.from_config(OmegaConf.to_container(cfg.solver, resolve=True))
    seed = cfg.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return GenerationRequest(ds, material, solver, seed)


def _absolute(path: str) -> str:
    try:
        return to_absolute_path(path)
    except ValueError:  # outside a Hydra run
        return str(Path(path).absolute())


def run_generate(cfg: DictConfig) -> Path:
    if cfg.get("threads"):
        torch.set_num_threads(int(cfg.threads))
    req = build_request(cfg)
    resolved = OmegaConf.to_yaml(cfg, resolve=True)
    t0 = time.perf_counter()
    if cfg.get("merge", False):
        path = merge_shards(req, overwrite=bool(cfg.get("overwrite", False)))
        log.info("merged %d shards into %s", req.dataset.shard.count, path)
    else:
        path = generate(req, resolved_yaml=resolved, overwrite=bool(cfg.get("overwrite", False)),
                        progress=bool(cfg.get("progress", True)))
    elapsed = time.perf_counter() - t0
    with h5py.File(path, "r") as f:
        n = len(f["sigma_nm"])
        gen_s = f.attrs.get("generation_seconds")
    log.info("%s: %d samples, %s (this command %.1f s%s)", path, n, req.dataset.kind, elapsed,
             f", generation {gen_s:.1f} s" if gen_s is not None else "")
    is_full = req.dataset.shard.count == 1 or cfg.get("merge", False)
    if cfg.get("figures", True) and is_full:
        from spsll.data.figures import dataset_figures

        for p in dataset_figures(path, Material.from_config(req.material)):
            log.info("figure: %s", p)
    return path
