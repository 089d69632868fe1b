"""Small-amplitude magnon dispersion of the k-diagonal solvers, in closed form and differentiable.

Around the uniform state m = ẑ the LL equation (Eq. 1) linearises mode by mode when the exchange
operator is diagonal in k (``psll``, ``spsll``; SPEC §1.3), and every mode precesses at

    f(k) = f_gap + X0 [1 − cos ka] F(k)                                   (Eq. 6 with Eq. 4's filter)

with F ≡ 1 (``psll``) or F(k) = φ + √(S_cont(k) Δk) (``spsll``: φ = σ/(σ+τ), S_cont of Eq. 3,
Δk = 2π/(N a) of the simulation grid). This is the frequency that :func:`simulate_dispersions`
measures with a weak pulse (tests: within the RK4 and peak-refinement error of a few GHz, against
a 100 GHz frequency bin). Because it is a formula in σ and τ, autograd differentiates the solver's
own dispersion without integrating in time: the physics-refined inversion descends on it.

``spsll_convolution`` multiplies m by g(x) in real space, which couples modes, so it has no such
closed form; it is refused here.
"""

from __future__ import annotations

import math

import torch

from spsll.physics import rtn
from spsll.physics.material import Material

DIAGONAL_SOLVERS = ("psll", "spsll")


def exchange_filter(k: torch.Tensor, sigma: torch.Tensor, tau: torch.Tensor, n_cells: int,
                    cell_size: float) -> torch.Tensor:
    """F(k) = φ + √(S_cont(k) Δk) of the ``spsll`` kernel (Eq. 4, filter reading), shape (B, K).

    Differentiable in σ and τ (m, shape (B,)); exactly 1 where τ = 0 (the √ is guarded so the
    gradient stays finite there).
    """
    dk = 2.0 * math.pi / (n_cells * cell_size)
    p_cont = rtn.continuous_spectrum(k, sigma, tau) * dk
    positive = p_cont > 0
    root = torch.where(positive, torch.sqrt(torch.where(positive, p_cont, torch.ones_like(p_cont))),
                       torch.zeros_like(p_cont))
    return sigma[:, None] / (sigma + tau)[:, None] + root


def linear_dispersion(material: Material, k, sigma, tau, *, n_cells: int, solver: str = "spsll") -> torch.Tensor:
    """f(k) in Hz, shape (B, K), for wavenumbers ``k`` (rad/m) and (σ, τ) in metres (shape (B,)).

    ``n_cells`` is the simulation grid the dataset used (the RTN spectrum lives on it, SPEC §1.3).
    Gradients flow to ``sigma`` and ``tau`` when they require grad.
    """
    if solver not in DIAGONAL_SOLVERS:
        raise ValueError(f"linear_dispersion exists for the k-diagonal solvers {DIAGONAL_SOLVERS}, not "
                         f"{solver!r} (spsll_convolution couples modes: simulate it instead)")
    k = torch.as_tensor(k, dtype=torch.float64)
    sigma = torch.as_tensor(sigma, dtype=torch.float64).reshape(-1)
    tau = torch.as_tensor(tau, dtype=torch.float64).reshape(-1)
    if sigma.shape != tau.shape:
        raise ValueError(f"sigma and tau need the same shape, got {tuple(sigma.shape)} and {tuple(tau.shape)}")
    if bool((sigma <= 0).any()) or bool((tau < 0).any()):
        raise ValueError("need sigma > 0 and tau >= 0 (metres)")
    shape = (1 - torch.cos(k * material.a))[None, :]
    if solver == "psll":
        return (material.f_gap + material.X0 * shape).expand(sigma.shape[0], -1)
    return material.f_gap + material.X0 * shape * exchange_filter(k, sigma, tau, n_cells, material.a)
