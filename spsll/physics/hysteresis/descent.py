"""The sweep's field term and its torque-stopped minimiser (docs/hysteresis.md#numerics).

:class:`ReverseField` is the applied field of the sweep, H along −ẑ with one magnitude per sample,
so that samples at different points of their sweeps relax together.

:func:`minimise` is the Barzilai–Borwein projected descent of :func:`spsll.physics.relax.relax_bb`
(direction d = H − (m·H) m, m ← normalise(m + t d), BB1/BB2 alternating, clamped to [1e-3, 1e4] t0
with t0 = 1/H_bound, per-sample step sizes and torque stop), with one change that a quasi-static
sweep needs: where the curvature estimate s·y is negative (the state sits on an unstable direction,
as the saturated chain does just above its nucleation field) the step is |s·s / s·y| instead of t0.
With t0 the unstable mode grows by a factor 1 + t0 (H − H_N) per iteration, and a jump a few
10⁻³ H_K above H_N takes 10⁴–10⁵ iterations; with |s·s / s·y| it takes 10²–10³
(docs/hysteresis.md#numerics measures both). Stable states are reached as by ``relax_bb``, with the
same torque stop. The local z terms (axial terms, :class:`CellAnisotropy`, :class:`ReverseField`) are
fused into one coefficient c(x) m_z − H in the loop.

``abort`` stops a sample as soon as some cell's m_z has moved by more than its threshold from the
start: the sweep then refines the field step instead of finishing a jump it will not keep.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from spsll.physics.checks import check_finite_state
from spsll.physics.llg import LLSystem, normalise
from spsll.physics.terms.anisotropy import CellAnisotropy
from spsll.physics.terms.exchange import exchange_field


@dataclass(frozen=True)
class ReverseField:
    """H = −H_b ẑ for sample b, E = μ0 Ms a^d H_b Σ_j m_z,j; ``H`` (B,) in A/m."""

    H: torch.Tensor
    mu0_ms: float  # μ0 Ms (T)
    cell_size: float  # m

    def _column(self, m: torch.Tensor) -> torch.Tensor:
        return self.H.to(m).view(-1, *[1] * (m.ndim - 2))

    def field(self, m: torch.Tensor) -> torch.Tensor:
        h = torch.zeros_like(m)
        h[:, 2] = -self._column(m)
        return h

    def energy(self, m: torch.Tensor) -> torch.Tensor:
        """Per sample: J/m² on a chain."""
        return self.mu0_ms * (self._column(m) * m[:, 2]).flatten(1).sum(-1) * self.cell_size ** (m.ndim - 2)

    def rate_bound(self) -> float:
        return float(self.H.abs().max()) if self.H.numel() else 0.0

    def select(self, index: torch.Tensor) -> ReverseField:
        return ReverseField(self.H[index], self.mu0_ms, self.cell_size)


@dataclass
class MinimiseResult:
    m: torch.Tensor  # (B, 3, *shape)
    converged: torch.Tensor  # (B,) bool: max |m × H| ≤ torque_tol·Ms
    aborted: torch.Tensor  # (B,) bool: stopped because m_z moved by more than the abort threshold
    max_torque: torch.Tensor  # (B,) A/m
    iterations: torch.Tensor  # (B,)


def _field(m, kernel, weight, zfactor, h_rev, mask, extra):
    """H_eff with the local z terms fused: H_ex + (c(x) m_z − H_rev) ẑ (+ other terms), masked."""
    h = exchange_field(m, kernel, weight)
    h[:, 2] += zfactor * m[:, 2] - h_rev
    for term in extra:
        h = h + term.field(m)
    return h if mask is None else h * mask


def _local(system: LLSystem, m0: torch.Tensor):
    """The local z coefficient c(x) (B or 1, *shape) of the axial and cell anisotropy terms, the reverse field
    (B, 1, ...) and the remaining non-local terms of ``system``."""
    cells = [t for t in system.extra if isinstance(t, CellAnisotropy)]
    fields = [t for t in system.extra if isinstance(t, ReverseField)]
    others = tuple(t for t in system.extra if not isinstance(t, CellAnisotropy | ReverseField))
    view = (-1, *[1] * (m0.ndim - 2))
    c = sum((t.Hk * t.kappa[:, 0] for t in cells), torch.full((1, *m0.shape[2:]), system.z_coefficient).to(m0))
    h_rev = sum((t.H.to(m0).view(view) for t in fields), torch.zeros(1, *[1] * (m0.ndim - 2)).to(m0))
    return c.expand(m0.shape[0], *m0.shape[2:]).contiguous(), h_rev.expand(m0.shape[0], *h_rev.shape[1:]), others


def _iteration(m, d, t, t0, kernel, weight, zfactor, h_rev, mask, extra, bb1: bool):
    """One projected BB step with the step size |num/den| (see the module docstring)."""
    m_new = normalise(m + t * d, mask)
    h = _field(m_new, kernel, weight, zfactor, h_rev, mask, extra)
    d_new = h - (m_new * h).sum(1, keepdim=True) * m_new
    s = m_new - m
    y = d - d_new
    dims = tuple(range(1, m.ndim))
    sy = (s * y).sum(dims, keepdim=True)
    num, den = ((s * s).sum(dims, keepdim=True), sy) if bb1 else (sy, (y * y).sum(dims, keepdim=True))
    ok = (den != 0) & (num != 0)
    t_new = torch.where(ok, (num / torch.where(ok, den, torch.ones_like(den))).abs(), t0)
    return m_new, d_new, torch.minimum(torch.maximum(t_new, t0 * 1e-3), t0 * 1e4)


def minimise(system: LLSystem, m0: torch.Tensor, *, torque_tol: float, max_iter: int | torch.Tensor,
             abort: torch.Tensor | None = None, check_every: int = 10) -> MinimiseResult:
    """Relax every sample of ``m0`` (B, 3, *shape) until max|m × H_eff| ≤ ``torque_tol``·Ms, or until its
    m_z has moved by more than ``abort`` (B,) somewhere (aborted), or ``max_iter`` iterations (a number,
    or one per sample).

    The system's Zeeman term, if any, must be a non-axial term (:class:`ReverseField`): the applied
    field is taken from ``system.extra``. Converged and aborted samples leave the batch.
    """
    if system.applied_tensor(m0) is not None:
        raise ValueError("minimise takes the applied field as a ReverseField term, not a Zeeman term")
    B = m0.shape[0]
    dev = m0.device
    tol = torque_tol * system.material.Ms
    out_m = m0.clone()
    out_iter = torch.zeros(B, dtype=torch.long, device=dev)
    aborted = torch.zeros(B, dtype=torch.bool, device=dev)
    limit = torch.full((B,), float("inf"), dtype=m0.dtype, device=dev) if abort is None else abort.to(m0)
    budget = torch.as_tensor(max_iter, device=dev).expand(B)
    stops = set(budget.tolist())  # the iterations where some sample's budget runs out
    last = max(stops)
    mz0 = m0[:, 2]
    active = torch.arange(B, device=dev)
    zfactor_all, h_rev_all, others = _local(system, m0)
    ex, extra, zfactor, h_rev = system.exchange, others, zfactor_all, h_rev_all
    m = m0.clone()
    h = system.field(m)
    d = h - (m * h).sum(1, keepdim=True) * m
    t0 = torch.tensor(1.0 / system.field_bound(), dtype=m0.dtype, device=dev)
    t = t0.expand(B, *[1] * (m0.ndim - 1)).clone()
    it = 0
    while active.numel() > 0 and it < last:
        it += 1
        m, d, t = _iteration(m, d, t, t0, ex.kernel, ex.weight, zfactor, h_rev, ex.mask, extra, bool(it % 2))
        if it % check_every and it not in stops:
            continue
        check_finite_state(m, f"sweep relaxation iteration {it}")
        torque = d.norm(dim=1).flatten(1).amax(dim=1)
        moved = (m[:, 2] - mz0[active]).abs().flatten(1).amax(dim=1) > limit[active]
        done = (torque <= tol) | moved | (budget[active] <= it)
        if done.any():
            idx = active[done]
            out_m[idx] = m[done]
            out_iter[idx] = it
            aborted[idx] = moved[done] & (torque[done] > tol)
            keep = ~done
            active, m, d, t = active[keep], m[keep], d[keep], t[keep]
            ex = system.exchange.select(active)
            extra = tuple(term.select(active) for term in others)
            zfactor, h_rev = zfactor_all[active], h_rev_all[active]
    final = system.torque(out_m)
    return MinimiseResult(out_m, final <= tol, aborted, final, out_iter)
