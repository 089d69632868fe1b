"""Non-local exchange operators of the (S)PS-LL model: H_ex = −F⁻¹{κ(k) m̂} (Eq. 2).

κ(k) m̂ = Ms ω(k) W(k) (Eq. 5) with ω(k) = 2 (λex/a)² [1 − cos ak] (Eq. 6). The three solvers differ
only in how the defect spectrum enters W (Eq. 4), following SPEC §1.3:

* ``psll``              W = m̂ (the perfect chain).
* ``spsll`` (default)   W = F(k) m̂ with F(k) = φ + √P_cont(k), φ = σ/(σ+τ): the filter reading of
                        Eq. 4 (the δ acts as the identity with amplitude φ). Translation invariant,
                        symmetric (so it derives from an energy), exactly ``psll`` at τ = 0.
* ``spsll_convolution`` W = √P ∗ m̂ literally, a circular convolution over the k grid, which is
                        W = FFT(g·m) with g(x) = Σ_j √P_j e^{i k_j x}. g is real, even and sharply
                        peaked at cell 0 (the "spike", g(0) ≈ 5–7 for the paper's parameters) and
                        ≈ φ-ish far from it. The operator is not translation invariant and not
                        symmetric, is 5–10× stiffer (smaller stable step, see ``rate_bound``), and a
                        wall placed on the spike is unstable: keep pulses and walls away from cell 0.

The discrete spectrum P_j (``rtn.discrete_spectrum``) lives on the simulation's own k grid, so the
grid size N is part of the model: √P_cont scales with √Δk = √(2π/(N a)).

The explicit-vacancy reference ``rtn_ensemble`` (:mod:`spsll.physics.rtn_ensemble`) uses
:func:`masked_exchange`: the ``psll`` kernel between two occupation masks, H = r·F⁻¹{κ F{r m}}.
"""

from __future__ import annotations

import torch

from spsll.physics import rtn
from spsll.physics.checks import require_int_at_least, require_nonnegative, require_positive
from spsll.physics.material import Material

SOLVER_NAMES = ("psll", "spsll", "spsll_convolution")
MIN_CELLS = 8


def exchange_dispersion(k: torch.Tensor, material: Material) -> torch.Tensor:
    """Dimensionless magnon dispersion ω(k) = 2 (λex/a)² [1 − cos ak] (Eq. 6)."""
    return material.exchange_prefactor * (1 - torch.cos(k * material.a))


def rfft_wavenumbers(n_cells: int, a: float, *, dtype=torch.float64, device=None) -> torch.Tensor:
    """Non-negative wavenumbers of ``torch.fft.rfft`` on a grid of ``n_cells`` cells (rad/m)."""
    return 2 * torch.pi * torch.fft.rfftfreq(n_cells, d=a, dtype=dtype, device=device)


class ExchangeOperator:
    """H_ex(m) = −Ms F⁻¹{ω(k) W(k)} for a batch m of shape (B, 3, N).

    ``kernel`` is Ms ω(k) [· F(k)] on the rfft grid, shape (B or 1, 1, N//2+1); ``weight`` is g(x)
    of the convolution reading, shape (B, 1, N), or ``None``. ``mask`` (B, 1, N) of 0./1., or
    ``None``, is the explicit-vacancy occupation r of ``rtn_ensemble`` (:func:`masked_exchange`):
    the whole effective field is multiplied by it, so vacant cells feel no field (and, holding
    m = 0, keep m = 0).
    """

    def __init__(self, name: str, kernel: torch.Tensor, weight: torch.Tensor | None, n_cells: int,
                 mask: torch.Tensor | None = None):
        self.name = name
        self.kernel = kernel
        self.weight = weight
        self.n_cells = n_cells
        self.mask = mask

    @property
    def batch_size(self) -> int:
        return max(self.kernel.shape[0], 1 if self.weight is None else self.weight.shape[0])

    def field(self, m: torch.Tensor) -> torch.Tensor:
        h = exchange_field(m, self.kernel, self.weight)
        return h if self.mask is None else h * self.mask

    def rate_bound(self) -> torch.Tensor:
        """Upper bound of the operator's field scale per sample (A/m): max κ · max|g|.

        For the symmetric filters this is the largest eigenvalue; for the convolution it bounds
        ‖C_κ diag(g)‖ ≤ max κ · max|g|, which is what makes that reading stiff.
        """
        kmax = self.kernel.abs().amax(dim=(1, 2))
        if self.weight is not None:
            kmax = kmax * self.weight.abs().amax(dim=(1, 2))
        return kmax

    def select(self, index: torch.Tensor) -> ExchangeOperator:
        """The operator restricted to the samples ``index`` (shared kernels stay shared)."""
        kernel = self.kernel if self.kernel.shape[0] == 1 else self.kernel[index]
        weight = None if self.weight is None else self.weight[index]
        mask = None if self.mask is None else self.mask[index]
        return ExchangeOperator(self.name, kernel, weight, self.n_cells, mask)

    def to(self, dtype=None, device=None) -> ExchangeOperator:
        w = None if self.weight is None else self.weight.to(dtype=dtype, device=device)
        r = None if self.mask is None else self.mask.to(dtype=dtype, device=device)
        return ExchangeOperator(
            self.name, self.kernel.to(dtype=dtype, device=device), w, self.n_cells, r
        )


def exchange_field(m: torch.Tensor, kernel: torch.Tensor, weight: torch.Tensor | None):
    """−F⁻¹{kernel · F{weight·m}} along the last axis (Eqs. 2, 4, 5); ``weight=None`` is g ≡ 1."""
    src = m if weight is None else weight * m
    return -torch.fft.irfft(kernel * torch.fft.rfft(src, dim=-1), n=m.shape[-1], dim=-1)


def make_exchange(
    name: str,
    material: Material,
    n_cells: int,
    sigma=None,
    tau=None,
    *,
    dtype=torch.float64,
    device=None,
) -> ExchangeOperator:
    """Build the exchange operator of solver ``name`` for a batch of (σ, τ) in metres.

    ``psll`` ignores σ, τ (they may be ``None``) and returns one kernel shared by the batch.
    """
    if name not in SOLVER_NAMES:
        raise ValueError(f"solver name must be one of {SOLVER_NAMES}, got {name!r}")
    n_cells = require_int_at_least("n_cells", n_cells, MIN_CELLS)
    k = rfft_wavenumbers(n_cells, material.a, dtype=torch.float64, device=device)
    kappa = material.Ms * exchange_dispersion(k, material)  # (N//2+1,)
    if name == "psll":
        kernel = kappa.reshape(1, 1, -1)
        return ExchangeOperator(name, kernel.to(dtype), None, n_cells)

    if sigma is None or tau is None:
        raise ValueError(f"solver {name!r} needs sigma and tau (metres)")
    sigma = require_positive("sigma", sigma, device=device)
    tau = require_nonnegative("tau", tau, device=device)
    if sigma.shape != tau.shape:
        raise ValueError(f"sigma and tau must have the same batch shape, got {sigma.shape} and "
                         f"{tau.shape}")
    P = rtn.discrete_spectrum(n_cells, material.a, sigma, tau, dtype=torch.float64, device=device)
    phi = rtn.material_fraction(sigma, tau)  # (B,)
    if name == "spsll":
        p_cont = P[:, : n_cells // 2 + 1].clone()
        p_cont[:, 0] -= phi**2  # the delta is the identity with amplitude φ
        filt = phi[:, None] + torch.sqrt(p_cont.clamp_min(0))
        filt[tau == 0] = 1.0  # exact PS-LL at τ = 0 (no round-off from φ² − φ²)
        kernel = (kappa[None, :] * filt)[:, None, :]
        return ExchangeOperator(name, kernel.to(dtype), None, n_cells)

    # spsll_convolution: g(x_n) = Σ_j √P_j e^{i k_j x_n}; P is even, so g is real (irfft, no 1/N).
    amp = torch.sqrt(P[:, : n_cells // 2 + 1])
    g = torch.fft.irfft(amp, n=n_cells, dim=-1, norm="forward")
    g[tau == 0] = 1.0
    return ExchangeOperator(name, kappa.reshape(1, 1, -1).to(dtype), g[:, None, :].to(dtype),
                            n_cells)


def masked_exchange(material: Material, mask, *, dtype=torch.float64, device=None) -> ExchangeOperator:
    """Exchange of chains with explicit vacancies (solver ``rtn_ensemble``), one chain per mask row.

    ``mask`` r (M, N) or (M, 1, N) holds 1 on occupied and 0 on vacant cells. The field is

        H_ex,i = −r_i F⁻¹{κ(k) F{r m}(k)}_i = r_i Σ_j K(x_i − x_j) r_j m_j,   K = −F⁻¹{κ},

    the PS-LL kernel sandwiched between the masks: the pair interaction K_ij between cells i and j
    exists only if both are occupied (for Eq. 6, K is the nearest-neighbour stencil
    Ms (λex/a)² [1, −2, 1], so a bond i–i+1 exists only if both cells hold a moment; a longer-ranged
    κ(k) is diluted the same way, pair by pair). It is symmetric, so it derives from the energy
    E = −½ μ0 Ms a Σ_ij r_i r_j m_i·K_ij m_j. The self term K_ii m_i = −2 Ms (λex/a)² m_i is kept
    whatever the neighbours: it is parallel to m_i, so it exerts no torque (m × H and
    m × (m × H)) and does not change the dynamics or the relaxed state; it only shifts the energy by
    a constant (|m_i| = 1). With every cell occupied (τ = 0) r ≡ 1, the multiplications by 1 are
    exact and the operator is the ``psll`` one to the bit. Vacant cells hold m = 0 (the integrators
    keep them there); the local field is masked as well (:func:`spsll.physics.llg.effective_field`).
    """
    r = torch.as_tensor(mask, dtype=dtype, device=device)
    if r.ndim == 2:
        r = r[:, None, :]
    if r.ndim != 3 or r.shape[1] != 1:
        raise ValueError(f"mask must have shape (M, N) or (M, 1, N), got {tuple(r.shape)}")
    n_cells = require_int_at_least("n_cells", r.shape[-1], MIN_CELLS)
    if not bool(((r == 0) | (r == 1)).all()):
        raise ValueError("mask must hold only 0 (vacancy) and 1 (occupied cell)")
    k = rfft_wavenumbers(n_cells, material.a, dtype=torch.float64, device=device)
    kappa = (material.Ms * exchange_dispersion(k, material)).reshape(1, 1, -1).to(dtype)
    return ExchangeOperator("rtn_ensemble", kappa, r, n_cells, r)
