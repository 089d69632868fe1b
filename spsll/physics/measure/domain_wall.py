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

**Films** (``n_rows`` = M > 1; docs/physics.md#film-walls): the chain's ansatz in every row of a
(2N, M) film, a straight wall along y; ``mz`` and the widths are those of the row average, the
per-row widths give ``row_width_mean``/``row_width_std``. ``psll``/``spsll`` run the exact k_y = 0
line; explicit defects run mirrored mosaic films (:mod:`.film_wall` has the system and statistics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from spsll.physics.defects import rtn
from spsll.physics.grid import Grid
from spsll.physics.material import Material
from spsll.physics.measure.ensemble import wall_statistics
from spsll.physics.measure.film_wall import film_ansatz, film_system, film_wall_statistics, row_statistics
from spsll.physics.measure.width import cosine_series_width, tanh_fit_width
from spsll.physics.relax import RelaxResult, relax_bb, relax_dynamics
from spsll.physics.solvers import SolverConfig, build_system

_MEMORY_BUDGET = 256 * 2**20  # bytes of the largest work array of one ensemble chain batch
_TILT = 1e-3  # m_z added to the wall ansatz of chains with vacancies (breaks the in-plane saddle)


def _in_nm(name: str) -> property:
    """A metre-valued field of the result, in nm (× 1e9, as the datasets store it); None stays None."""
    def get(self):
        value = getattr(self, name)
        return None if value is None else value * 1e9
    return property(get, doc=f"``{name}`` in nm")


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
    n_rows: int = 1  # M > 1: a film (2N, M), a straight wall along y in every row (docs/physics.md#film-walls)

    def __post_init__(self):
        if self.method not in ("bb", "dynamics"):
            raise ValueError(f"wall method must be 'bb' or 'dynamics', got {self.method!r}")
        if self.n_cells < 16:
            raise ValueError(f"wall n_cells must be >= 16, got {self.n_cells}")
        if not self.torque_tol > 0:
            raise ValueError(f"torque_tol must be > 0, got {self.torque_tol}")
        if isinstance(self.n_rows, bool) or not isinstance(self.n_rows, int) or self.n_rows < 1:
            raise ValueError(f"wall n_rows must be an integer >= 1 (1: a chain), got {self.n_rows!r}")


@dataclass
class WallResult:
    x: torch.Tensor  # (N,) m, cell centres, wall at 0
    mz: torch.Tensor  # (B, N); a film: the row average
    width: torch.Tensor  # (B,) m, paper's cosine-series method (a film: of the row-averaged profile)
    width_err: torch.Tensor  # (B,) m
    width_tanh: torch.Tensor  # (B,) m
    converged: torch.Tensor  # (B,) bool
    max_torque: torch.Tensor  # (B,) A/m
    m: torch.Tensor | None = None  # (B, 3, 2N) full relaxed state when requested; a film (B, 3, 2N, M)
    row_width_mean: torch.Tensor | None = None  # (B,) m, films: mean of the per-row cosine-series widths
    row_width_std: torch.Tensor | None = None  # (B,) m, films: their spread (sample std over rows)

    x_nm = _in_nm("x")
    width_nm = _in_nm("width")
    width_err_nm = _in_nm("width_err")
    width_tanh_nm = _in_nm("width_tanh")
    row_width_mean_nm = _in_nm("row_width_mean")
    row_width_std_nm = _in_nm("row_width_std")


@dataclass
class EnsembleWallResult(WallResult):
    """:class:`WallResult` of realisation-averaged widths and the aligned mean profile, plus spreads.

    ``width``, ``width_tanh``: means over the realisations with a wall (m); ``mz``: aligned mean
    profile (B, N); ``converged``: every realisation converged; ``max_torque``: the largest.
    ``m`` (with ``keep_state``): the relaxed states of all B·R chains (B·R, 3, 2N), sample-major.
    Films (docs/physics.md#film-walls): ``widths`` are those of each realisation's row-averaged
    profile, ``pinned`` is per (realisation, row) (B, R, M), ``width_unpinned`` the mean per-row width
    of the unpinned rows, ``row_width_mean``/``row_width_std`` over all rows with a wall; ``m`` is
    (B·R, 3, 2N, M), ``mask`` (B·R, 2N, M).
    """

    realisations: int = 1
    widths: torch.Tensor | None = None  # (B, R) m, per realisation (NaN: no wall in the window)
    widths_tanh: torch.Tensor | None = None  # (B, R) m
    width_std: torch.Tensor | None = None  # (B,) m, spread over realisations (cosine series)
    width_tanh_std: torch.Tensor | None = None  # (B,) m
    width_of_mean: torch.Tensor | None = None  # (B,) m, cosine-series width of the mean profile
    n_walls: torch.Tensor | None = None  # (B,) realisations that hold a wall in the window
    pinned_fraction: torch.Tensor | None = None  # (B,) of those, the crossing touches a vacancy
    pinned: torch.Tensor | None = None  # (B, R) bool, per realisation (False where no wall); films (B, R, M)
    width_unpinned: torch.Tensor | None = None  # (B,) m, mean width of the walls not on a vacancy
    converged_fraction: torch.Tensor | None = None  # (B,) realisations within the torque tolerance
    occupied_fraction: torch.Tensor | None = None  # (B,) mean of the masks
    mask: torch.Tensor | None = None  # (B·R, 2N) with keep_state; films (B·R, 2N, M)
    row_widths: torch.Tensor | None = None  # (B, R, M) m, films: per-row cosine-series widths (NaN: no wall)


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
                       settings: WallSettings | None = None, keep_state: bool = False,
                       line_reduction: bool = True) -> WallResult:
    """Relax one wall per (σ, τ) pair (metres; batched) and measure its widths.

    With an explicit-defect solver every pair is R masked walls and the result is an
    :class:`EnsembleWallResult` of their averages (module docstring). ``settings.n_rows`` > 1: a film
    (:mod:`.film_wall`); under ``psll``/``spsll`` it runs as its exact k_y = 0 line unless
    ``line_reduction=False`` (the whole film, to test the reduction).
    """
    solver = solver or SolverConfig()
    settings = settings or WallSettings()
    material.require_perpendicular("a domain wall between ±z domains")
    if settings.n_rows > 1 and solver.solver.explicit_defects:
        return _ensemble_film_walls(material, sigma, tau, solver, settings, keep_state)
    if settings.n_rows > 1:
        return _film_walls(material, sigma, tau, solver, settings, keep_state, line_reduction)
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
    masks = solver.solver.masks(solver, material, N, s, t, mirrored=True)
    mz_full, converged, torque, states = relax_masked_walls(material, masks, solver, settings, keep_state)
    stats = wall_statistics(mz_full, masks, B, R, material.a, n_harmonics=settings.n_harmonics,
                            n_error=settings.n_error_harmonics)
    conv_r = converged.reshape(B, R)
    return EnsembleWallResult(
        _window_positions(material, settings, mz_full.device), stats.pop("mz"), stats.pop("width"),
        stats.pop("width_err"), stats.pop("width_tanh"), conv_r.all(dim=1) & (stats["n_walls"] > 0),
        torque.reshape(B, R).amax(dim=1), states, realisations=R,
        converged_fraction=conv_r.to(torch.float64).mean(dim=1), mask=masks if keep_state else None, **stats,
    )


def chain_batch(solver: SolverConfig, settings: WallSettings) -> int:
    """Masked walls relaxed together: ``chain_batch`` or ~16 (3, 2N, M) arrays within the memory budget."""
    cells = 2 * settings.n_cells * settings.n_rows
    return solver.options["chain_batch"] or max(1, _MEMORY_BUDGET // (3 * cells * 8 * 16))


def relax_masked_walls(material: Material, masks: torch.Tensor, solver: SolverConfig, settings: WallSettings,
                       keep_state: bool):
    """Relax the ansatz times every mask (n, 2N[, M]) in batches of :func:`chain_batch`.

    Returns m_z (n, 2N[, M]) float64, converged (n,), max torque (n,) and the states (or None).
    Masks with holes get the tilt of the module docstring; full masks are untouched.
    """
    n, shape = masks.shape[0], tuple(masks.shape[1:])
    dev, dtype = solver.torch_device, solver.torch_dtype
    cb = chain_batch(solver, settings)
    grid = Grid(shape if len(shape) > 1 else shape[0], material.a)
    mz_full = torch.empty(n, *shape, dtype=torch.float64, device=dev)
    converged = torch.empty(n, dtype=torch.bool, device=dev)
    torque = torch.empty(n, dtype=torch.float64, device=dev)
    states = torch.empty(n, 3, *shape, dtype=dtype, device=dev) if keep_state else None
    for c0 in range(0, n, cb):
        mk = masks[c0 : c0 + cb]
        system = build_system(solver, material, grid, mask=mk, alpha=settings.alpha)
        m0 = initial_wall(material, settings.n_cells, mk.shape[0], dtype=dtype, device=dev)
        if len(shape) > 1:  # a film: the chain's ansatz in every row
            m0 = film_ansatz(m0, shape[1])
        holes = (mk == 0).flatten(1).any(dim=1)
        if bool(holes.any()):  # break the symmetric saddle (module docstring); r ≡ 1 rows untouched
            m0[holes, 2] += _TILT
            m0[holes] = m0[holes] / m0[holes].norm(dim=1, keepdim=True)
        res = _relax(system, m0 * mk[:, None], settings, solver)
        sl = slice(c0, c0 + mk.shape[0])
        mz_full[sl] = res.m[:, 2].to(torch.float64)
        converged[sl], torque[sl] = res.converged, res.max_torque.to(torch.float64)
        if states is not None:
            states[sl] = res.m
    return mz_full, converged, torque, states


# -- films (n_rows > 1): a straight wall along y, :mod:`.film_wall` ------------------------------------
def _film_walls(material, sigma, tau, solver: SolverConfig, settings: WallSettings, keep_state: bool,
                line_reduction: bool) -> WallResult:
    """The (2N, M) film under a reading without explicit defects: ``psll``/``spsll`` on the exact
    k_y = 0 line, ``spsll_convolution`` (or ``line_reduction=False``) on the whole film."""
    N, M = settings.n_cells, settings.n_rows
    B = 1 if sigma is None else int(torch.as_tensor(sigma).reshape(-1).shape[0])
    system, reduced = film_system(solver, material, Grid((2 * N, M), material.a), sigma, tau,
                                  alpha=settings.alpha, line_reduction=line_reduction)
    m0 = initial_wall(material, N, B, dtype=solver.torch_dtype, device=solver.torch_device)
    res = _relax(system, film_ansatz(m0, 1 if reduced else M), settings, solver)
    mz_full = res.m[:, 2].to(torch.float64)  # (B, 2N, rows), one row on the reduced line
    mz = mz_full[:, :N].mean(dim=-1)
    width, err = cosine_series_width(mz, material.a, n_harmonics=settings.n_harmonics,
                                     n_error=settings.n_error_harmonics)
    rows = row_statistics(mz_full, torch.ones_like(mz_full), B, 1, material.a, n_harmonics=settings.n_harmonics,
                          n_error=settings.n_error_harmonics)  # the reduced line's rows are all equal: spread 0
    state = res.m.expand(B, 3, 2 * N, M).contiguous() if keep_state else None
    return WallResult(_window_positions(material, settings, mz.device), mz, width, err,
                      tanh_fit_width(mz, material.a), res.converged, res.max_torque, state,
                      row_width_mean=rows["width"], row_width_std=rows["width_std"])


def _ensemble_film_walls(material, sigma, tau, solver: SolverConfig, settings: WallSettings,
                         keep_state: bool) -> EnsembleWallResult:
    """R masked films per (σ, τ); samples are taken chain_batch // R at a time, so that the relaxed
    films and their per-row statistics stay within the memory budget of one batch."""
    s, t = rtn.batch_params(sigma, tau)
    B, R, N, M = s.shape[0], solver.options["realisations"], settings.n_cells, settings.n_rows
    G = max(1, chain_batch(solver, settings) // R)
    parts, converged, torque, states, masks_kept = [], [], [], [], []
    for lo in range(0, B, G):
        hi = min(B, lo + G)
        masks = solver.solver.masks(solver, material, (N, M), s[lo:hi], t[lo:hi], mirrored=True)
        mz_full, conv, tq, m = relax_masked_walls(material, masks, solver, settings, keep_state)
        parts.append(film_wall_statistics(mz_full, masks, hi - lo, R, material.a, n_harmonics=settings.n_harmonics,
                                          n_error=settings.n_error_harmonics))
        converged.append(conv.reshape(hi - lo, R))
        torque.append(tq.reshape(hi - lo, R))
        if keep_state:
            states.append(m)
            masks_kept.append(masks)
    stats = {key: torch.cat([p[key] for p in parts], dim=0) for key in parts[0]}
    conv_r, torque = torch.cat(converged, dim=0), torch.cat(torque, dim=0)
    return EnsembleWallResult(
        _window_positions(material, settings, conv_r.device), stats.pop("mz"), stats.pop("width"),
        stats.pop("width_err"), stats.pop("width_tanh"), conv_r.all(dim=1) & (stats["n_walls"] > 0),
        torque.amax(dim=1), torch.cat(states, dim=0) if keep_state else None, realisations=R,
        converged_fraction=conv_r.to(torch.float64).mean(dim=1),
        mask=torch.cat(masks_kept, dim=0) if keep_state else None, **stats,
    )
