"""Coloured Poisson hyperplane mosaic: the RTN defect model in 1, 2 and 3 dimensions.

Isotropic Poisson lines (2D) or planes (3D) cut space into convex cells; each cell is material (1)
with probability ``phi = sigma/(sigma+tau)`` or vacancy (0), independently. The hyperplane
intensity makes the crossings along any straight line a Poisson process of rate ``1/T``,
``T = sigma*tau/(sigma+tau)``, so every straight line section is exactly the paper's RTN
(:mod:`spsll.physics.defects.rtn`) with mean lengths ``sigma`` and ``tau``. The covariance is
``C(r) = phi*(1-phi)*exp(-r/T) + phi**2`` and, with ``S = (2*pi)**-d * integral C exp(-ik.r) d^d r``::

    S_1(k) = phi*(1-phi) * T    / (pi       * (1 + (k*T)**2))        + phi**2 * delta(k)  (Eq. 3)
    S_2(k) = phi*(1-phi) * T**2 / (2*pi     * (1 + (k*T)**2)**1.5)   + phi**2 * delta2(k)
    S_3(k) = phi*(1-phi) * T**3 / (pi**2    * (1 + (k*T)**2)**2)     + phi**2 * delta3(k)

Besides the continuous spectra the module gives the spectra of a gridded mosaic: the model's
discretisation ``P_j = S_d(k_j) * prod(dk)``, the lattice spectrum of a sampled (point-sampled, so
aliased) mosaic, and the expected periodogram of a mosaic that is not periodic in a periodic box
(its seam). The grid estimators recover sigma and tau from the per-step switch probabilities.
The reasoning and the measured numbers are in docs/physics.md#mosaic.

The module runs past 300 lines because the model, its three spectra, the sampler and the estimators
that check it belong together: each spectrum is only meaningful next to the sampler it describes.
All lengths are in metres (``sample_mosaic`` converts from nm at the edge), wavenumbers in rad/m.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import NamedTuple

import torch

from spsll.physics.checks import require_int_at_least, require_scalar_nonnegative, require_scalar_positive
from spsll.physics.defects.rtn import batch_params, phi_and_T, sample_rtn, sampler_arguments
from spsll.units import NM

# Elements of one work array (hash accumulator, per-line thresholds); bounds the sampler's memory.
_SAMPLER_BUDGET = 1 << 22
# mean |u.e| of a uniform unit normal u against a fixed direction e in d dimensions: 1, 2/pi, 1/2.
# Crossings of a segment of length l number (count/2R) * l * E|u.e|; rate 1/T fixes the count.
_MEAN_PROJECTION = {1: 1.0, 2: 2.0 / math.pi, 3: 0.5}
_INT64_MAX = (1 << 63) - 1


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------
def _grid_shape(shape) -> tuple[int, ...]:
    """``shape`` as a tuple of 1-3 positive ints."""
    try:
        dims = tuple(shape)
    except TypeError as err:
        raise ValueError(f"shape must be a tuple of 1 to 3 positive integers, got {shape!r}") from err
    if not 1 <= len(dims) <= 3:
        raise ValueError(f"shape must have 1, 2 or 3 entries (a chain, a film, a bulk), got {shape!r}")
    return tuple(require_int_at_least(f"shape[{i}]", n, 1) for i, n in enumerate(dims))


def _seed(seed) -> int:
    try:
        valid = not isinstance(seed, bool) and int(seed) == seed and seed >= 0
    except (TypeError, ValueError, OverflowError):
        valid = False
    if not valid:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


# --------------------------------------------------------------------------------------------
# spectra
# --------------------------------------------------------------------------------------------
def _unit_spectrum(kT: torch.Tensor, dim: int) -> torch.Tensor:
    """``S_d(k) / (phi*(1-phi)*T**d)`` as a function of ``k*T``."""
    if dim == 1:
        return 1.0 / (math.pi * (1.0 + kT * kT))
    if dim == 2:
        return 1.0 / (2.0 * math.pi * (1.0 + kT * kT) ** 1.5)
    return 1.0 / (math.pi**2 * (1.0 + kT * kT) ** 2)


def mosaic_continuous_spectrum(k, sigma, tau, dim: int, *, wavevector: bool = False) -> torch.Tensor:
    """Continuous part of the mosaic spectrum ``S_d(k)`` (m^d/rad^d), batched over (sigma, tau).

    Args:
        k: ``|k|`` (rad/m) of any shape, or with ``wavevector=True`` wavevectors of shape (..., dim).
        sigma, tau: mean material / vacancy lengths (m), scalars or shape (B,).
        dim: 1, 2 or 3. ``dim = 1`` is Eq. 3 (:func:`~spsll.physics.defects.rtn.continuous_spectrum`).

    Returns:
        Tensor (B, *kshape) (``kshape`` without the last axis for wavevectors); 0 where ``tau = 0``.
    """
    if dim not in (1, 2, 3):
        raise ValueError(f"dim must be 1, 2 or 3, got {dim!r}")
    kk = torch.as_tensor(k)
    if not kk.is_floating_point():
        kk = kk.to(torch.float64)
    if not bool(torch.isfinite(kk).all()):
        raise ValueError("k must be finite")
    if wavevector:
        if kk.ndim == 0 or kk.shape[-1] != dim:
            raise ValueError(f"wavevectors must have shape (..., {dim}), got {tuple(kk.shape)}")
        kk = torch.linalg.vector_norm(kk, dim=-1)
    s, t = batch_params(sigma, tau, dtype=kk.dtype, device=kk.device)
    phi, T = phi_and_T(s, t)
    expand = (slice(None),) + (None,) * kk.ndim
    S = (phi * (1.0 - phi) * T**dim)[expand] * _unit_spectrum(kk[None] * T[expand], dim)
    return torch.where((t == 0)[expand], torch.zeros_like(S), S)


def mosaic_wavevectors(shape, cell_size: float, *, dtype=torch.float64, device=None) -> torch.Tensor:
    """Grid wavevectors ``k_j`` (rad/m), shape (*shape, d), every axis in FFT order."""
    dims = _grid_shape(shape)
    a = require_scalar_positive("cell_size", cell_size)
    axes = [(2.0 * math.pi) * torch.fft.fftfreq(n, d=a, dtype=dtype, device=device) for n in dims]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)


def _delta_where_perfect(P: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Rows with ``tau = 0`` (perfect material) become exactly ``delta_j0``."""
    delta = torch.zeros_like(P)
    delta.view(P.shape[0], -1)[:, 0] = 1.0
    return torch.where((t == 0).view(-1, *([1] * (P.ndim - 1))), delta, P)


def mosaic_discrete_spectrum(shape, cell_size: float, sigma, tau, *, dtype=torch.float64, device=None) -> torch.Tensor:
    """The model's discrete spectrum ``P_j = S_d(|k_j|) * prod_d dk_d`` plus ``phi**2`` at ``k = 0``.

    Shape (B, *shape), FFT order; the N-dimensional
    :func:`~spsll.physics.defects.rtn.discrete_spectrum` (``sum_j P_j`` is ``phi`` less the tails
    beyond the Brillouin zone). Rows with ``tau = 0`` are exactly ``delta_j0``.
    """
    dims = _grid_shape(shape)
    a = require_scalar_positive("cell_size", cell_size)
    s, t = batch_params(sigma, tau, dtype=dtype, device=device)
    k = mosaic_wavevectors(dims, a, dtype=dtype, device=device)
    cell_volume_k = math.prod(2.0 * math.pi / (n * a) for n in dims)
    P = mosaic_continuous_spectrum(k, s, t, len(dims), wavevector=True) * cell_volume_k
    P.view(P.shape[0], -1)[:, 0] += phi_and_T(s, t)[0] ** 2
    return _delta_where_perfect(P, t)


def _lag_grids(dims: tuple[int, ...], images: bool, dtype, device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(|lag| in cells, Fejer weight) on the DFT grid, one entry per periodic image combination.

    ``images=False``: the minimal-image lag of each index (weight 1). ``images=True``: grid index m
    stands for the lags m and m - N on every axis (2^d combinations), weighted by
    ``prod_i (1 - |lag_i|/N_i)``, the number of pairs of a non-periodic box at that lag.
    """
    per_axis = []
    for n in dims:
        m = torch.arange(n, dtype=dtype, device=device)
        if images:
            per_axis.append([(m, 1.0 - m / n), (m - n, m / n)])
        else:
            nearest = torch.minimum(m, n - m)
            per_axis.append([(nearest, torch.ones_like(m))])
    out = []
    for combo in itertools.product(*per_axis):
        lags = torch.meshgrid(*[lag for lag, _ in combo], indexing="ij")
        weights = torch.meshgrid(*[w for _, w in combo], indexing="ij")
        distance = torch.sqrt(sum(lag * lag for lag in lags))
        out.append((distance, math.prod(weights)))
    return out


def _covariance_spectrum(shape, cell_size, sigma, tau, images: bool, dtype, device) -> torch.Tensor:
    """``N**-d * DFT`` of ``phi*(1-phi)*exp(-|n|a/T)`` (weighted lag grids) plus ``phi**2`` at 0."""
    dims = _grid_shape(shape)
    a = require_scalar_positive("cell_size", cell_size)
    s, t = batch_params(sigma, tau, dtype=dtype, device=device)
    phi, T = phi_and_T(s, t)
    decay = torch.where(t == 0, torch.zeros_like(T), a / torch.where(t == 0, torch.ones_like(T), T))
    expand = (slice(None),) + (None,) * len(dims)
    covariance = torch.zeros(len(s), *dims, dtype=dtype, device=device)
    for distance, weight in _lag_grids(dims, images, dtype, device):
        covariance += weight * torch.exp(-distance[None] * decay[expand])
    covariance *= (phi * (1.0 - phi))[expand]
    axes = tuple(range(1, len(dims) + 1))
    P = torch.fft.fftn(covariance, dim=axes).real / math.prod(dims)
    P.view(P.shape[0], -1)[:, 0] += phi**2  # the mean: the DFT of a constant (Fejer too) is a pure DC term
    return _delta_where_perfect(P, t)


def mosaic_lattice_spectrum(shape, cell_size: float, sigma, tau, *, dtype=torch.float64, device=None) -> torch.Tensor:
    """Spectrum of a mosaic sampled at the cell centres: ``P_j = N**-d sum_n C(|n|a) exp(-i k_j.na)``.

    ``C`` is taken at the minimal-image lag, so this is the spectrum of the periodic box the grid
    describes (images further than half a box, weight ``exp(-L/(2T))``, are dropped: keep L >= 50 T;
    at L ~ 10-20 T the cut shows, down to negative bins in 3D). It includes
    the aliasing of point sampling; ``sum_j P_j = C(0) = phi`` exactly. Shape (B, *shape), FFT order;
    rows with ``tau = 0`` are exactly ``delta_j0``. In 1D it is
    ``phi*(1-phi)*(1-q**2)/(N*(1 - 2q cos(k_j a) + q**2)) + phi**2*delta_j0``, ``q = exp(-a/T)``.
    """
    return _covariance_spectrum(shape, cell_size, sigma, tau, False, dtype, device)


def mosaic_periodogram_expectation(shape, cell_size: float, sigma, tau, *, dtype=torch.float64,
                                   device=None) -> torch.Tensor:
    """Expected periodogram ``|FFT(x)|**2 / N**(2d)`` of a (non-periodic) mosaic in a periodic box.

    ``N**-d sum_n C(|n|a) prod_i (1 - |n_i|/N_i) exp(-i k_j.na)`` over all lags ``|n_i| < N_i``
    (the Fejer kernel): the seam of a mosaic that does not wrap around takes power from the lowest
    wavenumbers and puts a streak along the axes. Shape (B, *shape), FFT order; the DC term is
    ``phi**2`` plus the variance of the sample mean.
    """
    return _covariance_spectrum(shape, cell_size, sigma, tau, True, dtype, device)


# --------------------------------------------------------------------------------------------
# sampler
# --------------------------------------------------------------------------------------------
class Hyperplanes(NamedTuple):
    """Hyperplanes ``{x : normals . (x - box centre) = offsets}`` of one sample, with hash weights.

    ``weights`` (int64, each below ``2**63/(count + 1)`` so no key sum overflows) label the side of
    every hyperplane in :func:`region_keys`.
    """

    normals: torch.Tensor  # (count, d)
    offsets: torch.Tensor  # (count,), metres
    weights: torch.Tensor  # (count,), int64


def hyperplane_rate(shape, cell_size: float, correlation_length: float) -> float:
    """Mean number of hyperplanes hitting the ball of radius R (half the box diagonal) around the box.

    ``2R/(T E|u.e|)``: 2R/T in 1D, ``pi*R/T`` in 2D, ``4R/T`` in 3D, so that a straight segment of
    length l is crossed ``l/T`` times on average.
    """
    dims = _grid_shape(shape)
    a = require_scalar_positive("cell_size", cell_size)
    T = require_scalar_positive("correlation_length", correlation_length)
    radius = 0.5 * a * math.sqrt(sum(n * n for n in dims))
    return 2.0 * radius / (T * _MEAN_PROJECTION[len(dims)])


def draw_hyperplanes(shape, cell_size: float, correlation_length: float, generator: torch.Generator) -> Hyperplanes:
    """Isotropic Poisson hyperplanes hitting the ball around the box: count ~ Poisson(
    :func:`hyperplane_rate`), normals uniform on the sphere (2D: angle U[0, pi)), offsets U[-R, R].

    Drawn in float64 on the generator's device, in a fixed order (count, normals, offsets, weights).
    """
    dims = _grid_shape(shape)
    a = require_scalar_positive("cell_size", cell_size)
    dim, device = len(dims), generator.device
    radius = 0.5 * a * math.sqrt(sum(n * n for n in dims))
    rate = torch.tensor([hyperplane_rate(dims, a, correlation_length)], dtype=torch.float64, device=device)
    count = int(torch.poisson(rate, generator=generator).item())
    u = torch.rand(count, max(dim - 1, 1), generator=generator, dtype=torch.float64, device=device)
    if dim == 1:
        normals = torch.ones(count, 1, dtype=torch.float64, device=device)
    elif dim == 2:
        angle = math.pi * u[:, 0]
        normals = torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)
    else:
        cos_polar, azimuth = 2.0 * u[:, 0] - 1.0, 2.0 * math.pi * u[:, 1]
        sin_polar = torch.sqrt(torch.clamp(1.0 - cos_polar * cos_polar, min=0.0))
        normals = torch.stack([sin_polar * torch.cos(azimuth), sin_polar * torch.sin(azimuth), cos_polar], dim=-1)
    offsets = radius * (2.0 * torch.rand(count, generator=generator, dtype=torch.float64, device=device) - 1.0)
    weights = torch.randint(0, _INT64_MAX // (count + 1), (count,), generator=generator, device=device)
    return Hyperplanes(normals, offsets, weights)


def _positive_run(slope: torch.Tensor, threshold: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``[start, stop)`` of the cells ``k`` of a row on the positive side, ``k * slope > threshold``.

    ``slope`` (G, c) broadcasts against ``threshold`` (G, rows, c); rising planes hold the tail
    of the row, falling ones the head, planes parallel to the row all of it or nothing.
    """
    slope = slope[:, None, :]
    flat, rising = slope == 0, slope > 0
    ratio = (threshold / torch.where(flat, torch.ones_like(slope), slope)).clamp(-1.0, n + 1.0)  # no inf/NaN
    start = torch.where(rising, torch.floor(ratio) + 1.0, torch.zeros_like(ratio))
    stop = torch.where(rising, torch.full_like(ratio, n), torch.ceil(ratio))
    start = torch.where(flat, torch.zeros_like(start), start)
    stop = torch.where(flat, torch.where(threshold < 0, float(n), 0.0), stop)
    return start.clamp(0, n).to(torch.int64), stop.clamp(0, n).to(torch.int64)


def _padded(planes: Sequence[Hyperplanes], dim: int, device) -> Hyperplanes:
    """The samples' planes stacked to (G, n_max, ...), padded with weight-0 planes (they change no key)."""
    G, n_max = len(planes), max((len(p.offsets) for p in planes), default=0)
    normals = torch.zeros(G, n_max, dim, dtype=torch.float64, device=device)
    offsets = torch.zeros(G, n_max, dtype=torch.float64, device=device)
    weights = torch.zeros(G, n_max, dtype=torch.int64, device=device)
    for g, p in enumerate(planes):
        c = len(p.offsets)
        normals[g, :c], offsets[g, :c], weights[g, :c] = (v.to(device) for v in p)
    return Hyperplanes(normals, offsets, weights)


def region_keys(shape, cell_size: float, planes: Sequence[Hyperplanes], *, device=None) -> torch.Tensor:
    """Region key of every cell centre, shape (len(planes), *shape), int64.

    The key is ``sum_l weights_l * [cell centre on the positive side of plane l]``: equal sign
    vectors (the same convex region) give equal keys; different regions collide only if a random
    signed sum of weights vanishes, probability below ``(count + 1)/2**63`` per pair of regions.
    Along the last axis a plane's side is an interval of the row, so each (row, plane) adds its
    weight at the start and subtracts it at the end of that interval in a difference array; a
    cumulative sum gives the keys (every partial sum lies in ``[0, 2**63)``, so nothing overflows).
    """
    dims = _grid_shape(shape)
    a = require_scalar_positive("cell_size", cell_size)
    n_last, rows = dims[-1], math.prod(dims[:-1])
    normals, offsets, weights = _padded(planes, len(dims), device)
    G, n_max = offsets.shape
    # cell centres relative to the box centre: the other axes' coordinates per row; the last axis' first cell
    centred = [(torch.arange(n, dtype=torch.float64, device=device) + 0.5 - 0.5 * n) * a for n in dims]
    if len(dims) == 1:
        row_coords = torch.zeros(1, 0, dtype=torch.float64, device=device)
    else:
        row_coords = torch.stack(torch.meshgrid(*centred[:-1], indexing="ij"), dim=-1).reshape(rows, -1)
    first = float(centred[-1][0])
    diff = torch.zeros(G * rows * (n_last + 1), dtype=torch.int64, device=device)
    row_start = torch.arange(G * rows, device=device).view(G, rows, 1) * (n_last + 1)
    chunk = max(1, _SAMPLER_BUDGET // max(1, G * rows))
    for lo in range(0, n_max, chunk):
        nrm, off, w = normals[:, lo:lo + chunk], offsets[:, lo:lo + chunk], weights[:, lo:lo + chunk]
        # normal . (x - centre) > offset  <=>  k * (a n_last) > offset - (other axes) - first n_last
        threshold = off[:, None, :] - torch.einsum("rd,gcd->grc", row_coords, nrm[..., :-1])
        threshold = threshold - first * nrm[:, None, :, -1]
        start, stop = _positive_run(a * nrm[..., -1], threshold, n_last)
        signed = w[:, None, :].expand_as(start).reshape(-1)
        diff.scatter_add_(0, (row_start + start).reshape(-1), signed)
        diff.scatter_add_(0, (row_start + stop).reshape(-1), -signed)
    keys = torch.cumsum(diff.view(G, rows, n_last + 1), dim=-1)[..., :n_last]
    return keys.reshape(G, *dims)


def draw_mosaic(count: int, shape, cell_size: float, sigma: float, tau: float, *,
                generator: torch.Generator | None = None, dtype=torch.float64, device=None) -> torch.Tensor:
    """Sample coloured Poisson hyperplane mosaics on a grid of cubic cells (metres), (count, *shape).

    Cell ``(i, j, ...)`` takes the colour of the region holding its centre ``((i+0.5)a, ...)``.
    In 1D the mosaic is the RTN chain itself (:func:`~spsll.physics.defects.rtn.sample_rtn`, exact).
    In 2D/3D each sample draws from its own CPU generator, seeded from ``generator``: hyperplanes
    (:func:`draw_hyperplanes`), then one Bernoulli(phi) colour per distinct region key
    (:func:`region_keys`, in ascending key order). ``tau = 0`` gives all ones. Samples are hashed in
    groups whose work arrays stay within a fixed element budget.

    Returns:
        Tensor (count, *shape) of 0/1 (1 = material) in ``dtype`` on ``device`` (float64 0./1. as the
        1D masks; ``torch.bool`` saves memory).
    """
    R = require_int_at_least("count", count, 1)
    dims = _grid_shape(shape)
    a = require_scalar_positive("cell_size", cell_size)
    s, t, device = sampler_arguments(sigma, tau, generator, device)
    if t == 0.0:
        return torch.ones(R, *dims, dtype=dtype, device=device)
    phi, T = s / (s + t), s * t / (s + t)
    if len(dims) == 1:
        chains = sample_rtn(R, max(dims[0], 2), a, s, t, generator=generator, device=device)
        return chains[:, : dims[0]].to(dtype)
    seeds = torch.randint(0, _INT64_MAX, (R,), generator=generator,
                          device=generator.device if generator is not None else "cpu").tolist()
    out = torch.empty(R, *dims, dtype=dtype, device=device)
    group = max(1, _SAMPLER_BUDGET // math.prod(dims))
    for lo in range(0, R, group):
        generators = [torch.Generator().manual_seed(sd) for sd in seeds[lo:lo + group]]
        planes = [draw_hyperplanes(dims, a, T, g) for g in generators]
        keys = region_keys(dims, a, planes, device=device)
        for offset, (g, key) in enumerate(zip(generators, keys, strict=True)):
            regions, region_of_cell = torch.unique(key.reshape(-1), return_inverse=True)
            material = torch.rand(len(regions), generator=g, dtype=torch.float64) < phi
            out[lo + offset] = material.to(device)[region_of_cell].reshape(dims).to(dtype)
    return out


def sample_mosaic(shape, cell_nm: float, sigma_nm: float, tau_nm: float, count: int, seed: int) -> torch.Tensor:
    """Coloured Poisson hyperplane mosaics, (count, *shape) float64 of 0./1. (1 = material), on CPU.

    ``shape`` is (N,), (Nx, Ny) or (Nx, Ny, Nz) cells of ``cell_nm``; ``sigma_nm > 0`` and
    ``tau_nm >= 0`` are the mean material / vacancy lengths along any straight line (nm). The same
    ``seed`` (an integer >= 0) gives the same masks. See docs/physics.md#mosaic.
    """
    dims = _grid_shape(shape)
    R = require_int_at_least("count", count, 1)
    g = torch.Generator().manual_seed(_seed(seed))
    a = require_scalar_positive("cell_nm", cell_nm) * NM
    s = require_scalar_positive("sigma_nm", sigma_nm) * NM
    t = require_scalar_nonnegative("tau_nm", tau_nm) * NM
    return draw_mosaic(R, dims, a, s, t, generator=g)


# --------------------------------------------------------------------------------------------
# grid estimators
# --------------------------------------------------------------------------------------------
class MosaicEstimate(NamedTuple):
    """Parameters recovered from the switches along one lattice direction (metres)."""

    sigma: float
    tau: float
    phi: float
    T: float


def switch_probabilities(masks: torch.Tensor, direction: Sequence[int]) -> tuple[float, float]:
    """Per-step switch probabilities ``(p10, p01)`` between cells ``n`` and ``n + direction``.

    ``masks``: (count, *shape) or (*shape) of 0/1; pairs that leave the box are skipped (no wrap:
    a mosaic is not periodic). ``p10 = #(1 -> 0)/#(1)``, ``p01 = #(0 -> 1)/#(0)``.
    """
    step = [int(v) for v in direction]
    x = torch.as_tensor(masks) != 0
    if x.ndim == len(step):
        x = x[None]
    if x.ndim != len(step) + 1 or not any(step):
        raise ValueError(f"direction must be a nonzero lattice vector with one entry per grid axis; got "
                         f"{tuple(step)} for masks of shape {tuple(x.shape)}")
    axes = list(zip(step, x.shape[1:], strict=True))
    source = [slice(None)] + [slice(0, n - v) if v >= 0 else slice(-v, n) for v, n in axes]
    target = [slice(None)] + [slice(v, n) if v >= 0 else slice(0, n + v) for v, n in axes]
    here, there = x[tuple(source)], x[tuple(target)]
    ones = int(here.sum())
    zeros = here.numel() - ones
    if ones == 0 or zeros == 0:
        raise ValueError(f"no {'material' if ones == 0 else 'vacancy'} cells along {tuple(step)}: "
                         "the switch probabilities are undefined")
    return int((here & ~there).sum()) / ones, int((~here & there).sum()) / zeros


def estimate_mosaic_parameters(masks: torch.Tensor, direction: Sequence[int], cell_size: float) -> MosaicEstimate:
    """(sigma, tau, phi, T) along a lattice direction, exact on the grid for a mosaic.

    Along a line the mosaic is a two-state Markov chain; over a step ``a' = a|direction|``
    ``1 - p10 - p01 = exp(-a'/T)`` and ``p01/(p10 + p01) = phi``, so
    ``T = -a'/ln(1 - p10 - p01)``, ``sigma = T/(1 - phi)``, ``tau = T/phi``. (Mean grid runs are
    longer, ``sigma*(1 + a'/2T)``: runs shorter than a step are invisible.)
    """
    p10, p01 = switch_probabilities(masks, direction)
    a = require_scalar_positive("cell_size", cell_size)
    step = a * math.sqrt(sum(int(v) ** 2 for v in direction))
    memory = 1.0 - p10 - p01
    if memory <= 0.0:
        raise ValueError(f"1 - p10 - p01 = {memory:.3g} <= 0 along {tuple(direction)}: the step is too long "
                         "to resolve the correlation length")
    T = -step / math.log(memory)
    phi = p01 / (p10 + p01)
    return MosaicEstimate(sigma=T / (1.0 - phi), tau=T / phi, phi=phi, T=T)
