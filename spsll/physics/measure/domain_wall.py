"""Relaxed domain walls and their widths (paper Methods; docs/physics.md#walls).

The chain is periodic, so a single wall is simulated on the mirrored domain: 2N cells holding the
wall at L/4 and its flipped copy at 3L/4 (L = 2N), which is the paper's "duplicate and flip"
domain (N = 500, L = 1000 cells). The RTN spectrum is discretised on that 2N-cell grid. The
initial state is the Bloch ansatz m_z = tanh(x/δ0), δ0 = sqrt(A/K_U), m_y = 0,
m_x = sqrt(1 − m_z²). The stored profile is the first N cells (one wall, centred at x = 0).

Relaxation: α = 1 and the Barzilai–Borwein minimiser by default (or the paper's α = 1 dynamics);
both stop on the torque tolerance. Widths: :mod:`spsll.physics.measure.width`.

**Explicit defects** (``rtn_ensemble``; docs/physics.md#readings): R walls per (σ, τ), each on a
*mirrored* mask (an N-cell mask and its flipped copy, so the state is the even extension of one
open N-cell chain and both walls see the same vacancies), relaxed from the ansatz times the mask by
the same minimiser and torque rule. Chains with vacancies get a uniform tilt of 1e-3 in m_z before
normalisation: a short run of atoms centred on the ansatz's centre starts antisymmetric and would
otherwise relax to the in-plane saddle m = x̂ (zero torque, "width" ∞); the tilt moves a wall in a
long run by ≈ 1e-3 δ0 only. A wall within a few δ0 of a vacancy slides onto it (pinned), one
farther away stays put; both are kept and ``pinned_fraction`` counts the pinned ones. Widths are
taken per realisation after filling the vacancies (:mod:`.ensemble`) and averaged over the
realisations that hold a wall; ``mz`` is the aligned mean profile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from spsll.physics.defects import rtn
from spsll.physics.grid import Grid
from spsll.physics.material import Material
from spsll.physics.measure.ensemble import wall_statistics
from spsll.physics.measure.width import cosine_series_width, tanh_fit_width
from spsll.physics.relax import RelaxResult, relax_bb, relax_dynamics
from spsll.physics.solvers import SolverConfig, build_system

_MEMORY_BUDGET = 256 * 2**20  # bytes of the largest work array of one ensemble chain batch
_TILT = 1e-3  # m_z added to the wall ansatz of chains with vacancies (breaks the in-plane saddle)


def _in_nm(name: str) -> property:
    """A metre-valued field of the result, in nm (× 1e9, as the datasets store it)."""
    return property(lambda self: getattr(self, name) * 1e9, doc=f"``{name}`` in nm")


@dataclass(frozen=True)
class WallSettings:
    n_cells: int = 500  # N: stored profile; the simulated mirrored domain has 2N cells
    method: str = "bb"  # "bb" (minimiser) or "dynamics" (α = 1 RK4, the paper's route)
    alpha: float = 1.0
    torque_tol: float = 1e-7  # stop when max|m × H| ≤ torque_tol·Ms
    max_iter: int = 20_000  # bb iterations
    duration: float = 100e-12  # s, upper bound for the dynamics route (paper: 100 ps)
    n_harmonics: int = 700
    n_error_harmonics: int = 100

    def __post_init__(self):
        if self.method not in ("bb", "dynamics"):
            raise ValueError(f"wall method must be 'bb' or 'dynamics', got {self.method!r}")
        if self.n_cells < 16:
            raise ValueError(f"wall n_cells must be >= 16, got {self.n_cells}")
        if not self.torque_tol > 0:
            raise ValueError(f"torque_tol must be > 0, got {self.torque_tol}")


@dataclass
class WallResult:
    x: torch.Tensor  # (N,) m, cell centres, wall at 0
    mz: torch.Tensor  # (B, N)
    width: torch.Tensor  # (B,) m, paper's cosine-series method
    width_err: torch.Tensor  # (B,) m
    width_tanh: torch.Tensor  # (B,) m
    converged: torch.Tensor  # (B,) bool
    max_torque: torch.Tensor  # (B,) A/m
    m: torch.Tensor | None = None  # (B, 3, 2N) full relaxed state when requested

    x_nm = _in_nm("x")
    width_nm = _in_nm("width")
    width_err_nm = _in_nm("width_err")
    width_tanh_nm = _in_nm("width_tanh")


@dataclass
class EnsembleWallResult(WallResult):
    """:class:`WallResult` of realisation-averaged widths and the aligned mean profile, plus spreads.

    ``width``, ``width_tanh``: means over the realisations with a wall (m); ``mz``: aligned mean
    profile (B, N); ``converged``: every realisation converged; ``max_torque``: the largest.
    ``m`` (with ``keep_state``): the relaxed states of all B·R chains (B·R, 3, 2N), sample-major.
    """

    realisations: int = 1
    widths: torch.Tensor | None = None  # (B, R) m, per realisation (NaN: no wall in the window)
    widths_tanh: torch.Tensor | None = None  # (B, R) m
    width_std: torch.Tensor | None = None  # (B,) m, spread over realisations (cosine series)
    width_tanh_std: torch.Tensor | None = None  # (B,) m
    width_of_mean: torch.Tensor | None = None  # (B,) m, cosine-series width of the mean profile
    n_walls: torch.Tensor | None = None  # (B,) realisations that hold a wall in the window
    pinned_fraction: torch.Tensor | None = None  # (B,) of those, the crossing touches a vacancy
    pinned: torch.Tensor | None = None  # (B, R) bool, per realisation (False where no wall)
    width_unpinned: torch.Tensor | None = None  # (B,) m, mean width of the walls not on a vacancy
    converged_fraction: torch.Tensor | None = None  # (B,) realisations within the torque tolerance
    occupied_fraction: torch.Tensor | None = None  # (B,) mean of the masks
    mask: torch.Tensor | None = None  # (B·R, 2N) with keep_state


def initial_wall(material: Material, n_cells: int, batch: int = 1, *, dtype=torch.float64,
                 device=None) -> torch.Tensor:
    """Bloch ansatz on the mirrored 2N-cell domain, walls at L/4 and 3L/4: (B, 3, 2N)."""
    L = 2 * n_cells
    x = torch.arange(L, dtype=torch.float64, device=device) + 0.5  # cell centres (cells)
    delta0 = math.sqrt(material.A / material.K_U) / material.a  # cells
    mz = torch.where(x < L / 2, torch.tanh((x - L / 4) / delta0), torch.tanh((3 * L / 4 - x) / delta0))
    mx = torch.sqrt((1 - mz * mz).clamp_min(0))
    m = torch.stack([mx, torch.zeros_like(mx), mz]).to(dtype)
    return m.unsqueeze(0).expand(batch, 3, L).contiguous()


def relax_domain_walls(material: Material, sigma, tau, *, solver: SolverConfig | None = None,
                       settings: WallSettings | None = None, keep_state: bool = False) -> WallResult:
    """Relax one wall per (σ, τ) pair (metres; batched) and measure its widths.

    With an explicit-defect solver every pair is R masked walls and the result is an
    :class:`EnsembleWallResult` of their averages (module docstring).
    """
    solver = solver or SolverConfig()
    settings = settings or WallSettings()
    material.require_perpendicular("a domain wall between ±z domains")
    if solver.solver.explicit_defects:
        return _ensemble_walls(material, sigma, tau, solver, settings, keep_state)
    grid = Grid(2 * settings.n_cells, material.a)
    system = build_system(solver, material, grid, sigma, tau, alpha=settings.alpha)
    B = 1 if sigma is None else int(torch.as_tensor(sigma).reshape(-1).shape[0])
    m0 = initial_wall(material, settings.n_cells, B, dtype=solver.torch_dtype, device=solver.torch_device)
    res = _relax(system, m0, settings, solver)
    mz = res.m[:, 2, : settings.n_cells].to(torch.float64)
    width, err = cosine_series_width(mz, material.a, n_harmonics=settings.n_harmonics,
                                     n_error=settings.n_error_harmonics)
    return WallResult(_window_positions(material, settings, mz.device), mz, width, err,
                      tanh_fit_width(mz, material.a), res.converged, res.max_torque, res.m if keep_state else None)


def _relax(system, m0, settings: WallSettings, solver: SolverConfig) -> RelaxResult:
    if settings.method == "bb":
        return relax_bb(system, m0, torque_tol=settings.torque_tol, max_iter=settings.max_iter,
                        compile=solver.compile)
    return relax_dynamics(system, m0, duration=settings.duration, torque_tol=settings.torque_tol,
                          compile=solver.compile)


def _window_positions(material: Material, settings: WallSettings, device) -> torch.Tensor:
    """Cell centres of the stored window (m), the wall at 0."""
    n = settings.n_cells
    return (torch.arange(n, dtype=torch.float64, device=device) + 0.5 - n / 2) * material.a


def _ensemble_walls(material, sigma, tau, solver: SolverConfig, settings: WallSettings,
                    keep_state: bool) -> EnsembleWallResult:
    """R masked walls per (σ, τ), relaxed in chain batches; widths and profiles averaged."""
    s, t = rtn.batch_params(sigma, tau)
    B, R, N = s.shape[0], solver.options["realisations"], settings.n_cells
    L = 2 * N
    dev, dtype = solver.torch_device, solver.torch_dtype
    masks = solver.solver.masks(solver, material, N, s, t, mirrored=True)
    cb = solver.options["chain_batch"] or max(1, _MEMORY_BUDGET // (3 * L * 8 * 16))  # ~16 (3, 2N) arrays
    grid = Grid(L, material.a)
    mz_full = torch.empty(B * R, L, dtype=torch.float64, device=dev)
    converged = torch.empty(B * R, dtype=torch.bool, device=dev)
    torque = torch.empty(B * R, dtype=torch.float64, device=dev)
    states = torch.empty(B * R, 3, L, dtype=dtype, device=dev) if keep_state else None
    for c0 in range(0, B * R, cb):
        mk = masks[c0 : c0 + cb]
        system = build_system(solver, material, grid, mask=mk, alpha=settings.alpha)
        m0 = initial_wall(material, N, mk.shape[0], dtype=dtype, device=dev)
        holes = (mk == 0).any(dim=1)
        if bool(holes.any()):  # break the symmetric saddle (module docstring); r ≡ 1 rows untouched
            m0[holes, 2] += _TILT
            m0[holes] = m0[holes] / m0[holes].norm(dim=1, keepdim=True)
        res = _relax(system, m0 * mk[:, None, :], settings, solver)
        sl = slice(c0, c0 + mk.shape[0])
        mz_full[sl] = res.m[:, 2].to(torch.float64)
        converged[sl], torque[sl] = res.converged, res.max_torque.to(torch.float64)
        if states is not None:
            states[sl] = res.m
    stats = wall_statistics(mz_full, masks, B, R, material.a, n_harmonics=settings.n_harmonics,
                            n_error=settings.n_error_harmonics)
    conv_r = converged.reshape(B, R)
    return EnsembleWallResult(
        _window_positions(material, settings, dev), stats.pop("mz"), stats.pop("width"), stats.pop("width_err"),
        stats.pop("width_tanh"), conv_r.all(dim=1) & (stats["n_walls"] > 0), torque.reshape(B, R).amax(dim=1),
        states, realisations=R, converged_fraction=conv_r.to(torch.float64).mean(dim=1),
        mask=masks if keep_state else None, **stats,
    )
