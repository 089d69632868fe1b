"""Relaxed domain walls and their widths (paper Methods; SPEC §1.6).

The chain is periodic, so a single wall is simulated on the mirrored domain: 2N cells holding the
wall at L/4 and its flipped copy at 3L/4 (L = 2N), which is the paper's "duplicate and flip"
domain (N = 500, L = 1000 cells). The RTN spectrum is discretised on that 2N-cell grid. The
initial state is the Bloch ansatz m_z = tanh(x/δ0), δ0 = sqrt(A/K_U), m_y = 0,
m_x = sqrt(1 − m_z²). The stored profile is the first N cells (one wall, centred at x = 0).

Relaxation: α = 1 and the Barzilai–Borwein minimiser by default (or the paper's α = 1 dynamics);
both stop on the torque tolerance. Widths: :mod:`spsll.physics.width`. With
``solver=rtn_ensemble`` R explicit-vacancy walls are relaxed per (σ, τ) and their widths averaged
(:mod:`.rtn_ensemble`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from spsll.physics.material import Material
from spsll.physics.relax import relax_bb, relax_dynamics
from spsll.physics.solver import ENSEMBLE_SOLVER, SolverConfig, build_system
from spsll.physics.width import cosine_series_width, tanh_fit_width


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

    @property
    def x_nm(self):
        return self.x * 1e9

    @property
    def width_nm(self):
        return self.width * 1e9

    @property
    def width_err_nm(self):
        return self.width_err * 1e9

    @property
    def width_tanh_nm(self):
        return self.width_tanh * 1e9


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
    """Relax one wall per (σ, τ) pair (metres; batched) and measure its widths."""
    solver = solver or SolverConfig()
    settings = settings or WallSettings()
    if solver.name == ENSEMBLE_SOLVER:  # explicit vacancies: B × R walls, averaged widths
        from spsll.physics.rtn_ensemble import relax_domain_walls_ensemble

        return relax_domain_walls_ensemble(material, sigma, tau, solver=solver, settings=settings,
                                           keep_state=keep_state)
    L = 2 * settings.n_cells
    system = build_system(solver, material, L, sigma, tau, alpha=settings.alpha)
    B = system.exchange.batch_size if solver.name != "psll" else _batch_of(sigma)
    m0 = initial_wall(material, settings.n_cells, B, dtype=solver.torch_dtype,
                      device=solver.torch_device)
    if settings.method == "bb":
        res = relax_bb(system, m0, torque_tol=settings.torque_tol, max_iter=settings.max_iter,
                       compile=solver.compile)
    else:
        res = relax_dynamics(system, m0, duration=settings.duration,
                             torque_tol=settings.torque_tol, compile=solver.compile)
    mz = res.m[:, 2, : settings.n_cells].to(torch.float64)
    width, err = cosine_series_width(mz, material.a, n_harmonics=settings.n_harmonics,
                                     n_error=settings.n_error_harmonics)
    x = (torch.arange(settings.n_cells, dtype=torch.float64, device=mz.device) + 0.5
         - settings.n_cells / 2) * material.a
    return WallResult(x, mz, width, err, tanh_fit_width(mz, material.a), res.converged,
                      res.max_torque, res.m if keep_state else None)


def _batch_of(sigma) -> int:
    if sigma is None:
        return 1
    return int(torch.as_tensor(sigma).reshape(-1).shape[0])
