"""Sampling plans for (σ, τ) in nm: uniform, Latin hypercube, Sobol (scipy.stats.qmc), explicit."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import qmc

from spsll.data.config import DatasetConfig


def sample_parameters(cfg: DatasetConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(σ_nm, τ_nm), each of length ``cfg.n_samples``, reproducible from ``seed``."""
    if cfg.sampling == "explicit":
        pts = np.asarray(cfg.points, dtype=np.float64)
        return pts[:, 0].copy(), pts[:, 1].copy()
    n = cfg.n_samples
    if cfg.sampling == "uniform":
        u = np.random.default_rng(seed).random((n, 2))
    elif cfg.sampling == "lhs":
        u = qmc.LatinHypercube(d=2, seed=seed).random(n)
    else:  # sobol; balance properties want n = 2^m, but any n is a valid low-discrepancy prefix
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            u = qmc.Sobol(d=2, scramble=True, seed=seed).random(n)
    lo = np.array([cfg.sigma_nm[0], cfg.tau_nm[0]])
    hi = np.array([cfg.sigma_nm[1], cfg.tau_nm[1]])
    x = lo + (hi - lo) * u
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
