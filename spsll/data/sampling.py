"""Sampling plans for (σ, τ) in nm, and B in T for the skyrmion kind: uniform, Latin hypercube, Sobol
(scipy.stats.qmc), explicit.

The skyrmion kind's field B is the plan's third coordinate (one joint plan of dimension 3, so a Latin
hypercube or Sobol plan stratifies B with σ and τ); the other kinds' plans are two-dimensional and
unchanged (docs/data.md#sampling).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import qmc

from spsll.data.config import DatasetConfig


def sample_points(cfg: DatasetConfig, seed: int) -> np.ndarray:
    """The plan (n, d) of ``cfg.n_samples`` points, reproducible from ``seed``: columns σ_nm, τ_nm and, for
    a config with a field range (``B_T``), the field in T."""
    if cfg.sampling == "explicit":
        return np.asarray(cfg.points, dtype=np.float64)
    box = [cfg.sigma_nm, cfg.tau_nm] + ([cfg.B_T] if cfg.B_T is not None else [])
    d, n = len(box), cfg.n_samples
    if cfg.sampling == "uniform":
        u = np.random.default_rng(seed).random((n, d))
    elif cfg.sampling == "lhs":
        u = qmc.LatinHypercube(d=d, seed=seed).random(n)
    else:  # sobol; balance properties want n = 2^m, but any n is a valid low-discrepancy prefix
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            u = qmc.Sobol(d=d, scramble=True, seed=seed).random(n)
    lo = np.array([b[0] for b in box], dtype=np.float64)
    hi = np.array([b[1] for b in box], dtype=np.float64)
    return lo + (hi - lo) * u


def sample_parameters(cfg: DatasetConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(σ_nm, τ_nm), each of length ``cfg.n_samples``, reproducible from ``seed``."""
    x = sample_points(cfg, seed)
    return x[:, 0].copy(), x[:, 1].copy()


def make_split(n: int, fractions, seed: int) -> np.ndarray:
    """Split labels (0 train, 1 val, 2 test) from a seeded permutation, fixed at generation."""
    perm = np.random.default_rng([seed, 20240]).permutation(n)
    n_train = int(round(fractions[0] * n))
    n_val = int(round(fractions[1] * n))
    labels = np.full(n, 2, dtype=np.int8)
    labels[perm[:n_train]] = 0
    labels[perm[n_train : n_train + n_val]] = 1
    return labels
