"""Physics-refined inversion: start from a network's (σ, τ) and descend on the misfit of a forward model.

The misfit of one sample is the mean squared difference between the observation and the forward
model, in the observation's own units, plus a weak pull towards the starting point (the inverse
problem is ill-posed, docs/physics.md#identifiability: σ and τ separately are poorly determined, and without it a flat
direction would let them wander):

    L(p) = ‖y − F(p)‖² / (K s²) + λ ‖(p − p₀)/p_scale‖²,   p = (log σ, log(τ + τ_floor))

with s the measurement noise scale (1 GHz for refined peaks, 1e-3 for m_z) and p_scale the
network's typical error. It is minimised per sample, batched, by Levenberg–Marquardt (damped
Gauss–Newton: each step solves a 2 × 2 system, so a few tens of steps converge).

Forward models:

* ``solver`` for dispersions: the solver's own closed-form small-amplitude dispersion
  (:mod:`spsll.physics.measure.linear_response`, exact for ``psll``/``spsll``), Jacobian by autograd.
* ``surrogate`` for dispersions: the trained ``tfc_pinn``, Jacobian by autograd.
* ``solver`` for walls: relaxed walls from :func:`relax_domain_walls` (the same solver, material and
  settings as the dataset); the Jacobian by forward differences, the 3 B walls of one step relaxed
  in one batched call.

Intervals (:func:`laplace_std`): with no stated measurement noise (the generator's noiseless data)
the residual sets the noise level, as in ordinary least squares; when the caller states the noise
(``stated_noise_thz``, ``stated_noise_mz``: evaluate.py's noise levels, predict's ``noise_ghz`` /
``noise_mz``), the covariance is σ_n² (JᵀJ)⁻¹ with that noise. Why not the residual then: a residual
larger than the noise is model error (data from another model, docs/validation.md: 0.1–3 THz), which
is systematic — it moves the answer rather than spreading it — so the residual-inflated interval
widens yet still misses the truth, and looks trustworthy. With the stated noise the interval says
what the measurement determines if the model holds, and whether the model holds is a separate,
explicit test of the same residual (the misfit flag, :mod:`spsll.evaluation.flags`).

Over 300 lines: the solver, its intervals and the three forward models it runs on share the
parametrisation p and the residual scaling; split apart, each piece would restate them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from spsll.data.provenance import DataPhysics
from spsll.evaluation.noise import width_scatter_nm
from spsll.physics.measure.domain_wall import relax_domain_walls
from spsll.physics.measure.linear_response import has_linear_dispersion, linear_dispersion
from spsll.units import NM

TAU_FLOOR_NM = 0.05  # log(τ + floor): τ = 0 (no defects) stays reachable, gradients stay finite
BOX_WIDENING = 2.0  # the refinement's box: the training ranges of σ and τ widened by this factor


@dataclass
class RefineResult:
    params_nm: np.ndarray  # (B, 2) refined [σ, τ]
    misfit_before: np.ndarray  # (B,) RMS misfit of the start, observation units
    misfit_after: np.ndarray  # (B,)
    seconds: float
    steps: int
    std_nm: np.ndarray | None = None  # (B, 2) Laplace standard deviations of [σ, τ]
    std_phi: np.ndarray | None = None  # (B,)
    std_T_nm: np.ndarray | None = None  # (B,)
    bound_side: np.ndarray | None = None  # (B, 2) of σ, τ: −1 on the box's lower bound, +1 upper, 0 inside


def refine_box_nm(sigma_range_nm, tau_range_nm) -> tuple[tuple[float, float], tuple[float, float]]:
    """((σ_lo, τ_lo), (σ_hi, τ_hi)) nm: the prior's support, σ and τ within a factor
    :data:`BOX_WIDENING` of the ranges the network was trained on (where τ → 0 leaves σ unconstrained
    by any observable, this keeps it finite). τ's lower bound is 0, the defect-free chain."""
    return ((float(sigma_range_nm[0]) / BOX_WIDENING, 0.0),
            (BOX_WIDENING * float(sigma_range_nm[1]), BOX_WIDENING * float(tau_range_nm[1])))


def _bound_side(p: torch.Tensor, bounds: tuple[torch.Tensor, torch.Tensor] | None) -> np.ndarray:
    """Which parameters ended on the box (the projected step puts them exactly there). τ = 0 is a
    physical limit, not the box's, and is not reported."""
    side = torch.zeros(p.shape, dtype=torch.int8)
    if bounds is not None:
        side[(p - bounds[0]).abs() <= 1e-9] = -1
        side[(p - bounds[1]).abs() <= 1e-9] = 1
        side[:, 1] = torch.where(side[:, 1] == -1, torch.zeros_like(side[:, 1]), side[:, 1])
    return side.numpy()


def _to_p(params_nm: torch.Tensor) -> torch.Tensor:
    return torch.stack([params_nm[:, 0].clamp_min(1e-3).log(), (params_nm[:, 1].clamp_min(0) + TAU_FLOOR_NM).log()], 1)


def _log_bounds(bounds_nm) -> tuple[torch.Tensor, torch.Tensor] | None:
    """((σ_lo, τ_lo), (σ_hi, τ_hi)) nm → bounds on p = (log σ, log(τ + floor))."""
    if bounds_nm is None:
        return None
    lo, hi = (torch.as_tensor(b, dtype=torch.float64) for b in bounds_nm)
    return _to_p(lo.reshape(1, 2))[0], _to_p(hi.reshape(1, 2))[0]


def _to_params(p: torch.Tensor) -> torch.Tensor:
    tau = p[:, 1].exp() - TAU_FLOOR_NM
    # torch.where, not clamp_min: clamp's forward-mode AD rule is a Python decomposition that
    # imports torch._dynamo (tens of seconds on first use)
    return torch.stack([p[:, 0].exp(), torch.where(tau > 0, tau, torch.zeros_like(tau))], 1)


def levenberg_marquardt(residual: Callable[[torch.Tensor], torch.Tensor], jacobian: Callable, p0: torch.Tensor,
                        prior_scale: torch.Tensor, prior_weight: float, steps: int,
                        bounds: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Batched LM on r(p) (B, K) with the prior rows √λ (p − p₀)/scale appended; p (B, 2), kept
    inside ``bounds`` (lo, hi) of shape (2,) when given (projected steps)."""
    B = p0.shape[0]
    sqrt_lam = prior_weight ** 0.5

    def full_residual(p, r):
        return torch.cat([r, sqrt_lam * (p - p0) / prior_scale], 1)

    p = p0.clone()
    r = residual(p)
    cost = full_residual(p, r).pow(2).sum(1)
    mu = torch.full((B,), 1e-2, dtype=p.dtype)
    eye = torch.eye(2, dtype=p.dtype)
    prior_J = sqrt_lam * torch.diag_embed(1 / prior_scale).expand(B, 2, 2)
    for _ in range(steps):
        J = torch.cat([jacobian(p, r), prior_J], 1)  # (B, K + 2, 2)
        rr = full_residual(p, r)
        JtJ = J.transpose(1, 2) @ J
        g = (J.transpose(1, 2) @ rr.unsqueeze(2)).squeeze(2)
        damp = mu[:, None, None] * (torch.diagonal(JtJ, dim1=1, dim2=2).unsqueeze(2) * eye + 1e-12 * eye)
        step = -torch.linalg.solve(JtJ + damp, g)
        p_new = p + step.clamp(-1.0, 1.0)  # at most a factor e per step in σ or τ + floor
        if bounds is not None:
            p_new = torch.maximum(torch.minimum(p_new, bounds[1]), bounds[0])
        r_new = residual(p_new)
        cost_new = full_residual(p_new, r_new).pow(2).sum(1)
        better = cost_new < cost
        p = torch.where(better[:, None], p_new, p)
        r = torch.where(better[:, None], r_new, r)
        cost = torch.where(better, cost_new, cost)
        mu = torch.where(better, mu * 0.3, mu * 10).clamp(1e-9, 1e9)
    return p, r


def laplace_std(p: torch.Tensor, r: torch.Tensor, J_data: torch.Tensor, prior_scale: torch.Tensor,
                prior_weight: float, noise_var: float | None = None,
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Standard deviations of [σ, τ] (nm), φ and T (nm) from the curvature of the misfit at the optimum.

    cov(p) = s² (JᵀJ + λ diag(1/scale²))⁻¹ with s² = ``noise_var``, the stated noise variance of one
    residual row (in the residual's units), or without it s² = ‖r‖²/(K − 2) (the residual sets the
    noise level, as in ordinary least squares; the module docstring says why a stated noise wins);
    then the delta method through σ = e^{p₀}, τ = e^{p₁} − floor and φ = σ/(σ+τ), T = στ/(σ+τ).
    Calibration is measured, not assumed (evaluate.py reports coverage).
    """
    K = r.shape[1]
    s2 = r.pow(2).sum(1) / max(K - 2, 1) if noise_var is None else torch.full_like(r[:, 0], float(noise_var))
    H = J_data.transpose(1, 2) @ J_data + prior_weight * torch.diag_embed(1 / prior_scale**2).expand(p.shape[0], 2, 2)
    cov = s2[:, None, None] * torch.linalg.inv(H)
    q = _to_params(p)
    d = torch.stack([q[:, 0], q[:, 1] + TAU_FLOOR_NM], 1)  # dσ/dp₀, dτ/dp₁
    cov_nm = cov * d[:, :, None] * d[:, None, :]
    s_, t_ = q[:, 0], q[:, 1]
    tot = (s_ + t_).clamp_min(1e-12)
    g_phi = torch.stack([t_ / tot**2, -s_ / tot**2], 1)
    g_T = torch.stack([(t_ / tot) ** 2, (s_ / tot) ** 2], 1)

    def var(g):
        return (g[:, :, None] * cov_nm * g[:, None, :]).sum((1, 2)).clamp_min(0).sqrt()

    std_nm = torch.diagonal(cov_nm, dim1=1, dim2=2).clamp_min(0).sqrt()
    return std_nm, var(g_phi), var(g_T)


def _autograd_jacobian(forward: Callable[[torch.Tensor], torch.Tensor], scale: float):
    """dr/dp of r = (y − F(p))/scale by Jacobian-vector products: samples are independent, so one JVP
    with the tangent e_j for every sample gives column j of all B Jacobians at once."""
    def jac(p, _r):
        cols = []
        for j in range(p.shape[1]):
            tangent = torch.zeros_like(p)
            tangent[:, j] = 1.0
            # the double-backward JVP: forward-mode AD (torch.func, dual numbers) would route ops
            # through Python decompositions that import torch._dynamo (tens of seconds on first use)
            cols.append(torch.autograd.functional.jvp(forward, p, tangent)[1])
        return -torch.stack(cols, 2) / scale
    return jac


def refine_dispersion(observed_thz, k_rad_per_nm, init_nm, forward_thz: Callable[[torch.Tensor], torch.Tensor], *,
                      noise_thz: float = 1e-3, prior_scale=(0.5, 0.5), prior_weight: float = 1.0,
                      steps: int = 30, bounds_nm=None, stated_noise_thz: float | None = None) -> RefineResult:
    """Refine (σ, τ) against observed dispersions (B, K) THz with ``forward_thz(params_nm) -> (B, K)``.

    ``noise_thz`` scales the misfit (and so the prior's relative weight); ``stated_noise_thz``, the
    measurement's noise per peak (1 sd), sets the intervals when given (module docstring)."""
    y = torch.as_tensor(np.asarray(observed_thz), dtype=torch.float64)
    p0 = _to_p(torch.as_tensor(np.asarray(init_nm), dtype=torch.float64))
    if y.ndim != 2 or p0.shape[0] != y.shape[0]:
        raise ValueError(f"observed (B, K) and init (B, 2) must agree, got {tuple(y.shape)} and {tuple(p0.shape)}")

    def forward(p):
        return forward_thz(_to_params(p)).to(torch.float64)

    def residual(p):
        with torch.no_grad():
            return (y - forward(p)) / noise_thz / y.shape[1] ** 0.5

    jac = _autograd_jacobian(lambda p: forward(p) / y.shape[1] ** 0.5, noise_thz)
    t0 = time.perf_counter()
    before = residual(p0).pow(2).sum(1).sqrt() * noise_thz
    scale = torch.as_tensor(prior_scale, dtype=torch.float64)
    bounds = _log_bounds(bounds_nm)
    p, r = levenberg_marquardt(residual, jac, p0, scale, prior_weight, steps, bounds)
    # a row of r is (y − F)/(noise_thz √K): the stated noise's variance in those units
    noise_var = None if stated_noise_thz is None else (stated_noise_thz / noise_thz) ** 2 / y.shape[1]
    std = laplace_std(p, r, jac(p, r).detach(), scale, prior_weight, noise_var)
    after = r.pow(2).sum(1).sqrt() * noise_thz
    return RefineResult(_to_params(p).detach().numpy(), before.detach().numpy(), after.detach().numpy(),
                        time.perf_counter() - t0, steps, *(x.detach().numpy() for x in std),
                        bound_side=_bound_side(p.detach(), bounds))


def solver_dispersion(material, n_cells: int, k_rad_per_nm, solver: str = "spsll"):
    """``forward_thz`` of the solver's closed-form dispersion on the dataset's k grid."""
    k = torch.as_tensor(np.asarray(k_rad_per_nm), dtype=torch.float64) / NM

    def forward_thz(params_nm):
        return linear_dispersion(material, k, params_nm[:, 0] * NM, params_nm[:, 1] * NM, n_cells=n_cells,
                                 solver=solver) * 1e-12
    return forward_thz


def surrogate_dispersion(model):
    """``forward_thz`` of a trained tfc_pinn (float32 inside, float64 out); its weights are frozen."""
    model.eval().requires_grad_(False)

    def forward_thz(params_nm):
        omega, _, _ = model(params_nm.to(torch.float32))
        return omega.to(torch.float64)
    return forward_thz


def refine_walls(observed_mz, observed_width_nm, init_nm, relax: Callable[[torch.Tensor], tuple], *,
                 noise_mz: float = 1e-3, noise_width_nm: float = 1e-3, prior_scale=(0.5, 0.5),
                 prior_weight: float = 1.0, steps: int = 8, fd_step: float = 1e-3, bounds_nm=None,
                 stated_noise_mz: float | None = None, width_noise_nm=None) -> RefineResult:
    """Refine (σ, τ) against observed walls: m_z profiles (B, N) and widths (B,) nm.

    ``relax(params_nm (M, 2)) -> (mz (M, N), width_nm (M,))`` runs the solver; the Jacobian is by
    forward differences of size ``fd_step`` in log σ and log(τ + floor).

    With ``stated_noise_mz`` (the noise per m_z cell, 1 sd) and ``width_noise_nm`` ((B,) or scalar:
    the scatter that noise gives the width measured from the profile), the width's row is weighted
    by its own noise like one more cell (its default 1e-3 nm scale would let a noisy width outweigh
    the whole profile, from which it is measured), and the intervals use the stated noise.
    """
    mz = torch.as_tensor(np.asarray(observed_mz), dtype=torch.float64)
    w = torch.as_tensor(np.asarray(observed_width_nm), dtype=torch.float64).reshape(-1, 1)
    p0 = _to_p(torch.as_tensor(np.asarray(init_nm), dtype=torch.float64))
    n = mz.shape[1]
    noise_var = None
    if stated_noise_mz is not None:
        if width_noise_nm is None:
            raise ValueError("stated_noise_mz needs width_noise_nm, the width's scatter under that noise")
        sw = torch.as_tensor(np.asarray(width_noise_nm), dtype=torch.float64).reshape(-1, 1).clamp_min(1e-12)
        # every row then has the noise sd stated_noise_mz / (noise_mz √n)
        noise_width_nm = sw * noise_mz * n ** 0.5 / stated_noise_mz
        noise_var = (stated_noise_mz / noise_mz) ** 2 / n

    w_scale = torch.as_tensor(noise_width_nm, dtype=torch.float64).reshape(-1, 1).expand(mz.shape[0], 1)

    def model(p):
        m, width = relax(_to_params(p))
        scale_w = w_scale.repeat(p.shape[0] // mz.shape[0], 1)  # the Jacobian relaxes 2B walls at once
        return torch.cat([m.to(torch.float64) / noise_mz / n ** 0.5, width.reshape(-1, 1) / scale_w], 1)

    y = torch.cat([mz / noise_mz / n ** 0.5, w / w_scale], 1)

    def residual(p):
        return y - model(p)

    def jac(p, r):
        B = p.shape[0]
        shifted = torch.cat([p + torch.tensor([fd_step, 0.0]), p + torch.tensor([0.0, fd_step])], 0)
        f = model(shifted)  # 2B walls in one batched relaxation
        return torch.stack([((y - f[:B]) - r) / fd_step, ((y - f[B:]) - r) / fd_step], 2)  # dr/dp

    t0 = time.perf_counter()
    r0 = residual(p0)
    scale = torch.as_tensor(prior_scale, dtype=torch.float64)
    bounds = _log_bounds(bounds_nm)
    p, after = levenberg_marquardt(residual, jac, p0, scale, prior_weight, steps, bounds)
    std = laplace_std(p, after, jac(p, after), scale, prior_weight, noise_var)
    rms = lambda r: (r[:, :n].pow(2).sum(1).sqrt() * noise_mz).numpy()  # noqa: E731  (m_z misfit, RMS)
    return RefineResult(_to_params(p).numpy(), rms(r0), rms(after), time.perf_counter() - t0, steps,
                        *(x.numpy() for x in std), bound_side=_bound_side(p, bounds))


def refine_predictions(task: str, physics: DataPhysics, observed: dict, init_nm: np.ndarray, *,
                       forward: str = "solver", surrogate=None, prior_weight: float = 0.01,
                       steps: int | None = None, noise: float | None = None) -> RefineResult:
    """Refine inverse-model predictions ``init_nm`` of the observations in ``observed``
    ({"dispersion": (B, K) THz, "k_rad_per_nm": (K,)} or {"mz": (B, N), "width_nm": (B,)})
    with the forward model ``forward`` (``solver`` or ``surrogate``) of ``physics``.

    ``noise``: the measurement's stated noise, 1 sd (THz per peak for dispersions, per m_z cell for
    walls), or None (noiseless data: the residual sets the intervals)."""
    material, solver, meas = physics.material, physics.solver, physics.measurement
    bounds = refine_box_nm(physics.sigma_range_nm, physics.tau_range_nm)
    if noise is not None and not noise > 0:
        raise ValueError(f"the stated noise must be > 0 (or None), got {noise}")
    if task == "dispersion":
        if forward == "surrogate":
            if surrogate is None:
                raise ValueError("refine with forward=surrogate needs a trained tfc_pinn (surrogate_run_id=...)")
            fwd = surrogate_dispersion(surrogate)
        elif forward == "solver":
            if not has_linear_dispersion(solver.name):
                raise ValueError(f"the dataset's solver {solver.name!r} has no closed-form dispersion; refine with "
                                 "forward=surrogate (a tfc_pinn trained on it)")
            if getattr(meas, "n_rows", 1) > 1:  # the closed form is the chain's filter, not the film box's
                raise ValueError(f"the closed-form dispersion is the chain's; this dataset is a film of {meas.n_rows} "
                                 "rows, whose filter depends on its box: refine with forward=surrogate (a tfc_pinn "
                                 "trained on the film file)")
            fwd = solver_dispersion(material, meas.n_cells, observed["k_rad_per_nm"], solver.name)
        else:
            raise ValueError(f"refine forward must be solver or surrogate, got {forward!r}")
        return refine_dispersion(observed["dispersion"], observed["k_rad_per_nm"], init_nm, fwd,
                                 prior_weight=prior_weight, steps=steps or 30, bounds_nm=bounds,
                                 stated_noise_thz=noise)
    if forward != "solver":
        raise ValueError("walls are refined through the solver only (forward=solver): there is no wall surrogate")
    settings = meas.settings()

    def relax(p_nm):
        r = relax_domain_walls(material, p_nm[:, 0] * NM, p_nm[:, 1] * NM, solver=solver, settings=settings)
        return r.mz, r.width_nm

    width_noise = None if noise is None else width_scatter_nm(observed["mz"], noise, physics)
    return refine_walls(observed["mz"], observed["width_nm"], init_nm, relax, prior_weight=prior_weight,
                        steps=steps or 8, bounds_nm=bounds, stated_noise_mz=noise, width_noise_nm=width_noise)
