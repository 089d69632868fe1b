"""Microstructures: RTN defect masks of chains and the hand features of a mask (docs/data.md#microstructures).

A microstructure is the defect indicator d (N,) of a chain of N cells of size a: 1 on a defect cell, 0 on
material. The defect runs are the vacancy runs of the random telegraph noise of mean material length σ
and mean defect length τ (:func:`spsll.physics.defects.masks.vacancy_masks` of (σ, τ), turned over, as
:func:`spsll.physics.defects.soft.rtn_defect_cells` does); each sample's mask comes from a generator
seeded by (mask seed, σ, τ), so it does not depend on the chunk or shard that draws it. The mask seed
mixes the dataset kind into the generation seed: the hysteresis and microstructure datasets share the
sampler but never a mask.

Hand features of one mask (what a model could be given besides the mask): the defect fraction, the
number of defect runs, the longest defect run, and σ̂, τ̂, the maximum-likelihood estimates of the
sampled telegraph signal. Sampled at cell centres the RTN is a two-state Markov chain with the
one-cell transition probabilities

    p_md = (1 − φ)(1 − e^{−a/T}),   p_dm = φ (1 − e^{−a/T}),   φ = σ/(σ + τ),  T = στ/(σ + τ),

(material → defect and back), so with q = p_md + p_dm: T = −a / ln(1 − q), φ = p_dm / q, and

    σ̂ = T̂ q / p_md,   τ̂ = T̂ q / p_dm,

with p_md, p_dm the observed transition frequencies between neighbouring cells. For a ≪ T this is the
mean run length (σ̂ → a / p_md); the plain mean run length would overestimate σ and τ by
(a/T)/(1 − e^{−a/T}) ≈ 1 + a/(2T), 66 % at τ = one cell. Edge cases: no defect cell gives τ̂ = 0 and
σ̂ = N a (a material run that never ends: the chain length is its lower bound); a state never left
within the chain gets its total length likewise; q ≥ 1 (every run one cell: T below the cell size,
unresolved) is clipped to 1 − 10⁻⁶.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass

import numpy as np
import torch

from spsll.physics.checks import require_int_at_least
from spsll.physics.defects.masks import vacancy_masks
from spsll.units import NM

FEATURES = ("sigma_hat_nm", "tau_hat_nm", "longest_defect_run_nm", "defect_count", "defect_fraction")
Q_MAX = 1 - 1e-6  # transition probability above which T is below the cell size and not resolved


@dataclass
class MicrostructureMeasurement:
    """``dataset.measurement`` of ``kind: microstructures``: the chain the masks are drawn on."""

    n_cells: int = 256  # N cells of the material's lattice constant

    def settings(self) -> MicrostructureMeasurement:
        require_int_at_least("dataset.measurement.n_cells", self.n_cells, 8)
        return self


def mask_seed(kind: str, seed: int) -> int:
    """The seed of a dataset's mask generators: a hash of (kind, seed), stable across processes."""
    data = kind.encode() + b"\0" + struct.pack("<q", int(seed))
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") & ((1 << 63) - 1)


def draw_masks(n_cells: int, cell_size: float, sigma_nm, tau_nm, seed: int) -> np.ndarray:
    """Defect masks (B, N) uint8 (1: defect) of the samples (σ_b, τ_b) in nm, one generator per sample."""
    s = torch.as_tensor(np.asarray(sigma_nm, dtype=np.float64)) * NM
    t = torch.as_tensor(np.asarray(tau_nm, dtype=np.float64)) * NM
    occupied = vacancy_masks(n_cells, cell_size, s, t, 1, seed)
    return (1 - occupied).to(torch.uint8).numpy()


def run_lengths(mask: np.ndarray) -> list[np.ndarray]:
    """Per row of ``mask`` (B, N), the lengths (cells) of its runs of 1, left to right."""
    out = []
    for row in np.asarray(mask, dtype=np.int8):
        edges = np.diff(np.concatenate(([0], row, [0])))
        out.append(np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1))
    return out


def mask_features(mask, cell_size: float) -> dict[str, np.ndarray]:
    """The hand features (module docstring) of masks (B, N) of 0/1, lengths in nm; each (B,) float64."""
    d = np.asarray(mask)
    if d.ndim != 2 or d.shape[1] < 2:
        raise ValueError(f"masks must have shape (B, N) with N >= 2, got {d.shape}")
    if not np.isin(d, (0, 1)).all():
        raise ValueError("masks must hold only 0 (material) and 1 (defect)")
    d = d.astype(np.int64)
    a_nm = cell_size / NM
    n = d.shape[1]
    left, right = d[:, :-1], d[:, 1:]
    n_md = ((left == 0) & (right == 1)).sum(1)  # material → defect between neighbouring cells
    n_dm = ((left == 1) & (right == 0)).sum(1)
    stay_m, stay_d = (left == 0).sum(1), (left == 1).sum(1)  # cells with a right neighbour, by state
    defect_cells = d.sum(1)
    material_cells = n - defect_cells
    with np.errstate(divide="ignore", invalid="ignore"):
        p_md = np.where(stay_m > 0, n_md / np.maximum(stay_m, 1), 0.0)
        p_dm = np.where(stay_d > 0, n_dm / np.maximum(stay_d, 1), 0.0)
        q = np.minimum(p_md + p_dm, Q_MAX)
        T = np.where(q > 0, -a_nm / np.log1p(-q), 0.0)
        sigma = np.where(n_md > 0, T * q / np.where(p_md > 0, p_md, 1.0), material_cells * a_nm)
        tau = np.where(n_dm > 0, T * q / np.where(p_dm > 0, p_dm, 1.0), defect_cells * a_nm)
    runs = run_lengths(d)
    return {
        "sigma_hat_nm": sigma.astype(np.float64),
        "tau_hat_nm": tau.astype(np.float64),
        "longest_defect_run_nm": np.array([r.max() if r.size else 0 for r in runs], dtype=np.float64) * a_nm,
        "defect_count": np.array([r.size for r in runs], dtype=np.float64),
        "defect_fraction": defect_cells / n,
    }


def cell_centres_nm(n_cells: int, cell_size: float) -> np.ndarray:
    """x_i = (i + ½) a in nm: the cell centres of a chain starting at 0."""
    return (np.arange(n_cells) + 0.5) * (cell_size / NM)


def check_mean_lengths(dataset, cell_size: float) -> None:
    """σ and τ of every sample of a dataset config at least one cell (its ranges, or its explicit points): a
    mean run shorter than a cell is not resolved, a chain holds whole cells. Raises naming the key."""
    a_nm = cell_size / NM
    explicit = dataset.sampling == "explicit"
    for i, name in enumerate(("sigma_nm", "tau_nm")):
        values = [p[i] for p in dataset.points] if explicit else getattr(dataset, name)
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        key = f"dataset.points (its {name})" if explicit else f"dataset.{name}"
        if not np.isfinite(v).all():
            raise ValueError(f"{key} must be finite (no NaN or inf), got {values}")
        if float(v.min()) < a_nm * (1 - 1e-9):
            raise ValueError(f"{key}: a mean {'defect' if name == 'tau_nm' else 'material'} thickness of "
                             f"{float(v.min()):.4g} nm is below one cell ({a_nm:.4g} nm): the chain holds whole "
                             "cells; raise the minimum to at least one cell")


def compute_microstructures(n_cells: int, cell_size: float, sigma_nm, tau_nm, seed: int) -> dict[str, np.ndarray]:
    """The per-sample arrays of a chunk of ``kind: microstructures`` and the shared axis ``x_nm``."""
    masks = draw_masks(n_cells, cell_size, sigma_nm, tau_nm, mask_seed("microstructures", seed))
    return {"defect_mask": masks, **mask_features(masks, cell_size), "x_nm": cell_centres_nm(n_cells, cell_size)}


def expected_mean_run_cells(sigma_nm: float, tau_nm: float, cell_size: float) -> tuple[float, float]:
    """The mean material and defect run lengths (cells) of the sampled RTN: 1/p_md and 1/p_dm (an
    infinite chain; runs cut by the chain ends aside)."""
    a_nm = cell_size / NM
    phi = sigma_nm / (sigma_nm + tau_nm)
    jump = -math.expm1(-a_nm / (sigma_nm * tau_nm / (sigma_nm + tau_nm)))
    return 1 / ((1 - phi) * jump), 1 / (phi * jump)
