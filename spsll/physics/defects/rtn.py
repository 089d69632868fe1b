"""Random telegraph noise (RTN) model of vacancy defects in a 1-D spin chain.

A chain of material ("1") and vacancy ("0") segments with exponentially distributed lengths of
mean ``sigma`` (material) and ``tau`` (vacancy) is a stationary random telegraph signal. Its
two-sided power spectral density in the wavenumber ``k`` (rad/m) is Eq. 3 of Eagan, Copus &
Iacocca; Machlup, J. Appl. Phys. 25, 341 (1954)::

    S(k) = (1/pi) * sigma*tau/(sigma+tau)**2 * T/(1 + (k*T)**2) + (sigma/(sigma+tau))**2 * delta(k)
    T    = (1/sigma + 1/tau)**-1 = sigma*tau/(sigma+tau)

The continuous (Lorentzian) part integrates to ``phi*(1-phi)`` and the total power is
``phi = <RTN**2>``, with ``phi = sigma/(sigma+tau)`` the material fraction. ``tau = 0`` is the
perfect material, ``S = delta(k)``.

Discretisation: on a periodic grid of ``n`` cells of size ``a`` the wavenumbers are
``k_j = 2*pi*fftfreq(n, d=a)`` (FFT order) and ``dk = 2*pi/(n*a)``. The discrete spectrum is
``P_j = S_cont(k_j)*dk`` for every ``j`` plus ``phi**2`` at ``j = 0``, so ``sum_j P_j ~= phi``;
``sqrt(P_j)`` is the expected normalised amplitude spectrum ``|FFT(rtn)|/n`` of one realisation.
``tau = 0`` gives exactly ``P = delta_j0``.

All lengths are in metres (SI), wavenumbers in rad/m. The functions are batched over
``(sigma, tau)`` and device/dtype agnostic (default ``torch.float64``).
"""

from __future__ import annotations

import math

import torch

from spsll.physics.checks import (
    require_int_at_least,
    require_nonnegative,
    require_positive,
    require_scalar_nonnegative,
    require_scalar_positive,
)
from spsll.units import correlation_length as correlation_length_of
from spsll.units import material_fraction as material_fraction_of

# Elements of one (realisations x (dwells + cells)) work array in `sample_rtn`; bounds memory.
_SAMPLER_BUDGET = 1 << 22


# --------------------------------------------------------------------------------------------
# private helpers
# --------------------------------------------------------------------------------------------
def _infer_dtype_device(*values, dtype=None, device=None):
    """Floating dtype/device of the first floating tensor among ``values`` (else float64/None)."""
    for v in values:
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            return (dtype or v.dtype), (device if device is not None else v.device)
    return (dtype or torch.float64), device


def batch_params(sigma, tau, *, dtype=torch.float64, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated, broadcast (B,) tensors ``sigma > 0`` and ``tau >= 0``."""
    if sigma is None or tau is None:
        raise ValueError("the defect model needs sigma and tau (metres) for every sample")
    s = require_positive("sigma", sigma, dtype=dtype, device=device)
    t = require_nonnegative("tau", tau, dtype=dtype, device=device)
    if s.shape != t.shape:
        if s.numel() == 1:
            s = s.expand_as(t)
        elif t.numel() == 1:
            t = t.expand_as(s)
        else:
            raise ValueError(
                f"sigma and tau must have the same batch shape (or one of them a scalar); got "
                f"sigma {tuple(s.shape)} and tau {tuple(t.shape)}"
            )
    return s, t


def phi_and_T(s: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """φ and T of validated (σ, τ) tensors."""
    return material_fraction_of(s, t), correlation_length_of(s, t)  # σ + τ > 0 because σ > 0


# --------------------------------------------------------------------------------------------
# analytic spectrum
# --------------------------------------------------------------------------------------------
def material_fraction(sigma, tau) -> torch.Tensor:
    """Material fraction ``phi = sigma/(sigma+tau)``, shape (B,); exactly 1 where ``tau = 0``."""
    dtype, device = _infer_dtype_device(sigma, tau)
    s, t = batch_params(sigma, tau, dtype=dtype, device=device)
    return phi_and_T(s, t)[0]


def correlation_length(sigma, tau) -> torch.Tensor:
    """Correlation length ``T = (1/sigma + 1/tau)**-1 = sigma*tau/(sigma+tau)`` (m), shape (B,).

    ``T = 0`` where ``tau = 0`` (perfect material).
    """
    dtype, device = _infer_dtype_device(sigma, tau)
    s, t = batch_params(sigma, tau, dtype=dtype, device=device)
    return phi_and_T(s, t)[1]


def continuous_spectrum(k, sigma, tau) -> torch.Tensor:
    """Continuous (Lorentzian) part of the RTN spectrum, Eq. 3, in m/rad.

    ``S_cont(k) = (1/pi) * sigma*tau/(sigma+tau)**2 * T/(1+(k*T)**2)``.

    Args:
        k: wavenumbers (rad/m), shape (K,) (or a scalar, K = 1).
        sigma, tau: mean material / vacancy lengths (m), scalars or shape (B,).

    Returns:
        Tensor (B, K), in the dtype/device of ``k`` (float64 if ``k`` is not a floating tensor);
        exactly 0 in rows with ``tau = 0``.
    """
    dtype, device = _infer_dtype_device(k, sigma, tau)
    kk = torch.as_tensor(k, dtype=dtype, device=device)
    if kk.ndim == 0:
        kk = kk.reshape(1)
    if kk.ndim != 1:
        raise ValueError(f"k must be a scalar or a 1-D tensor, got shape {tuple(kk.shape)}")
    if not bool(torch.isfinite(kk).all()):
        raise ValueError("k must be finite")
    s, t = batch_params(sigma, tau, dtype=dtype, device=device)
    phi, T = phi_and_T(s, t)
    amp = (phi * (1.0 - phi) / math.pi)[:, None]  # sigma*tau/(sigma+tau)^2 / pi
    kT = kk[None, :] * T[:, None]
    S = amp * T[:, None] / (1.0 + kT * kT)
    return torch.where((t == 0)[:, None], torch.zeros_like(S), S)


def wavenumbers(
    n_cells: int, cell_size: float, *, dtype=torch.float64, device=None
) -> torch.Tensor:
    """``k_j = 2*pi*fftfreq(n_cells, d=cell_size)`` (rad/m), FFT order, shape (n_cells,)."""
    n = require_int_at_least("n_cells", n_cells, 1)
    a = require_scalar_positive("cell_size", cell_size)
    return (2.0 * math.pi) * torch.fft.fftfreq(n, d=a, dtype=dtype, device=device)


def discrete_spectrum(
    n_cells: int, cell_size: float, sigma, tau, *, dtype=torch.float64, device=None
) -> torch.Tensor:
    """Discrete RTN power spectrum on a periodic grid, shape (B, n_cells), FFT order.

    ``P_j = S_cont(k_j) * dk`` with ``dk = 2*pi/(n_cells*cell_size)``, plus ``phi**2`` at
    ``j = 0`` (the delta); ``sum_j P_j ~= phi`` (slightly less: the Lorentzian tails beyond the
    Brillouin zone are cut off). Rows with ``tau = 0`` are exactly ``delta_j0``.
    """
    n = require_int_at_least("n_cells", n_cells, 2)
    a = require_scalar_positive("cell_size", cell_size)
    s, t = batch_params(sigma, tau, dtype=dtype, device=device)
    k = wavenumbers(n, a, dtype=dtype, device=device)
    dk = 2.0 * math.pi / (n * a)
    P = continuous_spectrum(k, s, t) * dk
    phi = phi_and_T(s, t)[0]
    P[:, 0] = P[:, 0] + phi * phi
    delta = torch.zeros_like(P)
    delta[:, 0] = 1.0
    return torch.where((t == 0)[:, None], delta, P)


# --------------------------------------------------------------------------------------------
# sampler
# --------------------------------------------------------------------------------------------
def _n_dwells(length: float, s: float, t: float) -> int:
    """Even number of dwells that covers ``length`` with overwhelming probability.

    Pairs (one material + one vacancy dwell) have mean ``s + t`` and variance ``s**2 + t**2``;
    the renewal count to cover ``length`` is ~ normal with mean ``length/(s+t)`` and variance
    ``length*(s**2+t**2)/(s+t)**3``. Take mean + 6 std + 2 pairs (rows that still fall short are
    extended by the caller).
    """
    mu = s + t
    mean = length / mu
    std = math.sqrt(length * (s * s + t * t) / mu**3)
    return 2 * (math.ceil(mean + 6.0 * std) + 2)


def _sample_group(
    R: int, n: int, s: float, t: float, phi: float, generator, wdtype, device
) -> torch.Tensor:
    """Sample R realisations (bool, (R, n)); lengths in units of the cell size."""
    start_one = torch.rand(R, generator=generator, dtype=wdtype, device=device) < phi
    # mean dwell of even-index (first, third, ...) and odd-index dwells for each realisation
    means = torch.empty(R, 2, dtype=wdtype, device=device)
    means[:, 0] = torch.where(start_one, s, t)
    means[:, 1] = torch.where(start_one, t, s)
    D = _n_dwells(float(n), s, t)
    chunks = []
    offset = torch.zeros(R, dtype=wdtype, device=device)
    while True:
        e = torch.empty(R, D // 2, 2, dtype=wdtype, device=device)
        e.exponential_(1.0, generator=generator)
        e = (e * means[:, None, :]).reshape(R, D)
        b = torch.cumsum(e, dim=1) + offset[:, None]
        chunks.append(b)
        offset = b[:, -1]
        if bool((offset >= n).all()):  # every chain covers the last cell centre n - 0.5
            break
    boundaries = chunks[0] if len(chunks) == 1 else torch.cat(chunks, dim=1)
    centres = torch.arange(n, dtype=wdtype, device=device) + 0.5
    # number of state changes strictly before each cell centre; its parity flips the state
    count = torch.searchsorted(boundaries, centres.expand(R, n).contiguous())
    flipped = (count & 1).bool()
    return flipped ^ start_one[:, None]


def sampler_arguments(sigma, tau, generator, device) -> tuple[float, float, torch.device]:
    """Validated scalar σ > 0 and τ ≥ 0 (m), and the device the draws go to (the generator's unless given)."""
    s = require_scalar_positive("sigma", sigma)
    t = require_scalar_nonnegative("tau", tau)
    if generator is not None and device is None:
        device = generator.device
    return s, t, torch.device(device) if device is not None else torch.device("cpu")


def sample_rtn(
    n_realisations: int,
    n_cells: int,
    dx: float,
    sigma,
    tau,
    *,
    generator: torch.Generator | None = None,
    dtype=torch.float64,
    device=None,
) -> torch.Tensor:
    """Sample stationary random telegraph noise on a grid of spacing ``dx`` (m).

    The chain starts in state 1 with probability ``phi = sigma/(sigma+tau)``; dwell lengths are
    exponential with mean ``sigma`` in state 1 and ``tau`` in state 0 (memoryless, so the first
    dwell is exponential too). Cell ``i`` takes the state at its centre ``(i + 0.5)*dx``; this is
    well defined however short the dwells are compared with ``dx``.

    Args:
        n_realisations: number of independent chains R (>= 1).
        n_cells: cells per chain (>= 2).
        dx: cell size (m, > 0).
        sigma, tau: mean material (> 0) / vacancy (>= 0) length (m), scalars for the whole batch.
            ``tau = 0`` gives all ones.
        generator: torch.Generator on ``device`` for reproducible draws.

    Returns:
        Tensor (R, n_cells) of 0./1. in ``dtype`` on ``device``.
    """
    R = require_int_at_least("n_realisations", n_realisations, 1)
    n = require_int_at_least("n_cells", n_cells, 2)
    h = require_scalar_positive("dx", dx)
    s_m, t_m, device = sampler_arguments(sigma, tau, generator, device)
    if t_m == 0.0:
        return torch.ones(R, n, dtype=dtype, device=device)
    s, t = s_m / h, t_m / h  # dwell means in units of the cell size
    phi = s_m / (s_m + t_m)
    wdtype = torch.float32 if device.type == "mps" else torch.float64
    D = _n_dwells(float(n), s, t)
    group = max(1, _SAMPLER_BUDGET // (n + D))
    out = torch.empty(R, n, dtype=dtype, device=device)
    for start in range(0, R, group):
        stop = min(R, start + group)
        out[start:stop] = _sample_group(stop - start, n, s, t, phi, generator, wdtype, device)
    return out
