"""Explicit-vacancy ensemble solver ``rtn_ensemble``: the reference for the readings of Eq. 4.

The statistical SPS-LL replaces the vacancies of a real chain by the RTN spectrum S(k) (Eq. 3, 4).
This solver does what the paper's Results call "a direct simulation": every (σ, τ) is simulated as
R independent chains, each multiplied by its own RTN mask r (1 = atom, 0 = vacancy; dwell lengths
exponential with means σ and τ, :func:`spsll.physics.rtn.sample_rtn`), with the same LL dynamics
(Eq. 1) and the same measurement, and the measurement is averaged over the R realisations. The
batch of a run is B × R chains (sample-major: chain b·R + r is realisation r of sample b), so
hundreds of realisations cost one batched run.

**Model.** Vacant cells carry no moment (m = 0, kept exactly 0 by the integrators) and no
exchange. The effective field of chain r is (:func:`spsll.physics.kernels.masked_exchange`)

    H_eff,i = r_i [ −F⁻¹{κ(k) F{r m}(k)}_i + (Hk − Ms) m_z,i ẑ + H_app ],   κ(k) = Ms ω(k) (Eq. 5, 6),

i.e. the PS-LL kernel K = −F⁻¹{κ} sandwiched between the masks: the pair term K_ij exists only if
cells i and j are both occupied. For Eq. 6 K is the nearest-neighbour stencil, so the bond i–i+1
exists only if both cells hold a moment and a vacancy of any length cuts the chain: each run of
atoms is an open (free-end) chain. The self term K_ii m_i is kept whatever the neighbours; it is
parallel to m_i, exerts no torque and changes neither the dynamics nor the relaxed state (the
operator is the diluted Heisenberg chain E = −J Σ_{bonds, both occupied} m_i·m_{i+1} up to a
constant). The masks do not enter the time step (the field bound is the psll one).

**τ = 0** gives r ≡ 1: every multiplication by the mask is exact, so each chain is the ``psll``
chain to the bit; the averages over R identical chains equal the psll measurement to round-off
(one ulp of the mean).

**Masks** of sample b come from a generator seeded by (``seed``, σ_b, τ_b) (:func:`sample_seed`),
so a sample's ensemble does not depend on the batch, chunk or shard that computes it; different
seeds give independent ensembles. The mask is drawn on the simulated grid (cell i takes the RTN
state at its centre); for dispersions the N-cell periodic ring has one bond (N−1, 0) across which
the RTN is not stationary, which is immaterial for N = 500 ≫ σ/a.

**Dispersions** (:func:`simulate_dispersions_ensemble`): the pulse of :mod:`.dispersion` times the
mask (a pulse centred on a vacancy excites only the occupied neighbours it overlaps), the same
record of m_x, and for every chain the same windowed 2D FFT S_r(k, f). The *power* spectra are
averaged before the peak pick, P(k, f) = (1/R) Σ_r |S_r(k, f)|², and the arg-max and the refined
peak are taken on √P (the RMS amplitude: the same arg-max as P, and the log-quadratic vertex of
½ log P is that of log P). The stored cropped spectrum is √P. Averaging peaks per realisation
instead would mix in the near-empty spectra of chains whose pulse sits in a vacancy.

**Domain walls** (:func:`relax_domain_walls_ensemble`): the mirrored domain of
:mod:`.domain_wall` (2N cells, walls at L/4 and 3L/4) with a *mirrored* mask: an N-cell mask r
and its flipped copy, so that the simulated state is exactly the even extension of one open N-cell
chain (the paper's "duplicate and flip") and both walls see the same vacancies. Each chain is
relaxed from the Bloch ansatz (times the mask) by the same minimiser and torque rule. On chains
that have vacancies the ansatz gets a uniform tilt of 1e-3 in m_z before normalisation: a short run
of atoms centred on the ansatz's centre (a cell boundary) starts antisymmetric and would otherwise
relax to the unstable in-plane saddle m = x̂ (zero torque, "width" ∞); the tilt moves a wall in a
long run by ≈ 1e-3 δ0 only. Chains without vacancies (τ = 0) get the plain ansatz.
*Pinning:* a wall in a run of atoms is attracted by the free ends (a vacancy cuts the exchange, so
the wall lowers its energy by sitting on a vacancy, where it has no width at all); a wall within a
few δ0 = √(A/K_U) of a vacancy slides onto it, one farther away stays put (the force decays as
e^{−2d/δ0}, below the torque tolerance). Both are kept: the ensemble describes the walls that the
minimiser reaches from the centred ansatz, and ``pinned_fraction`` reports how many sit on a
vacancy. How far "a few δ0" reaches depends on the relaxation budget, since the attraction decays
as e^{−2d/δ0}. Measured for FePt with one vacancy at d cells from the initial wall centre:
Barzilai–Borwein to 1e-7 Ms captures d ≤ 16 in < 1000 iterations, d ≤ 20 in 20 000 (walls farther
away stall, unconverged but in place); the paper's 100 ps of α = 1 dynamics captures d ≤ 12. The
width of the unpinned walls does not depend on this; the all-wall mean does, through the pinned
fraction. *Width:* θ = arccos m_z is undefined in a vacancy, so each relaxed m_z profile is first
filled in the vacancies by linear interpolation between the nearest occupied cells (periodic on
the 2N domain); the paper's cosine-series width and the tanh fit (:mod:`.width`) are then taken
per realisation, linearised at the realisation's own m_z = 0 crossing, and averaged:
``width`` = mean over the realisations that hold a wall in the stored window (a chain whose window
is one domain, e.g. almost all vacancies, has none and is left out; ``n_walls`` counts the rest).
``width_err`` combines the standard error of that mean with the mean truncation error,
√(s²/n + ⟨err²⟩). The stored profile ``mz`` is the average of the filled profiles, each shifted
(linear interpolation) so that its crossing sits at the window centre: the profile of an ensemble
of aligned walls, the object the paper says its statistical model describes; ``width_of_mean`` is
the cosine-series width of that averaged profile.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass

import torch

from spsll.physics import rtn
from spsll.physics.checks import require_int_at_least
from spsll.physics.dispersion import (
    DispersionResult,
    DispersionSettings,
    frequency_step,
    initial_pulse,
    pick_peaks,
    record_transverse,
    sorted_wavenumbers,
    spectrum_2d,
)
from spsll.physics.domain_wall import WallResult, WallSettings, initial_wall
from spsll.physics.material import Material
from spsll.physics.relax import relax_bb, relax_dynamics
from spsll.physics.solver import ENSEMBLE_SOLVER, EnsembleSolverConfig, SolverConfig, build_system
from spsll.physics.width import cosine_series_width, tanh_fit_width, zero_crossing

__all__ = [
    "EnsembleDispersionResult",
    "EnsembleWallResult",
    "ensemble_power_spectra",
    "fill_vacancies",
    "relax_domain_walls_ensemble",
    "sample_seed",
    "shift_periodic",
    "simulate_dispersions_ensemble",
    "vacancy_masks",
]

_MEMORY_BUDGET = 256 * 2**20  # bytes of the largest per-chain-batch work array (record / states)
_TILT = 1e-3  # m_z added to the wall ansatz of chains with vacancies (breaks the in-plane saddle)


# --------------------------------------------------------------------------------------------
# masks
# --------------------------------------------------------------------------------------------
def sample_seed(seed: int, sigma: float, tau: float) -> int:
    """Seed of the mask generator of one sample: a hash of (seed, σ, τ) (σ, τ as float64 metres).

    Stable across processes and platforms (not Python's salted ``hash``).
    """
    data = struct.pack("<qdd", int(seed), float(sigma), float(tau))
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") & ((1 << 63) - 1)


def _params(sigma, tau) -> tuple[torch.Tensor, torch.Tensor]:
    if sigma is None or tau is None:
        raise ValueError(f"solver {ENSEMBLE_SOLVER} needs sigma and tau (metres) for every sample")
    return rtn._params(sigma, tau, dtype=torch.float64, device=None)  # validated and broadcast as everywhere


def vacancy_masks(n_cells: int, cell_size: float, sigma, tau, realisations: int, seed: int = 0, *,
                  mirrored: bool = False, dtype=torch.float64, device=None) -> torch.Tensor:
    """RTN occupation masks, shape (B·R, L) of 0./1., sample-major (row b·R + r).

    Each sample's R chains of ``n_cells`` cells (``cell_size`` m) are drawn with
    :func:`spsll.physics.rtn.sample_rtn` (means σ_b, τ_b in metres) from a CPU generator seeded by
    :func:`sample_seed`, then moved to ``device`` (the same masks on every device). ``mirrored``
    appends the flipped copy (L = 2·n_cells, the wall domain); otherwise L = n_cells. τ = 0 gives
    all ones.
    """
    R = require_int_at_least("realisations", realisations, 1)
    n = require_int_at_least("n_cells", n_cells, 2)
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    s, t = _params(sigma, tau)
    rows = []
    for sb, tb in zip(s.tolist(), t.tolist(), strict=True):
        g = torch.Generator().manual_seed(sample_seed(seed, sb, tb))
        rows.append(rtn.sample_rtn(R, n, cell_size, sb, tb, generator=g))
    r = torch.cat(rows, dim=0)
    if mirrored:
        r = torch.cat([r, r.flip(-1)], dim=-1)
    return r.to(dtype=dtype, device=device)


def _chain_batch(solver: EnsembleSolverConfig, bytes_per_chain: int) -> int:
    if solver.chain_batch is not None:
        return int(solver.chain_batch)
    return max(1, _MEMORY_BUDGET // max(1, bytes_per_chain))


def _check_solver(solver) -> EnsembleSolverConfig:
    if solver is None:
        return SolverConfig(name=ENSEMBLE_SOLVER)
    if not isinstance(solver, EnsembleSolverConfig):
        raise ValueError(f"the ensemble needs an EnsembleSolverConfig (solver={ENSEMBLE_SOLVER}), got "
                         f"solver={solver.name}")
    return solver


# --------------------------------------------------------------------------------------------
# dispersions
# --------------------------------------------------------------------------------------------
@dataclass
class EnsembleDispersionResult(DispersionResult):
    """:class:`DispersionResult` of the averaged power spectra, plus the ensemble's bookkeeping."""

    realisations: int = 1
    occupied_fraction: torch.Tensor | None = None  # (B,) mean of the masks (≈ φ = σ/(σ+τ))


def _power_groups(material: Material, s, t, solver: EnsembleSolverConfig, settings: DispersionSettings,
                  fft_batch: int):
    """Yield (lo, hi, P, occ): the mean power spectra P (hi−lo, F, N) of samples lo..hi−1 (float64).

    Samples are taken G = chain_batch // R at a time (all their chains in one batched run); when
    R > chain_batch one sample's realisations are run in several batches and summed.
    """
    N, T, R = settings.n_cells, settings.n_samples, solver.realisations
    dev, dtype = solver.torch_device, solver.torch_dtype
    cb = _chain_batch(solver, T * N * 4)  # the float32 record dominates
    G = max(1, cb // R)
    F = T // 2 + 1
    B = s.shape[0]
    for lo in range(0, B, G):
        hi = min(B, lo + G)
        masks = vacancy_masks(N, material.a, s[lo:hi], t[lo:hi], R, solver.seed, dtype=dtype, device=dev)
        power = torch.zeros(hi - lo, F, N, dtype=torch.float64, device=dev)
        for c0 in range(0, masks.shape[0], cb):
            mk = masks[c0 : c0 + cb]
            system = build_system(solver, material, N, mask=mk, alpha=settings.alpha)
            m0 = initial_pulse(settings, mk.shape[0], dtype=dtype, device=dev) * mk[:, None, :]
            record = record_transverse(system, m0, settings, solver)
            owner = torch.arange(c0, c0 + mk.shape[0], device=dev) // R
            for f0 in range(0, mk.shape[0], fft_batch):
                spec = spectrum_2d(record[f0 : f0 + fft_batch].to(torch.float64), settings.window)
                power.index_add_(0, owner[f0 : f0 + fft_batch], spec * spec)
            del record
        occ = masks.to(torch.float64).mean(dim=1).reshape(hi - lo, R).mean(dim=1)
        yield lo, hi, power / R, occ


def ensemble_power_spectra(material: Material, sigma, tau, *, solver: EnsembleSolverConfig | None = None,
                           settings: DispersionSettings | None = None, fft_batch: int = 16):
    """Mean power spectra P(k, f) = (1/R) Σ_r |S_r(k, f)|² of every sample: (k, Δf, P (B, F, N)).

    k ascending (rad/m), f = 0, Δf, … (Hz). Holds all B spectra (2 MB each at N = 500): for a few
    samples (validation); :func:`simulate_dispersions_ensemble` keeps only one group at a time.
    """
    solver = _check_solver(solver)
    settings = settings or DispersionSettings()
    s, t = _params(sigma, tau)
    parts = [p for _, _, p, _ in _power_groups(material, s, t, solver, settings, fft_batch)]
    k = sorted_wavenumbers(settings.n_cells, material, device=solver.torch_device)
    return k, frequency_step(settings), torch.cat(parts, dim=0)


def simulate_dispersions_ensemble(material: Material, sigma, tau, *, solver: EnsembleSolverConfig | None = None,
                                  settings: DispersionSettings | None = None,
                                  fft_batch: int = 16) -> EnsembleDispersionResult:
    """Dispersions of explicit-vacancy ensembles, one per (σ, τ) (metres); see the module docstring.

    The peaks (arg-max bin and refined) are picked on the realisation-averaged power spectrum.
    """
    solver = _check_solver(solver)
    settings = settings or DispersionSettings()
    s, t = _params(sigma, tau)
    B, N, T = s.shape[0], settings.n_cells, settings.n_samples
    dev = solver.torch_device
    df = frequency_step(settings)
    freq = torch.empty(B, N, dtype=torch.float64, device=dev)
    refined = torch.empty_like(freq)
    occupied = torch.empty(B, dtype=torch.float64, device=dev)
    keep = settings.keep_spectrum_below
    n_keep = 0 if keep is None else min(T // 2 + 1, int(math.ceil(keep / df)) + 1)
    spectra = torch.empty(B, n_keep, N, dtype=torch.float32, device=dev) if n_keep else None
    for lo, hi, power, occ in _power_groups(material, s, t, solver, settings, fft_batch):
        amp = power.sqrt()
        freq[lo:hi], refined[lo:hi] = pick_peaks(amp, df)
        occupied[lo:hi] = occ
        if spectra is not None:
            spectra[lo:hi] = amp[:, :n_keep].to(torch.float32)
    f_axis = torch.arange(n_keep, dtype=torch.float64, device=dev) * df if n_keep else None
    k = sorted_wavenumbers(N, material, device=dev)
    return EnsembleDispersionResult(k, freq, refined, f_axis, spectra, realisations=solver.realisations,
                                    occupied_fraction=occupied)


# --------------------------------------------------------------------------------------------
# domain walls
# --------------------------------------------------------------------------------------------
@dataclass
class EnsembleWallResult(WallResult):
    """:class:`WallResult` of realisation-averaged widths and the aligned mean profile, plus spreads.

    ``width``, ``width_tanh``: means over the realisations with a wall (m); ``mz``: aligned mean
    profile (B, N); ``converged``: every realisation converged; ``max_torque``: the largest.
    ``m`` (with ``keep_state``): the relaxed states of all B·R chains (B·R, 3, 2N), sample-major.
    """

    realisations: int = 1
    widths: torch.Tensor | None = None  # (B, R) m, per realisation (NaN: no wall in the window)
    widths_tanh: torch.Tensor | None = None  # (B, R) m
    width_std: torch.Tensor | None = None  # (B,) m, spread over realisations (cosine series)
    width_tanh_std: torch.Tensor | None = None  # (B,) m
    width_of_mean: torch.Tensor | None = None  # (B,) m, cosine-series width of the mean profile
    n_walls: torch.Tensor | None = None  # (B,) realisations that hold a wall in the window
    pinned_fraction: torch.Tensor | None = None  # (B,) of those, the crossing touches a vacancy
    pinned: torch.Tensor | None = None  # (B, R) bool, per realisation (False where no wall)
    width_unpinned: torch.Tensor | None = None  # (B,) m, mean width of the walls not on a vacancy
    converged_fraction: torch.Tensor | None = None  # (B,) realisations within the torque tolerance
    occupied_fraction: torch.Tensor | None = None  # (B,) mean of the masks
    mask: torch.Tensor | None = None  # (B·R, 2N) with keep_state


def fill_vacancies(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Fill vacant cells of periodic profiles (M, L) by linear interpolation between the nearest
    occupied cells on either side (wrapping around). Occupied cells are returned unchanged (exactly);
    a row without any occupied cell is returned as is."""
    M, L = values.shape
    occ = mask > 0
    idx = torch.arange(2 * L, device=values.device)
    occ2 = torch.cat([occ, occ], dim=1)
    # previous occupied position (≤ p) for p in the second copy, next occupied (≥ p) in the first
    prev = torch.where(occ2, idx, torch.full_like(idx, -1)).cummax(dim=1).values[:, L:]
    nxt = torch.where(occ2, idx, torch.full_like(idx, 3 * L)).flip(1).cummin(dim=1).values.flip(1)[:, :L]
    p = torch.arange(L, 2 * L, device=values.device).expand(M, L)
    nxt = nxt + L  # positions ≥ p in the same (second-copy) frame
    ok = occ.any(dim=1, keepdim=True) & (prev >= 0)
    prev = torch.where(ok, prev, p)
    nxt = torch.where(ok, nxt, p)
    span = (nxt - prev).clamp_min(1)
    w = ((p - prev).to(values.dtype) / span.to(values.dtype))
    v_prev = values.gather(1, prev % L)
    v_next = values.gather(1, nxt % L)
    filled = v_prev * (1 - w) + v_next * w
    return torch.where(occ | ~ok, values, filled)


def shift_periodic(values: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """out[:, j] = values(j + shift) on periodic rows (M, L), linear interpolation; shift (M,) cells."""
    M, L = values.shape
    x = torch.arange(L, device=values.device, dtype=values.dtype)[None, :] + shift[:, None]
    i0 = torch.floor(x)
    frac = x - i0
    i0 = i0.long() % L
    return values.gather(1, i0) * (1 - frac) + values.gather(1, (i0 + 1) % L) * frac


def _per_sample(x: torch.Tensor, B: int, R: int) -> torch.Tensor:
    return x.reshape(B, R, *x.shape[1:])


def relax_domain_walls_ensemble(material: Material, sigma, tau, *, solver: EnsembleSolverConfig | None = None,
                                settings: WallSettings | None = None,
                                keep_state: bool = False) -> EnsembleWallResult:
    """Relax R explicit-vacancy walls per (σ, τ) pair (metres) and average widths and profiles.

    See the module docstring for the mirrored mask, pinning, the filling of vacancies and the
    averages.
    """
    solver = _check_solver(solver)
    settings = settings or WallSettings()
    s, t = _params(sigma, tau)
    B, R, N = s.shape[0], solver.realisations, settings.n_cells
    L = 2 * N
    dev, dtype = solver.torch_device, solver.torch_dtype
    masks = vacancy_masks(N, material.a, s, t, R, solver.seed, mirrored=True, dtype=dtype, device=dev)
    cb = _chain_batch(solver, 3 * L * 8 * 16)  # the minimiser holds ~16 (3, 2N) float64 arrays
    mz_full = torch.empty(B * R, L, dtype=torch.float64, device=dev)
    converged = torch.empty(B * R, dtype=torch.bool, device=dev)
    torque = torch.empty(B * R, dtype=torch.float64, device=dev)
    states = torch.empty(B * R, 3, L, dtype=dtype, device=dev) if keep_state else None
    for c0 in range(0, B * R, cb):
        mk = masks[c0 : c0 + cb]
        system = build_system(solver, material, L, mask=mk, alpha=settings.alpha)
        m0 = initial_wall(material, N, mk.shape[0], dtype=dtype, device=dev)
        holes = (mk == 0).any(dim=1)
        if bool(holes.any()):  # break the symmetric saddle (module docstring); r ≡ 1 rows untouched
            m0[holes, 2] += _TILT
            m0[holes] = m0[holes] / m0[holes].norm(dim=1, keepdim=True)
        m0 = m0 * mk[:, None, :]
        if settings.method == "bb":
            res = relax_bb(system, m0, torque_tol=settings.torque_tol, max_iter=settings.max_iter,
                           compile=solver.compile)
        else:
            res = relax_dynamics(system, m0, duration=settings.duration, torque_tol=settings.torque_tol,
                                 compile=solver.compile)
        sl = slice(c0, c0 + mk.shape[0])
        mz_full[sl] = res.m[:, 2].to(torch.float64)
        converged[sl], torque[sl] = res.converged, res.max_torque.to(torch.float64)
        if states is not None:
            states[sl] = res.m

    occ64 = masks.to(torch.float64)
    theta = fill_vacancies(torch.arccos(mz_full.clamp(-1.0, 1.0)), occ64)  # θ linear across a vacancy
    filled = torch.where(occ64 > 0, mz_full, torch.cos(theta))
    window = filled[:, :N]
    has_wall = (window.amin(dim=1) < 0) & (window.amax(dim=1) > 0)
    # rows without a wall get a stand-in profile so that the batched width code runs; masked below
    x = torch.arange(N, dtype=torch.float64, device=dev) + 0.5
    stand_in = torch.tanh((x - N / 2) / 3.0).expand(B * R, N)
    safe = torch.where(has_wall[:, None], window, stand_in)
    w_cos, w_err = cosine_series_width(safe, material.a, n_harmonics=settings.n_harmonics,
                                       n_error=settings.n_error_harmonics)
    w_tanh = tanh_fit_width(safe, material.a)
    nan = torch.full_like(w_cos, math.nan)
    w_cos, w_err, w_tanh = (torch.where(has_wall, v, nan) for v in (w_cos, w_err, w_tanh))
    xc = zero_crossing(safe)  # cells, the ansatz puts it at N/2
    jc = (xc - 0.5).floor().long().clamp(0, N - 2)
    pinned = ((occ64[:, :N].gather(1, jc[:, None]) == 0) | (occ64[:, :N].gather(1, jc[:, None] + 1) == 0))[:, 0]
    aligned = shift_periodic(filled, xc - N / 2)[:, :N]
    aligned = torch.where(has_wall[:, None], aligned, window)

    # per-sample reductions over the realisations that hold a wall
    hw = _per_sample(has_wall, B, R)
    n_walls = hw.sum(dim=1)
    nw = n_walls.to(torch.float64)

    def mean(v):  # v (B·R,) with NaN where no wall
        return torch.nanmean(_per_sample(v, B, R), dim=1)

    def std(v):
        vb = _per_sample(v, B, R)
        mu = torch.nanmean(vb, dim=1, keepdim=True)
        ss = torch.where(hw, (vb - mu) ** 2, torch.zeros_like(vb)).sum(dim=1)
        return torch.where(n_walls > 1, (ss / (nw - 1).clamp_min(1)).sqrt(), torch.zeros_like(ss))

    width, width_tanh = mean(w_cos), mean(w_tanh)
    width_unpinned = mean(torch.where(pinned, nan, w_cos))
    width_std, width_tanh_std = std(w_cos), std(w_tanh)
    trunc2 = torch.nanmean(_per_sample(w_err, B, R) ** 2, dim=1)
    width_err = (width_std**2 / nw.clamp_min(1) + trunc2).sqrt()
    prof = _per_sample(aligned, B, R)
    mz_mean = torch.where(
        (n_walls > 0)[:, None],
        (prof * hw[..., None]).sum(dim=1) / nw.clamp_min(1)[:, None],
        prof.mean(dim=1),
    )
    has_mean_wall = (mz_mean.amin(dim=1) < 0) & (mz_mean.amax(dim=1) > 0)
    w_mean = cosine_series_width(torch.where(has_mean_wall[:, None], mz_mean, stand_in[:B]), material.a,
                                 n_harmonics=settings.n_harmonics, n_error=settings.n_error_harmonics)[0]
    w_mean = torch.where(has_mean_wall, w_mean, torch.full_like(w_mean, math.nan))
    pinned_fraction = torch.where(hw, _per_sample(pinned, B, R), torch.zeros_like(hw)).sum(dim=1) / nw.clamp_min(1)
    conv_r = _per_sample(converged, B, R)
    conv = conv_r.all(dim=1) & (n_walls > 0)
    x_pos = (torch.arange(N, dtype=torch.float64, device=dev) + 0.5 - N / 2) * material.a
    return EnsembleWallResult(
        x_pos, mz_mean, width, width_err, width_tanh, conv, _per_sample(torque, B, R).amax(dim=1),
        states, realisations=R, widths=_per_sample(w_cos, B, R), widths_tanh=_per_sample(w_tanh, B, R),
        width_std=width_std, width_tanh_std=width_tanh_std, width_of_mean=w_mean, n_walls=n_walls,
        pinned_fraction=pinned_fraction, pinned=_per_sample(pinned, B, R) & hw, width_unpinned=width_unpinned,
        converged_fraction=conv_r.to(torch.float64).mean(dim=1),
        occupied_fraction=occ64[:, :N].mean(dim=1).reshape(B, R).mean(dim=1),
        mask=masks if keep_state else None,
    )
