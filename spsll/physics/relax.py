"""Relaxation to equilibrium (m × H_eff = 0) for domain walls (docs/physics.md#integrators).

Two paths reach the same state:

* ``bb`` (default): projected steepest descent with Barzilai–Borwein step sizes, as in magnum.np's
  minimiser. The descent direction is the damping term of Eq. 1 without precession,
  d = −m × (m × H) = H − (m·H) m, i.e. minus the energy gradient on the sphere for the symmetric
  operators. For the (non-symmetric) convolution reading it is still a fixed-point iteration whose
  fixed points are exactly the equilibria m × H = 0. One field evaluation per iteration.
* ``dynamics``: the paper's route, RK4 integration of Eq. 1 with α = 1, stopped early once the
  torque tolerance is met.

Both stop per sample on max_cells |m × H_eff| ≤ ``torque_tol`` · Ms, and report a converged flag and
the final torque. Converged samples leave the active batch, so the cost follows the slowest.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from spsll.physics.checks import check_finite_state
from spsll.physics.compiled import maybe_compile
from spsll.physics.llg import (
    LLSystem,
    choose_time_step,
    effective_field,
    integrate,
    normalise,
)


@dataclass
class RelaxResult:
    m: torch.Tensor  # (B, 3, *shape) relaxed magnetisation
    converged: torch.Tensor  # (B,) bool
    max_torque: torch.Tensor  # (B,) A/m, max over cells of |m × H_eff|
    iterations: torch.Tensor  # (B,) iterations (bb) or RK4 steps (dynamics) used


def _bb_iteration(m, d, t, kernel, weight, zc: float, h_app, t0: torch.Tensor, bb1: bool, mask=None, extra=()):
    """One projected BB step: m ← normalise(m + t d), new direction d and BB step size t.

    d = H − (m·H) m = −m × (m × H) is minus the (tangent) energy gradient; with s = Δm and
    y = −Δd the steps alternate BB1 = s·s / s·y and BB2 = s·y / y·y, clamped to [1e-3, 1e4]·t0,
    and fall back to t0 where a curvature estimate is not positive.
    """
    m_new = normalise(m + t * d, mask)
    h = effective_field(m_new, kernel, weight, zc, h_app, mask, extra)
    d_new = h - (m_new * h).sum(1, keepdim=True) * m_new
    s = m_new - m
    y = d - d_new
    dims = tuple(range(1, m.ndim))  # all but the batch
    sy = (s * y).sum(dims, keepdim=True)
    if bb1:
        num, den = (s * s).sum(dims, keepdim=True), sy
    else:
        num, den = sy, (y * y).sum(dims, keepdim=True)
    ok = (den > 0) & (num > 0)
    t_new = torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), t0)
    return m_new, d_new, torch.minimum(torch.maximum(t_new, t0 * 1e-3), t0 * 1e4)


def _bb_stepper(compile, batch_cells: int):
    # BB needs ~50–100 iterations per wall: compile when that work repays the compilation
    return maybe_compile(_bb_iteration, compile, batch_cells * 60)


def require_static_exchange(system: LLSystem) -> None:
    """Refuse to relax under an exchange without a cost for some wavelengths.

    The fitted film reading ``spsll_fitted`` is F0 Θ(k_cut − |k|): where its cut lies inside the zone,
    short wavelengths cost no exchange at all, and a wall or texture relaxes by sharpening towards a
    step (docs/fitted-filter.md#held-out-walls). Its kernel is then zero at some k ≠ 0 (the ideal
    kernel vanishes only at k = 0).
    """
    ex = system.exchange
    if ex.name != "spsll_fitted":
        return
    zeros = (ex.kernel == 0).flatten(1).sum(dim=1)
    if bool((zeros > 1).any()):
        raise ValueError("solver spsll_fitted is a dispersion reading: its cut k_cut(σ, τ) lies inside the "
                         "Brillouin zone here, so short wavelengths cost no exchange and walls and textures "
                         "collapse when relaxed (docs/fitted-filter.md). Relax under spsll or an explicit "
                         "ensemble (rtn_ensemble) instead")


def relax_bb(system: LLSystem, m0: torch.Tensor, *, torque_tol: float = 1e-7,
             max_iter: int = 20_000, check_every: int = 10, compile="auto") -> RelaxResult:
    """Barzilai–Borwein projected descent until max|m×H| ≤ torque_tol·Ms per sample."""
    require_static_exchange(system)
    B = m0.shape[0]
    tol = torque_tol * system.material.Ms
    out_m = m0.clone()
    out_iter = torch.zeros(B, dtype=torch.long, device=m0.device)
    step = _bb_stepper(compile, m0[:, 0].numel())

    active = torch.arange(B, device=m0.device)
    ex = system.exchange
    extra = system.extra
    zc = system.z_coefficient
    h_app = system.applied_tensor(m0)
    m = m0.clone()
    h = system.field(m)
    d = h - (m * h).sum(1, keepdim=True) * m
    # a safe first step (per A/m); a tensor, so that a compiled step is not specialised on it
    t0 = torch.tensor(1.0 / system.field_bound(), dtype=m0.dtype, device=m0.device)
    t = t0.expand(B, *[1] * (m0.ndim - 1)).clone()
    it = 0
    while active.numel() > 0 and it < max_iter:
        it += 1
        m, d, t = step(m, d, t, ex.kernel, ex.weight, zc, h_app, t0, bool(it % 2), ex.mask, extra)
        if it % check_every == 0 or it == max_iter:
            check_finite_state(m, f"BB relaxation iteration {it}")
            torque = d.norm(dim=1).flatten(1).amax(dim=1)  # |m×H| = |H − (m·H)m| for |m| = 1
            done = (torque <= tol) | (it == max_iter)
            if done.any():
                idx = active[done]
                out_m[idx] = m[done]
                out_iter[idx] = it
                keep = ~done
                active, m, d, t = active[keep], m[keep], d[keep], t[keep]
                ex = system.exchange.select(active)
                extra = tuple(term.select(active) for term in system.extra)
    # the reported torque is recomputed from the returned state (independent of the iteration)
    final = system.torque(out_m)
    return RelaxResult(out_m, final <= tol, final, out_iter)


def relax_dynamics(system: LLSystem, m0: torch.Tensor, *, duration: float = 100e-12,
                   torque_tol: float = 1e-7, phase_per_step: float = 1.0,
                   check_interval: float = 1e-12, compile="auto") -> RelaxResult:
    """RK4 integration of Eq. 1 (use α = 1) for up to ``duration`` seconds, stopping early when
    every sample's torque is below ``torque_tol``·Ms (checked every ``check_interval``)."""
    require_static_exchange(system)
    dt, n_sub = choose_time_step(system, check_interval, phase_per_step)
    tol = torque_tol * system.material.Ms
    m = m0
    steps = 0
    n_checks = max(1, round(duration / check_interval))
    for _ in range(n_checks):
        m = integrate(system, m, dt, n_sub, compile=compile)
        steps += n_sub
        if bool((system.torque(m) <= tol).all()):
            break
    final = system.torque(m)
    its = torch.full((m.shape[0],), steps, dtype=torch.long, device=m.device)
    return RelaxResult(m, final <= tol, final, its)
