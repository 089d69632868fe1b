"""Small-amplitude magnon dispersion of the k-diagonal solvers, in closed form and differentiable.

Around the uniform state m = ẑ the LL equation (Eq. 1) linearises mode by mode when the exchange
term is diagonal in k, and every mode precesses at

    f(k) = f_gap + X0 [1 − cos ka] F(k)                                   (Eq. 6 with Eq. 4's filter)

with the solver's filter F(k) (:meth:`spsll.physics.solvers.Solver.linear_filter`: F ≡ 1 for
``psll``, F(k) = φ + √(S_cont(k) Δk) for ``spsll``, Δk = 2π/(N a) of the simulation grid). This is
the frequency that :func:`~spsll.physics.measure.dispersion.simulate_dispersions` measures with a
weak pulse (tests: within the RK4 and peak-refinement error of a few GHz, against a 100 GHz
frequency bin). Because it is a formula in σ and τ, autograd differentiates the solver's own
dispersion without integrating in time: the physics-refined inversion descends on it. Readings that
couple modes (``spsll_convolution``, explicit vacancies) are refused.
"""

from __future__ import annotations

import torch

from spsll.physics.grid import Grid
from spsll.physics.material import Material
from spsll.physics.solvers import solver_of


def linear_dispersion(material: Material, k, sigma, tau, *, n_cells: int, solver: str = "spsll") -> torch.Tensor:
    """f(k) in Hz, shape (B, K), for wavenumbers ``k`` (rad/m) and (σ, τ) in metres (shape (B,)).

    ``n_cells`` is the simulation grid the dataset used (the RTN spectrum lives on it).
    Gradients flow to ``sigma`` and ``tau`` when they require grad.
    """
    impl = solver_of(solver)
    k = torch.as_tensor(k, dtype=torch.float64)
    sigma = torch.as_tensor(sigma, dtype=torch.float64).reshape(-1)
    tau = torch.as_tensor(tau, dtype=torch.float64).reshape(-1)
    if sigma.shape != tau.shape:
        raise ValueError(f"sigma and tau need the same shape, got {tuple(sigma.shape)} and {tuple(tau.shape)}")
    if bool((sigma <= 0).any()) or bool((tau < 0).any()):
        raise ValueError("need sigma > 0 and tau >= 0 (metres)")
    shape = (1 - torch.cos(k * material.a))[None, :]
    return material.f_gap + material.X0 * shape * impl.linear_filter(k, sigma, tau, Grid(n_cells, material.a))


def has_linear_dispersion(solver: str) -> bool:
    """Whether ``solver`` is k-diagonal, so that :func:`linear_dispersion` exists for it."""
    return solver_of(solver).k_diagonal
