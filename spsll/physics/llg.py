"""The Landau–Lifshitz system and its fixed-step RK4 integrator (docs/physics.md#model, #integrators).

Eq. 1:  ∂m/∂t = −γμ0 [m × H_eff + α m × (m × H_eff)],   |m| = 1,
Eq. 2:  H_eff = H_l − F⁻¹{κ(k) m̂}.

The local field H_l is the sum of the local terms (:mod:`spsll.physics.terms`): uniaxial
anisotropy Hk m_z ẑ, the thin-film shape term −Ms m_z ẑ, and a uniform applied field. With both
axial terms the gap field is H_gap = Hk − Ms.

Tensors are batched (B, 3, *shape) — a chain (N,), a film (Nx, Ny), bulk (Nx, Ny, Nz) — float64
by default, on any device. The hot path (one RK4 step) is a pure function of tensors so that
``torch.compile`` can fuse the element-wise work around the FFTs; it falls back to eager mode when
compilation is unavailable.
"""

from __future__ import annotations

import math

import torch

from spsll.physics.checks import check_finite_state
from spsll.physics.compiled import maybe_compile
from spsll.physics.material import Material
from spsll.physics.terms import Zeeman, local_terms
from spsll.physics.terms.axial import AxialTerm
from spsll.physics.terms.exchange import ExchangeTerm, exchange_field


class LLSystem:
    """A batch of chains: the exchange term, the local terms, damping α and the material.

    ``terms`` are the other field terms (default: :func:`spsll.physics.terms.local_terms` of the
    material): the axial ones (anisotropy, shape) enter the fused hot path as one coefficient
    c = Σ c_i of c·m_z ẑ, a Zeeman term as H_app; any other term (DMI, thin-film magnetostatics) is
    added as its ``field(m)`` and must also offer ``rate_bound()`` (its field scale, A/m, for the
    time step) and ``select(index)`` (the term for a subset of the batch).
    """

    def __init__(self, material: Material, exchange: ExchangeTerm, alpha: float, terms=None):
        if not (math.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"alpha must be a finite number >= 0, got {alpha}")
        self.material = material
        self.exchange = exchange
        self.alpha = float(alpha)
        self.terms = tuple(local_terms(material) if terms is None else terms)
        self.z_coefficient = sum(t.z_coefficient for t in self.terms if isinstance(t, AxialTerm))
        self._zeeman = [t for t in self.terms if isinstance(t, Zeeman)]
        if len(self._zeeman) > 1:
            raise ValueError("one Zeeman term at most (add the fields)")
        self.extra = tuple(t for t in self.terms if not isinstance(t, AxialTerm | Zeeman))

    # -- fields ---------------------------------------------------------------------------------
    def applied_tensor(self, like: torch.Tensor) -> torch.Tensor | None:
        """H_app as (1, 3, 1) in the dtype/device of ``like``, or None without a Zeeman term."""
        return self._zeeman[0].vector(like) if self._zeeman else None

    def field(self, m: torch.Tensor) -> torch.Tensor:
        """H_eff(m) in A/m, shape of m (Eq. 2)."""
        return effective_field(m, self.exchange.kernel, self.exchange.weight,
                               self.z_coefficient, self.applied_tensor(m), self.exchange.mask, self.extra)

    def rhs(self, m: torch.Tensor) -> torch.Tensor:
        """∂m/∂t (Eq. 1) in 1/s."""
        return ll_rhs(m, self.field(m), self.material.gamma_mu0, self.alpha)

    def torque(self, m: torch.Tensor) -> torch.Tensor:
        """Max over cells of |m × H_eff| per sample (A/m): zero at equilibrium."""
        return torch.linalg.cross(m, self.field(m), dim=1).norm(dim=1).flatten(1).amax(dim=1)

    def energy(self, m: torch.Tensor) -> torch.Tensor:
        """Energy per sample, the sum of the terms' energies: J/m² (per unit cross-section) on a chain,
        J/m (per unit thickness) in a film, J in bulk.

        H_ex is linear in m, so this is the energy whose gradient is H_eff for the symmetric
        exchange readings (psll, spsll, explicit vacancies); the convolution reading is not
        symmetric and has no such energy.
        """
        mu0_ms = self.material.mu0 * self.material.Ms
        e = self.exchange.energy(m, self.material.a ** (m.ndim - 2), mu0_ms)
        for term in self.terms:
            e = e + term.energy(m)
        return e

    # -- stiffness ------------------------------------------------------------------------------
    def field_bound(self) -> float:
        """Upper bound on the linearised field scale over the batch (A/m)."""
        applied = self._zeeman[0].applied if self._zeeman else (0.0, 0.0, 0.0)
        loc = abs(self.z_coefficient) + math.sqrt(sum(h * h for h in applied))
        return float(self.exchange.rate_bound().max()) + loc + sum(float(t.rate_bound()) for t in self.extra)

    def rate_bound(self) -> float:
        """Upper bound on |λ| of the linearised RHS (rad/s): γμ0 H_bound √(1+α²)."""
        return self.material.gamma_mu0 * self.field_bound() * math.sqrt(1 + self.alpha**2)


def effective_field(m, kernel, weight, z_coefficient: float, h_app=None, mask=None, extra=()):
    """H_eff = H_ex + c m_z ẑ (+ H_app) for a batch m (B, 3, *shape).

    With an explicit-vacancy ``mask`` r (B, 1, *shape) the whole field is r·H_eff: vacant cells feel no
    field (see :func:`spsll.physics.terms.exchange.masked_exchange`).
    """
    h = exchange_field(m, kernel, weight)  # a fresh tensor, safe to update in place
    h[:, 2] += z_coefficient * m[:, 2]
    if h_app is not None:
        h = h + h_app
    for term in extra:  # non-local terms other than exchange (DMI, magnetostatics)
        h = h + term.field(m)
    if mask is not None:
        h = h * mask
    return h


def ll_rhs(m, h, gamma_mu0: float, alpha: float):
    """−γμ0 [m×H + α m×(m×H)] with m×(m×H) = m(m·H) − H(m·m) (Eq. 1)."""
    mxh = torch.linalg.cross(m, h, dim=1)
    mh = (m * h).sum(1, keepdim=True)
    mm = (m * m).sum(1, keepdim=True)
    return -gamma_mu0 * (mxh + alpha * (m * mh - h * mm))


def normalise(m: torch.Tensor, mask=None) -> torch.Tensor:
    """Project back onto |m| = 1 (cell-wise); with an explicit-vacancy ``mask`` (B, 1, *shape), vacant
    cells (m = 0) stay exactly 0 and occupied ones are normalised exactly as without a mask."""
    n = m.norm(dim=1, keepdim=True)
    if mask is None:
        return m / n
    return m / n.clamp_min(torch.finfo(m.dtype).tiny) * mask


def _rk4_step(m, dt, kernel, weight, zc: float, h_app, gm: float, alpha: float, mask=None, extra=()):
    """One classical RK4 step of Eq. 1 followed by renormalisation of |m|."""

    def f(y):
        return ll_rhs(y, effective_field(y, kernel, weight, zc, h_app, mask, extra), gm, alpha)

    k1 = f(m)
    k2 = f(m + (0.5 * dt) * k1)
    k3 = f(m + (0.5 * dt) * k2)
    k4 = f(m + dt * k3)
    return normalise(m + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4), mask)


RK4_STABILITY = 2.8  # |λ dt| limit of classical RK4 on the imaginary axis (2√2 ≈ 2.83)


def rk4_stepper(compile: bool | str = "auto", work: int = 0):
    """The RK4 step, compiled when the work (cells × steps) repays it (see :mod:`.compiled`)."""
    return maybe_compile(_rk4_step, compile, work)


def choose_time_step(system: LLSystem, interval: float, phase_per_step: float) -> tuple[float, int]:
    """Largest step with |λ|_max·dt ≤ ``phase_per_step`` that divides ``interval`` evenly.

    For RK4 on an oscillation the relative frequency error is ≈ (λdt)⁴/120 per step, so 0.35
    keeps it below 1.3e-4 (1.4 GHz at 10.7 THz, 1.4 % of a 100 GHz bin). Returns (dt, steps per
    interval).
    """
    if not (0 < phase_per_step <= 2.5):
        raise ValueError(f"phase_per_step must be in (0, 2.5] (RK4 stability), got {phase_per_step}")
    dt_max = phase_per_step / system.rate_bound()
    n_sub = max(1, math.ceil(interval / dt_max - 1e-9))
    return interval / n_sub, n_sub


def integrate(system: LLSystem, m0: torch.Tensor, dt: float, n_steps: int, *,
              compile: bool | str = "auto", callback=None, every: int = 1,
              check_every: int = 200) -> torch.Tensor:
    """Integrate Eq. 1 with RK4 for ``n_steps`` steps of ``dt`` seconds.

    ``callback(step, m)`` is called after every ``every``-th step (and with step 0 before the
    first). The state is checked for NaN/inf every ``check_every`` steps and at the end; a
    non-finite sample raises :class:`~spsll.physics.checks.NonFiniteStateError` with its index.
    """
    if dt * system.rate_bound() > RK4_STABILITY:
        raise ValueError(
            f"time step dt = {dt:.3g} s exceeds the RK4 stability bound "
            f"{RK4_STABILITY / system.rate_bound():.3g} s of this operator; use choose_time_step"
        )
    step = rk4_stepper(compile, m0[:, 0].numel() * n_steps)
    ex = system.exchange
    h_app = system.applied_tensor(m0)
    zc, gm, al = system.z_coefficient, system.material.gamma_mu0, system.alpha
    # dt as a 0-d tensor: a compiled step is then not re-specialised for every chunk's own dt
    dt = torch.tensor(dt, dtype=m0.dtype, device=m0.device)
    m = m0
    if callback is not None:
        callback(0, m)
    for i in range(1, n_steps + 1):
        m = step(m, dt, ex.kernel, ex.weight, zc, h_app, gm, al, ex.mask, system.extra)
        if callback is not None and i % every == 0:
            callback(i, m)
        if i % check_every == 0:
            check_finite_state(m, f"RK4 step {i}")
    check_finite_state(m, "RK4 integration")
    return m
