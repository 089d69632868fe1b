"""The skyrmion dataset: relaxed isolated skyrmions over (σ, τ, B) and their labels (docs/data.md#skyrmions).

A chunk of samples (σ_b, τ_b, B_b) is relaxed in one call of
:func:`spsll.physics.measure.skyrmion_ensemble.relax_skyrmions` on a periodic film of N × N cells of the
material's lattice constant, from the skyrmion ansatz of radius ``radius_nm``, each sample with its own
field B_b ẑ along the background, and decided and measured there (survived, radius, Q, pinned,
E(skyrmion) − E(uniform); docs/thresholds.md#definitions). Under a statistical reading (``spsll``,
``spsll_convolution``, ...) a row is the reading's (σ, τ); under ``rtn_ensemble`` it is one explicit
mosaic film, drawn from a generator seeded by a hash of (seed, i) with i the sample's index in the whole
dataset (and hashed again with (σ, τ) by :func:`~spsll.physics.defects.masks.vacancy_masks`), so a
sample's film does not depend on the chunk or shard that relaxes it and repeated explicit points are
independent films. The solver's own ``realisations`` and ``seed`` are not used: one film per sample.

The stored image is the relaxed m_z cropped to C × C cells around the texture, on the periodic box:
with c the core (cell-index units, the centroid of the reversed region of the filled texture; where no
core is left, the ansatz's core: the box centre plus the placement shift), the crop's origin is

    o = round(c − (C/2 − ½)) mod N,   image[j, k] = m_z[(o_x + j) mod N, (o_y + k) mod N],

so the core lies within half a cell of the crop's centre C/2 − ½ (the corner of four cells for even C).
Vacant cells hold m_z = 0; the crop of the vacancy mask (1 vacancy, 0 material) is stored beside it.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass, field

import numpy as np
import torch

from spsll.data.microstructures import mask_seed
from spsll.physics.checks import require_int_at_least, require_scalar_positive
from spsll.physics.defects.masks import vacancy_masks
from spsll.physics.grid import Grid
from spsll.physics.material import Material
from spsll.physics.measure.relaxed_texture import SURVIVAL_Q_TOL
from spsll.physics.measure.skyrmion_ensemble import (
    PinningRule,
    check_box,
    relax_skyrmions,
    require_skyrmion_material,
)
from spsll.physics.solvers import SOLVER_NAMES, SolverConfig
from spsll.units import NM

FIELD_CONVENTION = "B_T is the applied field along +z, the background (the core is -z): B > 0 shrinks the skyrmion"


@dataclass
class SkyrmionMeasurement:
    """``dataset.measurement`` of ``kind: skyrmion``: the film, the stored crop and the relaxation."""

    n_cells: int = 64  # the periodic film is n_cells x n_cells cells of the material's lattice constant
    crop_cells: int = 64  # the stored m_z image: crop_cells x crop_cells cells around the core
    radius_nm: float = 8.0  # the ansatz's core radius
    torque_tol: float = 1.0e-6  # stop at max |m x H| <= torque_tol * Ms
    torque_tol_by_solver: dict = field(default_factory=lambda: {"spsll_convolution": 1.0e-4})
    max_iter: int = 4000  # per relaxation; a skyrmion still moving then is undecided (not a survivor)
    isolated_fraction: float = 0.25  # an isolated skyrmion's radius is at most this fraction of the box
    min_cluster_cells: int = 1  # vacancy clusters of at least this many cells pin ...
    pin_cells: float = 1.5  # ... when within this many cells of the m_z = 0 circle
    min_box_over_T: float = 50.0  # explicit mosaics: the box holds at least this many correlation lengths

    def settings(self) -> SkyrmionMeasurement:
        """Validate the values (the measurement is its own settings)."""
        n = require_int_at_least("dataset.measurement.n_cells", self.n_cells, 8)
        c = require_int_at_least("dataset.measurement.crop_cells", self.crop_cells, 2)
        if c > n:
            raise ValueError(f"dataset.measurement.crop_cells = {c} is larger than the box (n_cells = {n}): the crop "
                             "is cut from the periodic film, so it can hold at most n_cells cells per side")
        require_scalar_positive("dataset.measurement.radius_nm", self.radius_nm)
        for name in ("torque_tol", "isolated_fraction", "pin_cells", "min_box_over_T"):
            require_scalar_positive(f"dataset.measurement.{name}", getattr(self, name))
        if not 0 < self.isolated_fraction <= 0.5:
            raise ValueError(f"dataset.measurement.isolated_fraction must lie in (0, 0.5], got "
                             f"{self.isolated_fraction}")
        for name, tol in dict(self.torque_tol_by_solver or {}).items():
            if name not in SOLVER_NAMES:
                raise ValueError(f"dataset.measurement.torque_tol_by_solver has the key {name!r}, not a solver; "
                                 f"known: {list(SOLVER_NAMES)}")
            require_scalar_positive(f"dataset.measurement.torque_tol_by_solver.{name}", tol)
        require_int_at_least("dataset.measurement.max_iter", self.max_iter, 1)
        require_int_at_least("dataset.measurement.min_cluster_cells", self.min_cluster_cells, 1)
        return self

    def torque_tol_of(self, solver: str) -> float:
        """The stopping torque of ``solver`` (``spsll_convolution``'s stalls at 1e-5–5e-4 Ms on the spike of
        its weight at cell 0, far from the skyrmion: docs/thresholds.md)."""
        return float(dict(self.torque_tol_by_solver or {}).get(solver, self.torque_tol))

    def check_radius(self, cell_size: float) -> None:
        """The ansatz must fit the box: its diameter below the box side."""
        if 2 * self.radius_nm * NM >= self.n_cells * cell_size:
            raise ValueError(f"dataset.measurement.radius_nm = {self.radius_nm} does not fit the film of "
                             f"{self.n_cells} cells of {cell_size / NM:g} nm: the ansatz's diameter must be smaller "
                             "than the box")


def check_request(material: Material, ds, solver: SolverConfig) -> None:
    """What the config alone cannot check, before anything is written: a material that can hold a skyrmion,
    an ansatz that fits the box, and for explicit mosaics a box of at least ``min_box_over_T`` correlation
    lengths at every (σ, τ) the plan can draw (the range's largest T, or each explicit point)."""
    require_skyrmion_material(material)
    meas = ds.measurement
    meas.check_radius(material.a)
    if not solver.solver.explicit_defects:
        return
    if ds.sampling == "explicit":
        s = [p[0] for p in ds.points]
        t = [p[1] for p in ds.points]
    else:  # T = στ/(σ+τ) grows with both: the corner of the box is the largest
        s, t = [ds.sigma_nm[1]], [ds.tau_nm[1]]
    try:
        check_box(Grid((meas.n_cells, meas.n_cells), material.a), torch.tensor(s, dtype=torch.float64) * NM,
                  torch.tensor(t, dtype=torch.float64) * NM, meas.min_box_over_T,
                  name="dataset.points" if ds.sampling == "explicit" else "dataset.sigma_nm/tau_nm")
    except ValueError as err:
        raise ValueError(f"{err} (dataset.measurement.n_cells, dataset.measurement.min_box_over_T)") from None


def sample_mask_seed(seed: int, index: int) -> int:
    """The mosaic seed of sample ``index`` of a skyrmion dataset: a hash of (kind seed, index), stable across
    processes; :func:`vacancy_masks` hashes it with the sample's (σ, τ)."""
    data = struct.pack("<qq", mask_seed("skyrmion", seed), int(index))
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") & ((1 << 63) - 1)


def sample_masks(shape: tuple[int, int], cell_size: float, sigma_nm, tau_nm, index, seed: int,
                 solver: SolverConfig) -> torch.Tensor:
    """Occupation masks (B, Nx, Ny) (1 material, 0 vacancy): one mosaic per sample, seeded per sample."""
    rows = [vacancy_masks(shape, cell_size, [float(s) * NM], [float(t) * NM], 1, sample_mask_seed(seed, i),
                          dtype=solver.torch_dtype, device=solver.torch_device)
            for s, t, i in zip(np.asarray(sigma_nm), np.asarray(tau_nm), np.asarray(index), strict=True)]
    return torch.cat(rows)


def crop_origins(centres: np.ndarray, n: int, crop: int) -> np.ndarray:
    """Origins (B, 2) of the crops whose centre C/2 − ½ is nearest the points ``centres`` (B, 2, cell
    indices), on the periodic box of n cells (module docstring)."""
    return np.mod(np.floor(centres - (crop / 2 - 0.5) + 0.5).astype(np.int64), n)


def periodic_crop(images: np.ndarray, origins: np.ndarray, crop: int) -> np.ndarray:
    """``images`` (B, Nx, Ny) cut to (B, C, C) from ``origins`` (B, 2), wrapping across the box edges."""
    n_x, n_y = images.shape[1:]
    out = np.empty((images.shape[0], crop, crop), dtype=images.dtype)
    for b, (ox, oy) in enumerate(origins):
        out[b] = images[b][np.ix_((ox + np.arange(crop)) % n_x, (oy + np.arange(crop)) % n_y)]
    return out


def crop_axis_nm(crop: int, cell_size: float) -> np.ndarray:
    """The crop's cell centres relative to its centre (nm): (j + ½ − C/2) a."""
    return (np.arange(crop) + 0.5 - crop / 2) * cell_size / NM


def compute_skyrmions(material: Material, meas: SkyrmionMeasurement, solver: SolverConfig, sigma_nm, tau_nm, field_T,
                      index, seed: int) -> dict[str, np.ndarray]:
    """The per-sample arrays of a chunk of ``kind: skyrmion`` (samples ``index`` of the dataset) and the
    shared axes (module docstring)."""
    n, crop = meas.n_cells, meas.crop_cells
    grid = Grid((n, n), material.a)
    kw: dict = {}
    mask = None
    if solver.solver.explicit_defects:
        mask = sample_masks(grid.shape, material.a, sigma_nm, tau_nm, index, seed, solver)
        kw["mask"] = mask
    elif solver.name != "psll":  # psll: one kernel, the batch is the fields
        kw.update(sigma=torch.as_tensor(np.asarray(sigma_nm, dtype=np.float64)) * NM,
                  tau=torch.as_tensor(np.asarray(tau_nm, dtype=np.float64)) * NM)
    fields = torch.as_tensor(np.asarray(field_T, dtype=np.float64))
    res = relax_skyrmions(material, grid, field_T=fields, solver=solver, radius=meas.radius_nm * NM,
                          torque_tol=meas.torque_tol_of(solver.name), max_iter=meas.max_iter, energy=True,
                          pinning=PinningRule(meas.min_cluster_cells, meas.pin_cells),
                          isolated_fraction=meas.isolated_fraction, keep_state=True, **kw)
    end, start = res.core_end.numpy(), res.core_start.numpy()
    centres = np.where(np.isfinite(end), end, start)
    origins = crop_origins(centres, n, crop)
    mz = res.m[:, 2].detach().to("cpu", torch.float32).numpy()
    survived = res.survived.numpy()
    grown = (((res.charge - res.initial_charge).abs() < SURVIVAL_Q_TOL) & res.core_down & ~res.isolated).numpy()
    out = {
        "mz": periodic_crop(mz, origins, crop),
        "survived": survived,
        "radius_nm": np.where(survived, res.radius.numpy() / NM, math.nan),
        "Q": res.charge.numpy(),
        "energy_J": res.energy.numpy(),
        "converged": res.converged.numpy(),
        "undecided": res.undecided.numpy(),
        "grown": grown,
        "pinned": res.pinned.numpy(),
        "x_nm": crop_axis_nm(crop, material.a), "y_nm": crop_axis_nm(crop, material.a),
    }
    if mask is not None:
        vacant = (mask.detach().to("cpu") <= 0).to(torch.uint8).numpy()
        out["defect_mask"] = periodic_crop(vacant, origins, crop)
    return out
