"""Magnon dispersion relations from a pulse (paper Methods; docs/physics.md#dispersion).

N = 500 periodic cells of size a; a narrow Gaussian in m_x (standard deviation a, amplitude ≤ 0.1)
at the centre cell N/2 (far from the convolution reading's spike at cell 0), m_y = 0,
m_z = sqrt(1 − m_x²); α = 0.001; 10 ps sampled every 10 fs. The transverse component m_x(x, t) is
recorded (m_z is second order in the pulse and would show a frequency-doubled curve),
Fourier transformed in x and t, and for each of the N wavenumbers (ascending, −π/a … π/a − Δk) the
frequency of the spectral maximum over f > 0 is taken: the arg-max bin (Δf = 100 GHz, the paper's
pick) and a sub-bin refined value from quadratic interpolation of the log-spectrum around it.

A Hann window over time (the default; ``window="none"`` is the paper's plain FFT) suppresses the
leakage of a non-periodic record so that the refined peak is unbiased; it does not move the arg-max.

With an explicit-defect solver (``rtn_ensemble``) the same measurement runs on R masked chains per
(σ, τ): the pulse is multiplied by the mask (a pulse centred on a vacancy excites only the occupied
neighbours it overlaps), and the *power* spectra are averaged before the peak pick,
P(k, f) = (1/R) Σ_r |S_r(k, f)|²; the peaks are taken on √P (the same arg-max as P, and the
log-quadratic vertex of ½ log P is that of log P), and the stored spectrum is √P. Averaging peaks
per realisation instead would mix in the near-empty spectra of chains whose pulse sits in a vacancy.

Films and bulk (docs/physics.md#films): ``n_rows = M`` makes the sample a film of
N × M cells and ``n_layers = L`` (with M > 1) a bulk box of N × M × L cells. The chain's pulse is
copied to every row (y) and layer (z), a line or plane excitation that drives only k_y = k_z = 0,
and the power spectra of the M (film) or M·L (bulk) rows along x are averaged before the peak pick,
exactly as the realisations of an ensemble are. Under the k-diagonal readings the sample is reduced
exactly to its k_y (= k_z) = 0 line (:func:`~spsll.physics.solvers.line_system`); explicit ensembles
run the whole box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from spsll.physics.defects import rtn
from spsll.physics.grid import Grid
from spsll.physics.llg import choose_time_step, integrate
from spsll.physics.material import Material
from spsll.physics.solvers import SolverConfig, build_system, line_system

_MEMORY_BUDGET = 256 * 2**20  # bytes of the largest work array of one ensemble chain batch
_BULK_ROW_CHUNK = 256  # rows of a bulk record Fourier transformed at once (~2 MB of float64 work per row at N = 64)


@dataclass(frozen=True)
class DispersionSettings:
    n_cells: int = 500
    pulse_amplitude: float = 0.01  # peak m_x of the Gaussian (≤ 0.1 keeps the response linear)
    pulse_width_cells: float = 1.0  # standard deviation in cells (paper: one lattice constant)
    alpha: float = 0.001
    duration: float = 10e-12  # s
    sample_interval: float = 10e-15  # s
    window: str = "hann"  # "hann" or "none"
    keep_spectrum_below: float | None = None  # Hz: keep |FFT| for f < this (cropped 2D image)
    n_rows: int = 1  # > 1: a film of n_cells × n_rows, a line excitation along y, power averaged over rows
    n_layers: int = 1  # > 1 (with n_rows > 1): bulk n_cells × n_rows × n_layers, a plane excitation, all rows

    def __post_init__(self):
        if not (0 < self.pulse_amplitude <= 0.1):
            raise ValueError(f"pulse_amplitude must be in (0, 0.1], got {self.pulse_amplitude}")
        if self.window not in ("hann", "none"):
            raise ValueError(f"window must be 'hann' or 'none', got {self.window!r}")
        if self.n_cells < 16:
            raise ValueError(f"dispersion n_cells must be >= 16, got {self.n_cells}")
        if not (0 < self.sample_interval < self.duration):
            raise ValueError("need 0 < sample_interval < duration")
        if isinstance(self.n_rows, bool) or not isinstance(self.n_rows, int) or self.n_rows < 1:
            raise ValueError(f"dispersion n_rows must be an integer >= 1 (1: a chain), got {self.n_rows!r}")
        if isinstance(self.n_layers, bool) or not isinstance(self.n_layers, int) or self.n_layers < 1:
            raise ValueError(f"dispersion n_layers must be an integer >= 1 (1: a chain or a film), got "
                             f"{self.n_layers!r}")
        if self.n_layers > 1 and self.n_rows < 2:
            raise ValueError(f"dispersion n_layers = {self.n_layers} needs n_rows >= 2 (a bulk box N x M x L), got "
                             f"n_rows = {self.n_rows}")

    def grid(self, a: float) -> Grid:
        """The chain (N,), the film (N, n_rows) or the bulk box (N, n_rows, n_layers) of cells of size ``a``."""
        if self.n_layers > 1:
            return Grid((self.n_cells, self.n_rows, self.n_layers), a)
        return Grid(self.n_cells if self.n_rows == 1 else (self.n_cells, self.n_rows), a)

    @property
    def n_lines(self) -> int:
        """Rows along x whose power spectra are averaged: 1 (chain), M (film), M·L (bulk)."""
        return self.n_rows * self.n_layers

    @property
    def n_samples(self) -> int:
        return int(round(self.duration / self.sample_interval))


@dataclass
class DispersionResult:
    k: torch.Tensor  # (K,) rad/m, ascending
    freq: torch.Tensor  # (B, K) Hz, arg-max bin centre
    freq_refined: torch.Tensor  # (B, K) Hz
    f: torch.Tensor | None = None  # (F,) Hz of the cropped spectrum
    spectrum: torch.Tensor | None = None  # (B, F, K) |FFT| (float32)

    realisations: int = 1  # chains per sample (explicit-defect solvers)
    occupied_fraction: torch.Tensor | None = None  # (B,) mean of the masks (≈ φ), explicit defects

    @property
    def k_rad_per_nm(self):
        return self.k * 1e-9

    @property
    def freq_thz(self):
        return self.freq * 1e-12

    @property
    def freq_refined_thz(self):
        return self.freq_refined * 1e-12


def initial_pulse(settings: DispersionSettings, batch: int, *, dtype=torch.float64,
                  device=None) -> torch.Tensor:
    """Gaussian m_x pulse at cell N/2 on the uniform m = ẑ state: (B, 3, N), or in a film the same
    line along y (B, 3, N, n_rows): a line excitation, which drives only k_y = 0; in bulk the same in
    every row and layer (B, 3, N, n_rows, n_layers): a plane excitation, which drives only k_y = k_z = 0."""
    N = settings.n_cells
    j = torch.arange(N, dtype=torch.float64, device=device)
    mx = settings.pulse_amplitude * torch.exp(-0.5 * ((j - N // 2) / settings.pulse_width_cells) ** 2)
    m = torch.stack([mx, torch.zeros_like(mx), torch.sqrt(1 - mx * mx)]).to(dtype)
    if settings.n_layers > 1:
        return m[None, :, :, None, None].expand(batch, 3, N, settings.n_rows, settings.n_layers).contiguous()
    if settings.n_rows > 1:
        return m[None, :, :, None].expand(batch, 3, N, settings.n_rows).contiguous()
    return m.unsqueeze(0).expand(batch, 3, N).contiguous()


def spectrum_2d(record: torch.Tensor, window: str = "hann") -> torch.Tensor:
    """|FFT_x FFT_t| of m_x records (B, T, N) → (B, T//2+1, N), f ≥ 0, k ascending (fftshift)."""
    T = record.shape[1]
    rec = record - record.mean(dim=1, keepdim=True)  # drop the static part (f = 0)
    if window == "hann":
        w = torch.hann_window(T, periodic=False, dtype=rec.dtype, device=rec.device)
        rec = rec * w[None, :, None]
    spec = torch.fft.fft(torch.fft.rfft(rec, dim=1), dim=2)
    return torch.fft.fftshift(spec, dim=2).abs()


def row_power(record: torch.Tensor, window: str = "hann") -> torch.Tensor:
    """Mean over rows of |FFT_x FFT_t|² of film records (B, T, N, n_rows) → (B, T//2+1, N): each row y
    is a chain's record along x."""
    B, T, N, rows = record.shape
    per_row = spectrum_2d(record.permute(0, 3, 1, 2).reshape(B * rows, T, N), window)
    return (per_row * per_row).reshape(B, rows, -1, N).mean(dim=1)


def row_averaged_spectrum(record: torch.Tensor, window: str = "hann") -> torch.Tensor:
    """√(:func:`row_power`): the RMS amplitude over the rows of a film, (B, T//2+1, N)."""
    return row_power(record, window).sqrt()


def bulk_row_power(record: torch.Tensor, window: str = "hann", chunk: int = _BULK_ROW_CHUNK) -> torch.Tensor:
    """Mean over the M·L rows of |FFT_x FFT_t|² of bulk records (B, T, N, M, L) (float32 or float64)
    → (B, T//2+1, N), float64: each row (y, z) is a chain's record along x. The rows are transformed
    in float64 about ``chunk`` chains (B × rows) at a time, so the work stays bounded however large the box."""
    B, T, N = record.shape[:3]
    rows = record.flatten(3)  # (B, T, N, M·L), a view
    n = rows.shape[-1]
    step = max(1, chunk // B)
    power = torch.zeros(B, T // 2 + 1, N, dtype=torch.float64, device=record.device)
    for r0 in range(0, n, step):
        part = rows[..., r0 : r0 + step].to(torch.float64)
        c = part.shape[-1]
        spec = spectrum_2d(part.permute(0, 3, 1, 2).reshape(B * c, T, N), window)
        power += (spec * spec).reshape(B, c, -1, N).sum(dim=1)
    return power / n


def _lines_spectrum(record: torch.Tensor, window: str) -> torch.Tensor:
    """√ of the power averaged over the rows: a film's (B, T, N, M) or a bulk box's (B, T, N, M, L)."""
    return row_averaged_spectrum(record, window) if record.ndim == 4 else bulk_row_power(record, window).sqrt()


def pick_peaks(spec: torch.Tensor, df: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Arg-max frequency over f > 0 and its quadratic (log-spectrum) refinement, both in Hz."""
    B, F, K = spec.shape
    body = spec[:, 1:, :]
    idx = body.argmax(dim=1) + 1  # (B, K), bins 1..F-1
    i_lo = (idx - 1).clamp(1, F - 1)
    i_hi = (idx + 1).clamp(max=F - 1)
    tiny = torch.finfo(spec.dtype).tiny
    lc = spec.gather(1, idx[:, None]).squeeze(1).clamp_min(tiny).log()
    ll = spec.gather(1, i_lo[:, None]).squeeze(1).clamp_min(tiny).log()
    lh = spec.gather(1, i_hi[:, None]).squeeze(1).clamp_min(tiny).log()
    curv = ll - 2 * lc + lh
    interior = (idx > 1) & (idx < F - 1) & (curv < 0)
    offset = torch.where(interior, 0.5 * (ll - lh) / curv.where(interior, -torch.ones_like(curv)),
                         torch.zeros_like(curv)).clamp(-0.5, 0.5)
    f = idx.to(torch.float64) * df
    return f, (idx.to(torch.float64) + offset.to(torch.float64)) * df


def record_transverse(system, m0: torch.Tensor, settings: DispersionSettings,
                      solver: SolverConfig) -> torch.Tensor:
    """Integrate Eq. 1 from m0 (B, 3, *shape) and record m_x every ``sample_interval``: (B, T, *shape),
    float32."""
    T = settings.n_samples
    dt, n_sub = choose_time_step(system, settings.sample_interval, solver.phase_per_step)
    record = torch.empty(m0.shape[0], T, *m0.shape[2:], dtype=torch.float32, device=m0.device)

    def store(step, m):
        s = step // n_sub
        if s < T:
            record[:, s] = m[:, 0]

    integrate(system, m0, dt, (T - 1) * n_sub, compile=solver.compile, callback=store,
              every=n_sub)
    return record


def frequency_step(settings: DispersionSettings) -> float:
    """Δf = 1 / (T Δt) of the recorded time series (Hz)."""
    return 1.0 / (settings.n_samples * settings.sample_interval)


def simulate_dispersions(material: Material, sigma, tau, *, solver: SolverConfig | None = None,
                         settings: DispersionSettings | None = None,
                         fft_batch: int = 16, line_reduction: bool = True) -> DispersionResult:
    """Dispersion relations for a batch of (σ, τ) pairs (metres); see the module docstring.

    A film under a k-diagonal reading (``psll``, ``spsll``) runs as its exact k_y = 0 line
    (:func:`~spsll.physics.solvers.line_system`, docs/physics.md#film-walls): the line excitation is
    uniform along y and stays so; a bulk box likewise as its k_y = k_z = 0 line (the plane excitation
    is uniform in y and z). ``line_reduction=False`` runs the whole film or box (to test the reduction).
    """
    solver = solver or SolverConfig()
    settings = settings or DispersionSettings()
    material.require_perpendicular("a dispersion about the uniform +z state")
    if solver.solver.explicit_defects:
        return _ensemble_dispersions(material, sigma, tau, solver, settings, fft_batch)
    N = settings.n_cells
    B = 1 if sigma is None else int(torch.as_tensor(sigma).reshape(-1).shape[0])
    dev = solver.torch_device
    m0 = initial_pulse(settings, B, dtype=solver.torch_dtype, device=dev)
    grid = settings.grid(material.a)
    system = line_system(solver, material, grid, sigma, tau, alpha=settings.alpha) if line_reduction else None
    if system is not None:  # every row holds the same line: one row is the film or box (power mean of equal rows)
        m0 = (m0[..., :1, 0] if grid.ndim == 3 else m0[..., :1]).contiguous()
    else:
        system = build_system(solver, material, grid, sigma, tau, alpha=settings.alpha)
    record = record_transverse(system, m0, settings, solver)
    df = frequency_step(settings)
    freq = torch.empty(B, N, dtype=torch.float64, device=dev)
    refined = torch.empty_like(freq)
    n_keep, spectra = _spectrum_store(settings, B, dev)
    spectrum = spectrum_2d if settings.n_rows == 1 else _lines_spectrum
    for lo in range(0, B, fft_batch):  # bounded memory: the 2D FFT in small sub-batches
        part = record[lo : lo + fft_batch]  # a box's rows are cast to float64 chunk by chunk (bulk_row_power)
        spec = spectrum(part if part.ndim == 5 else part.to(torch.float64), settings.window)
        freq[lo : lo + fft_batch], refined[lo : lo + fft_batch] = pick_peaks(spec, df)
        if spectra is not None:
            spectra[lo : lo + fft_batch] = spec[:, :n_keep].to(torch.float32)
    return _result(material, settings, dev, freq, refined, spectra)


def _spectrum_store(settings: DispersionSettings, B: int, dev):
    """(bins kept, an empty (B, bins, N) float32 store) for the cropped spectrum, or (0, None)."""
    keep, T = settings.keep_spectrum_below, settings.n_samples
    n_keep = 0 if keep is None else min(T // 2 + 1, int(math.ceil(keep / frequency_step(settings))) + 1)
    if not n_keep:
        return 0, None
    return n_keep, torch.empty(B, n_keep, settings.n_cells, dtype=torch.float32, device=dev)


def _result(material, settings, dev, freq, refined, spectra, **extra) -> DispersionResult:
    n_keep = 0 if spectra is None else spectra.shape[1]
    f_axis = torch.arange(n_keep, dtype=torch.float64, device=dev) * frequency_step(settings) if n_keep else None
    k = Grid(settings.n_cells, material.a).sorted_wavenumbers(device=dev)
    return DispersionResult(k, freq, refined, f_axis, spectra, **extra)


# -- explicit defects: R masked chains per sample ---------------------------------------------------
def ensemble_power_groups(material: Material, sigma, tau, solver: SolverConfig, settings: DispersionSettings,
                          fft_batch: int = 16):
    """Yield (lo, hi, P, occ): the mean power spectra P (hi−lo, F, N) of samples lo..hi−1 (float64)
    and their mean occupation.

    Samples are taken G = chain_batch // R at a time (all their chains in one batched run); when
    R > chain_batch one sample's realisations are run in several batches and summed.
    """
    impl = solver.solver
    if not impl.explicit_defects:
        raise ValueError(f"ensemble power spectra need an explicit-defect solver, not solver={solver.name}")
    s, t = rtn.batch_params(sigma, tau)
    N, T, R = settings.n_cells, settings.n_samples, solver.options["realisations"]
    dev, dtype = solver.torch_device, solver.torch_dtype
    cb = solver.options["chain_batch"] or max(1, _MEMORY_BUDGET // (T * N * settings.n_lines * 4))  # the record
    G = max(1, cb // R)
    grid = settings.grid(material.a)
    shape = N if grid.ndim == 1 else grid.shape  # chains: RTN masks; films and bulk: mosaic masks
    for lo in range(0, s.shape[0], G):
        hi = min(s.shape[0], lo + G)
        masks = impl.masks(solver, material, shape, s[lo:hi], t[lo:hi])
        power = torch.zeros(hi - lo, T // 2 + 1, N, dtype=torch.float64, device=dev)
        for c0 in range(0, masks.shape[0], cb):
            mk = masks[c0 : c0 + cb]
            system = build_system(solver, material, grid, mask=mk, alpha=settings.alpha)
            m0 = initial_pulse(settings, mk.shape[0], dtype=dtype, device=dev) * mk[:, None]
            record = record_transverse(system, m0, settings, solver)
            owner = torch.arange(c0, c0 + mk.shape[0], device=dev) // R
            for f0 in range(0, mk.shape[0], fft_batch):
                if grid.ndim == 3:  # a box's record is large: its rows are transformed in float64 chunks
                    power.index_add_(0, owner[f0 : f0 + fft_batch],
                                     bulk_row_power(record[f0 : f0 + fft_batch], settings.window))
                    continue
                part = record[f0 : f0 + fft_batch].to(torch.float64)
                if grid.ndim == 1:
                    spec = spectrum_2d(part, settings.window)
                    power.index_add_(0, owner[f0 : f0 + fft_batch], spec * spec)
                else:
                    power.index_add_(0, owner[f0 : f0 + fft_batch], row_power(part, settings.window))
            del record
        occ = masks.to(torch.float64).flatten(1).mean(dim=1).reshape(hi - lo, R).mean(dim=1)
        yield lo, hi, power / R, occ


def ensemble_power_spectra(material: Material, sigma, tau, *, solver: SolverConfig,
                           settings: DispersionSettings | None = None, fft_batch: int = 16):
    """Mean power spectra of every sample: (k ascending (rad/m), Δf (Hz), P (B, F, N)).

    Holds all B spectra (2 MB each at N = 500): for a few samples (validation);
    :func:`simulate_dispersions` keeps one group at a time.
    """
    settings = settings or DispersionSettings()
    parts = [p for _, _, p, _ in ensemble_power_groups(material, sigma, tau, solver, settings, fft_batch)]
    k = Grid(settings.n_cells, material.a).sorted_wavenumbers(device=solver.torch_device)
    return k, frequency_step(settings), torch.cat(parts, dim=0)


def _ensemble_dispersions(material, sigma, tau, solver, settings, fft_batch) -> DispersionResult:
    s, _ = rtn.batch_params(sigma, tau)
    B, N, dev = s.shape[0], settings.n_cells, solver.torch_device
    df = frequency_step(settings)
    freq = torch.empty(B, N, dtype=torch.float64, device=dev)
    refined = torch.empty_like(freq)
    occupied = torch.empty(B, dtype=torch.float64, device=dev)
    n_keep, spectra = _spectrum_store(settings, B, dev)
    for lo, hi, power, occ in ensemble_power_groups(material, sigma, tau, solver, settings, fft_batch):
        amp = power.sqrt()
        freq[lo:hi], refined[lo:hi] = pick_peaks(amp, df)
        occupied[lo:hi] = occ
        if spectra is not None:
            spectra[lo:hi] = amp[:, :n_keep].to(torch.float32)
    return _result(material, settings, dev, freq, refined, spectra,
                   realisations=solver.options["realisations"], occupied_fraction=occupied)
