"""The hysteresis dataset: per sample an RTN microstructure and its demagnetisation curve (docs/data.md#hysteresis).

A chunk of samples (σ_b, τ_b) draws the defect masks of :mod:`spsll.data.microstructures` (N cells),
places them in a chain — a wire with one empty cell at each end (free ends) or the periodic chain —
as soft cells (anisotropy κK) or vacancies, and sweeps the whole chunk at once with
:func:`spsll.physics.hysteresis.run_sweep` (docs/hysteresis.md#sweep). The tilt noise of sample i is
seeded by (seed, i) with i its index in the whole dataset, so a sample's curve does not depend on the
chunk or shard that computes it. Each curve is reduced by :func:`spsll.physics.hysteresis.summarise`
(coercivity, nucleation field, anchors, reversal mode) and interpolated linearly onto a fixed grid of
reverse fields

    H_k = start_HK + k · field_step_HK,   k = 0 … K − 1,   H_{K−1} ≤ field_max_HK    (units of H_K),

where a sample that has left the sweep (reversed: M/Ms ≤ −0.99) keeps its last M/Ms. Fields are the
reverse field H (the applied field's component along −z) in units of H_K, the material's gap field.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import torch

from spsll.data.microstructures import cell_centres_nm, draw_masks, mask_features, mask_seed
from spsll.physics.checks import require_int_at_least
from spsll.physics.defects.soft import DEFECT_KINDS
from spsll.physics.grid import Grid
from spsll.physics.hysteresis import H_ANCHORS_M, M_ANCHORS_HK, MODES, Chains, SweepSettings, run_sweep, summarise
from spsll.physics.material import Material

GEOMETRIES = ("wire", "film")
FIELD_CONVENTION = ("H is the reverse field: the applied field's component along -z, positive while reversing "
                    "from +z saturation; every field of the file is H in units of H_K (*_HK)")
HK_DEFINITION = ("H_K = the material's gap field Hk - Ms with the local shape term (Hk without magnetostatics): "
                 "the coherent switching field of the defect-free chain")
SWEEP_KEYS = tuple(f.name for f in fields(SweepSettings) if f.name != "seed")  # the seed is the dataset's


@dataclass
class DefectSettings:
    """``dataset.defects``: soft cells (anisotropy κK, same A and Ms) or vacancies."""

    kind: str = "soft"
    kappa: float = 0.0  # the soft cells' anisotropy in units of K (ignored for vacancies)

    def __post_init__(self):
        if self.kind not in DEFECT_KINDS:
            raise ValueError(f"dataset.defects.kind must be one of {DEFECT_KINDS}, got {self.kind!r}")
        k = self.kappa
        if isinstance(k, bool) or not isinstance(k, int | float) or not math.isfinite(k) or k < 0:
            raise ValueError(f"dataset.defects.kappa must be a finite number >= 0 (the soft cells' anisotropy in "
                             f"units of K), got {k!r}")
        self.kappa = float(k)


@dataclass
class HysteresisMeasurement:
    """``dataset.measurement`` of ``kind: hysteresis``: the chain, the stored field grid and the sweep."""

    n_cells: int = 256  # the microstructure's cells; a wire adds one empty cell at each end
    geometry: str = "wire"  # wire (free ends) | film (the periodic chain)
    field_step_HK: float = 0.0025  # the stored curve's grid step
    field_max_HK: float = 1.05  # the stored curve's last field (at most)
    sweep: dict = field(default_factory=dict)  # SweepSettings fields (fields in units of H_K); missing: defaults

    def __post_init__(self):
        sweep = dict(self.sweep or {})
        unknown = sorted(set(sweep) - set(SWEEP_KEYS))
        if unknown:
            raise ValueError(f"dataset.measurement.sweep has unknown key(s) {unknown}; known: {list(SWEEP_KEYS)}")
        defaults = asdict(SweepSettings())
        self.sweep = {k: sweep.get(k, defaults[k]) for k in SWEEP_KEYS}  # complete: the request states every value

    def settings(self, seed: int = 0) -> SweepSettings:
        """The sweep's settings (they validate themselves), and the stored grid checked against them."""
        require_int_at_least("dataset.measurement.n_cells", self.n_cells, 8)
        if self.geometry not in GEOMETRIES:
            raise ValueError(f"dataset.measurement.geometry must be one of {GEOMETRIES}, got {self.geometry!r}")
        s = SweepSettings(**self.sweep, seed=int(seed))
        step, top = self.field_step_HK, self.field_max_HK
        for name, v in (("field_step_HK", step), ("field_max_HK", top)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ValueError(f"dataset.measurement.{name} must be a finite number, got {v!r}")
        if step <= 0:
            raise ValueError(f"dataset.measurement.field_step_HK must be > 0, got {step}")
        if not s.start_HK + step <= top <= s.max_HK:
            raise ValueError(f"dataset.measurement.field_max_HK = {top} must lie between sweep.start_HK + "
                             f"field_step_HK = {s.start_HK + step} and sweep.max_HK = {s.max_HK} (the curve is "
                             "stored where it is swept)")
        return s

    def field_grid_HK(self) -> np.ndarray:
        """The stored curve's reverse fields H/H_K (K,)."""
        start = float(self.sweep["start_HK"])
        k = math.floor((self.field_max_HK - start) / self.field_step_HK + 1e-9)
        return start + self.field_step_HK * np.arange(k + 1)


def check_start(material: Material, defects: DefectSettings, start_HK: float) -> None:
    """Every chain must start saturated: the sweep's first field must hold the softest cell's effective
    anisotropy. The saturated state is stable while h = H/H_K stays below the lowest eigenvalue of
    −δ² ∂² + κ_eff(x), which lies above min κ_eff for any chain that holds a hard cell
    (docs/hysteresis.md#theory); κ_eff of a soft cell is
    (κ Hk − Ms)/(Hk − Ms) under the local shape term (negative for κ = 0: easy-plane), κ without
    magnetostatics. Vacancies leave uniform segments, saturated at any h < 1."""
    if defects.kind != "soft":
        return
    shape = material.Ms if material.local_shape_term else 0.0
    k_eff = (defects.kappa * material.Hk - shape) / material.gap_field
    if start_HK > k_eff:
        raise ValueError(f"dataset.measurement.sweep.start_HK = {start_HK} does not saturate every chain: the soft "
                         f"cells' effective anisotropy is κ_eff = {k_eff:.4g} (units of H_K), so a thick soft run "
                         f"nucleates below it; set start_HK at or below {k_eff:.4g} (negative: a saturating field "
                         "along +z)")


def chain_of(material: Material, meas: HysteresisMeasurement, masks: np.ndarray):
    """The chain's grid, its defect indicators (B, L) and its occupation (L,) (None: the periodic chain)."""
    d = torch.as_tensor(masks, dtype=torch.float64)
    if meas.geometry == "film":
        return Grid((meas.n_cells,), material.a), d, None
    n = meas.n_cells
    padded = torch.zeros(d.shape[0], n + 2, dtype=torch.float64)
    padded[:, 1:-1] = d
    geometry = torch.zeros(n + 2, dtype=torch.float64)
    geometry[1:-1] = 1.0
    return Grid((n + 2,), material.a), padded, geometry


def sweep_masks(material: Material, meas: HysteresisMeasurement, defects: DefectSettings, masks: np.ndarray,
                keys, seed: int, device: str = "cpu"):
    """The summaries (:class:`~spsll.physics.hysteresis.CurveSummary`) of the chains of ``masks`` (B, N),
    swept together; ``keys`` (B,) seed each sample's tilt noise (its index in the dataset)."""
    settings = meas.settings(seed)
    check_start(material, defects, settings.start_HK)
    grid, d, geometry = chain_of(material, meas, masks)
    chains = Chains.build(material, grid, defects.kind, d, kappa=defects.kappa, geometry=geometry,
                          keys=[int(k) for k in keys], device=_device(device))
    H_K = material.gap_field
    return [summarise(c, H_K, settings) for c in run_sweep(chains, H_K, settings)]


def summary_arrays(summaries, H_K: float, grid_HK: np.ndarray) -> dict[str, np.ndarray]:
    """The labels of a list of summaries: the curve on ``grid_HK``, anchors, H_c, H_N, mode, converged."""
    curve = np.stack([np.interp(grid_HK * H_K, s.H_A_per_m, s.M) for s in summaries])  # ends held constant
    return {
        "M_over_Ms": curve,
        "H_at_levels_HK": np.array([[s.H_at_M[f"{lv:g}"] / H_K for lv in H_ANCHORS_M] for s in summaries]),
        "M_over_Ms_at_fields": np.array([[s.M_at_H[f"{h:g}"] for h in M_ANCHORS_HK] for s in summaries]),
        "coercivity_HK": np.array([s.coercivity_A_per_m / H_K for s in summaries]),
        "nucleation_field_HK": np.array([s.nucleation_field_A_per_m / H_K for s in summaries]),
        "reversal_mode": np.array([MODES.index(s.reversal_mode) for s in summaries], dtype=np.int8),
        "converged": np.array([s.converged for s in summaries], dtype=bool),
    }


def compute_hysteresis(material: Material, meas: HysteresisMeasurement, defects: DefectSettings, sigma_nm,
                       tau_nm, index, seed: int, device: str = "cpu") -> dict[str, np.ndarray]:
    """The per-sample arrays of a chunk of ``kind: hysteresis`` (samples ``index`` of the dataset) and the
    shared axes."""
    masks = draw_masks(meas.n_cells, material.a, sigma_nm, tau_nm, mask_seed("hysteresis", seed))
    summaries = sweep_masks(material, meas, defects, masks, index, seed, device)
    grid = meas.field_grid_HK()
    return {"defect_mask": masks, **mask_features(masks, material.a),
            **summary_arrays(summaries, material.gap_field, grid),
            "x_nm": cell_centres_nm(meas.n_cells, material.a), "H_HK": grid,
            "anchor_levels_M_over_Ms": np.array(H_ANCHORS_M, dtype=np.float64),
            "anchor_fields_HK": np.array(M_ANCHORS_HK, dtype=np.float64)}


def _device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
