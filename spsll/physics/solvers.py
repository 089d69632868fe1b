"""The solver table: a name from ``conf/solver/*.yaml`` → how the defects enter the exchange term.

Like torchdiffeq's table from method names to classes, :data:`SOLVERS` maps each reading of Eq. 4
to one :class:`Solver` (docs/physics.md#readings):

* ``psll``               W = m̂, the perfect chain.
* ``spsll`` (default)    W = F(k) m̂ with F(k) = φ + √P_cont(k): the filter reading.
* ``spsll_convolution``  W = √P ∗ m̂ literally, i.e. W = F{g·m} with g(x) = Σ_j √P_j e^{i k_j x}.
* ``spsll_fitted``       W = F_fit(|k|) m̂ with F_fit = F0 Θ(k_cut − |k|) fitted to explicit mosaic
                         ensembles in films (:mod:`spsll.physics.defects.fitted`, docs/fitted-filter.md).
* ``rtn_ensemble``       explicit vacancies: every (σ, τ) is R chains multiplied by sampled RTN
                         masks; the measurements average over them (its own settings:
                         ``realisations``, ``seed``, ``chain_batch``).

:class:`SolverConfig` holds the numerics every solver shares plus the solver's own settings
(``options``, validated by its table entry); :func:`build_system` turns a config, a material and a
grid into the :class:`~spsll.physics.llg.LLSystem` the integrators and measurements use;
:func:`line_system` is the exact reduction of a film to its k_y = 0 line for states uniform along y
(docs/physics.md#film-walls).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import torch

from spsll.physics.checks import require_nonnegative, require_positive
from spsll.physics.defects import mosaic, rtn
from spsll.physics.defects.fitted import FittedFilterParams
from spsll.physics.defects.masks import vacancy_masks
from spsll.physics.grid import Grid
from spsll.physics.llg import LLSystem
from spsll.physics.material import Material
from spsll.physics.terms import local_terms
from spsll.physics.terms.dmi import DMITerm
from spsll.physics.terms.exchange import ExchangeTerm, exchange_kernel, masked_exchange
from spsll.physics.terms.magnetostatics import ThinFilmMagnetostatics

DTYPES = {"float64": torch.float64, "float32": torch.float32}


class Solver:
    """One reading of Eq. 4. ``explicit_defects``: a sample is an ensemble of masked chains;
    ``k_diagonal``: the exchange is diagonal in k, so :meth:`linear_filter` exists."""

    name: ClassVar[str]
    explicit_defects: ClassVar[bool] = False
    k_diagonal: ClassVar[bool] = False
    option_defaults: ClassVar[Mapping[str, Any]] = {}

    def check_options(self, options: Mapping[str, Any]) -> dict:
        """The solver's own settings, completed with defaults; foreign keys are refused."""
        for key in options:
            if key not in self.option_defaults:
                owners = [n for n, s in SOLVERS.items() if key in s.option_defaults]
                where = f"only used by solver={owners[0]}" if owners else "not a solver setting"
                raise ValueError(f"solver.{key} is {where}, not solver={self.name}")
        return {**self.option_defaults, **options}

    def term_options(self, options: Mapping[str, Any]) -> dict:
        """Keyword arguments of :meth:`exchange` and :meth:`dmi` taken from the solver's settings (the
        fitted reading's coefficients); none for the others."""
        return {}

    def exchange(self, material: Material, grid: Grid, sigma, tau, *, dtype, device) -> ExchangeTerm:
        """The exchange term of a batch of (σ, τ) in metres."""
        raise NotImplementedError

    def dmi(self, material: Material, grid: Grid, sigma, tau, *, dtype, device) -> DMITerm:
        """The interfacial DMI term of a batch of (σ, τ), the defects entering it as they enter this
        reading's exchange (docs/physics.md#dmi)."""
        raise NotImplementedError

    def linear_filter(self, k: torch.Tensor, sigma: torch.Tensor, tau: torch.Tensor, grid: Grid) -> torch.Tensor:
        """F(k) of a k-diagonal reading, f(k) = f_gap + X0 [1 − cos ka] F(k), shape (B, K),
        differentiable in σ, τ (m). Readings that couple modes have none."""
        raise ValueError(f"solver {self.name} couples wavenumbers: it has no closed-form small-amplitude "
                         "dispersion (simulate it instead)")


def _half_spectrum(grid: Grid, sigma: torch.Tensor, tau: torch.Tensor, device) -> torch.Tensor:
    """The model's discrete defect spectrum P_j on the grid's ``rfftn`` half (B, *rfft_shape), float64:
    the RTN spectrum (Eq. 3) on a chain, the mosaic's S_d in films and bulk (docs/physics.md#mosaic)."""
    if grid.ndim == 1:
        P = rtn.discrete_spectrum(grid.shape[0], grid.a, sigma, tau, dtype=torch.float64, device=device)
    else:
        P = mosaic.mosaic_discrete_spectrum(grid.shape, grid.a, sigma, tau, dtype=torch.float64, device=device)
    return P[..., : grid.shape[-1] // 2 + 1]


def _sigma_tau(name: str, sigma, tau, device) -> tuple[torch.Tensor, torch.Tensor]:
    if sigma is None or tau is None:
        raise ValueError(f"solver {name!r} needs sigma and tau (metres)")
    sigma = require_positive("sigma", sigma, device=device)
    tau = require_nonnegative("tau", tau, device=device)
    if sigma.shape != tau.shape:
        raise ValueError(f"sigma and tau must have the same batch shape, got {sigma.shape} and {tau.shape}")
    return sigma, tau


class PSLL(Solver):
    """The perfect chain: one kernel κ(k) shared by the batch (σ, τ are ignored)."""

    name = "psll"
    k_diagonal = True

    def exchange(self, material, grid, sigma, tau, *, dtype, device):
        kernel = exchange_kernel(material, grid, device=device).reshape(1, 1, *grid.rfft_shape)
        return ExchangeTerm(self.name, kernel.to(dtype), None, grid.shape)

    def dmi(self, material, grid, sigma, tau, *, dtype, device):
        return DMITerm.of(material, grid, dtype=dtype, device=device)

    def linear_filter(self, k, sigma, tau, grid):
        return torch.ones(sigma.shape[0], k.shape[0], dtype=torch.float64, device=k.device)


class SPSLL(Solver):
    """Filter reading: κ(k) F(k) with F = φ + √P_cont(k); translation invariant, symmetric, exactly
    ``psll`` at τ = 0 (docs/physics.md#readings)."""

    name = "spsll"
    k_diagonal = True

    def defect_filter(self, grid, sigma, tau, device) -> torch.Tensor:
        """F(k) = φ + √P_cont on the ``rfftn`` grid, (B, *rfft_shape), float64; exactly 1 where τ = 0."""
        phi = rtn.material_fraction(sigma, tau)
        p_cont = _half_spectrum(grid, sigma, tau, device).clone()
        p_cont[(slice(None),) + (0,) * grid.ndim] -= phi**2  # the delta is the identity with amplitude φ
        filt = phi.view(-1, *[1] * grid.ndim) + torch.sqrt(p_cont.clamp_min(0))
        filt[tau == 0] = 1.0  # exact PS-LL at τ = 0 (no round-off from φ² − φ²)
        return filt

    def exchange(self, material, grid, sigma, tau, *, dtype, device):
        sigma, tau = _sigma_tau(self.name, sigma, tau, device)
        kappa = exchange_kernel(material, grid, device=device)
        filt = self.defect_filter(grid, sigma, tau, device)
        return ExchangeTerm(self.name, (kappa[None] * filt)[:, None].to(dtype), None, grid.shape)

    def dmi(self, material, grid, sigma, tau, *, dtype, device):
        sigma, tau = _sigma_tau(self.name, sigma, tau, device)
        filt = self.defect_filter(grid, sigma, tau, device)[:, None]
        return DMITerm.of(material, grid, filt=filt, dtype=dtype, device=device)

    def linear_filter(self, k, sigma, tau, grid):
        """φ + √(S_cont(k) Δk); exactly 1 where τ = 0 (the √ is guarded so the gradient stays finite)."""
        dk = 2.0 * math.pi / grid.length
        p_cont = rtn.continuous_spectrum(k, sigma, tau) * dk
        positive = p_cont > 0
        root = torch.where(positive, torch.sqrt(torch.where(positive, p_cont, torch.ones_like(p_cont))),
                           torch.zeros_like(p_cont))
        return sigma[:, None] / (sigma + tau)[:, None] + root


class SPSLLFitted(Solver):
    """The fitted film reading: κ(k) F(|k|) with F = F0 Θ(k_cut − |k|), F0 = 1 − c (1 − φ) and
    k_cut = A (σ/nm)^p (τ/nm)^q (:mod:`spsll.physics.defects.fitted`). Its settings are the fitted
    (c, A, p, q); the defaults are the fit of docs/fitted-filter.md. Films only: it was fitted to 2D
    mosaic ensembles (a chain's explicit vacancies cut it, and bulk has no fit)."""

    name = "spsll_fitted"
    k_diagonal = True
    # the fit written by `python -m spsll.studies.fitted_filter` (docs/fitted-filter/fitted-filter.json)
    option_defaults = {"stiffness_slope": 0.1109, "k_cut_rad_per_nm": 1.862, "k_cut_sigma_exponent": 0.3775,
                       "k_cut_tau_exponent": -0.0621}

    def check_options(self, options):
        out = super().check_options(options)
        FittedFilterParams(**out)  # validates
        return {key: float(v) for key, v in out.items()}

    def term_options(self, options):
        return {"options": dict(options)}

    def params(self, options: Mapping[str, Any] | None = None) -> FittedFilterParams:
        return FittedFilterParams(**self.check_options(options or {}))

    def defect_filter(self, grid, sigma, tau, device, options=None) -> torch.Tensor:
        """F(|k|) on the ``rfftn`` grid, (B, *rfft_shape), float64; exactly 1 where τ = 0."""
        if grid.ndim != 2:
            raise ValueError(f"solver {self.name} was fitted to films (2D mosaics); got a {grid.ndim}D grid "
                             f"{grid.shape}: use spsll or an explicit ensemble there")
        k2 = sum(kd**2 for kd in grid.rfft_wavevectors(device=device))
        filt = self.params(options).filter(k2.sqrt(), sigma.to(device), tau.to(device))
        filt[tau == 0] = 1.0
        return filt

    def exchange(self, material, grid, sigma, tau, *, dtype, device, options=None):
        sigma, tau = _sigma_tau(self.name, sigma, tau, device)
        kappa = exchange_kernel(material, grid, device=device)
        filt = self.defect_filter(grid, sigma, tau, device, options)
        return ExchangeTerm(self.name, (kappa[None] * filt)[:, None].to(dtype), None, grid.shape)

    def dmi(self, material, grid, sigma, tau, *, dtype, device, options=None):
        sigma, tau = _sigma_tau(self.name, sigma, tau, device)
        filt = self.defect_filter(grid, sigma, tau, device, options)[:, None]
        return DMITerm.of(material, grid, filt=filt, dtype=dtype, device=device)

    def linear_filter(self, k, sigma, tau, grid, options=None):
        """F(|k|) on the film's k_y = 0 line (box independent, so ``grid`` only names the lattice);
        gradients flow through F0 (the step in k_cut has none)."""
        return self.params(options).filter(k.abs(), sigma, tau)


class SPSLLConvolution(Solver):
    """Eq. 4 literally: W = F{g·m}, g(x_n) = Σ_j √P_j e^{i k_j x_n} (real, even, spiked at cell 0).
    Not translation invariant, 5–10× stiffer; keep pulses and walls away from cell 0."""

    name = "spsll_convolution"

    def defect_weight(self, grid, sigma, tau, device) -> torch.Tensor:
        """g(x) = Σ_j √P_j e^{i k_j x} on the cells, (B, *shape), float64; exactly 1 where τ = 0."""
        amp = torch.sqrt(_half_spectrum(grid, sigma, tau, device))
        if grid.ndim == 1:  # P is even, so g is real (irfft of the half spectrum, no 1/N)
            g = torch.fft.irfft(amp, n=grid.shape[0], dim=-1, norm="forward")
        else:
            dims = tuple(range(1, grid.ndim + 1))
            g = torch.fft.irfftn(amp, s=grid.shape, dim=dims, norm="forward")
        g[tau == 0] = 1.0
        return g

    def exchange(self, material, grid, sigma, tau, *, dtype, device):
        sigma, tau = _sigma_tau(self.name, sigma, tau, device)
        kappa = exchange_kernel(material, grid, device=device)
        g = self.defect_weight(grid, sigma, tau, device)
        return ExchangeTerm(self.name, kappa.reshape(1, 1, *grid.rfft_shape).to(dtype), g[:, None].to(dtype),
                            grid.shape)

    def dmi(self, material, grid, sigma, tau, *, dtype, device):
        sigma, tau = _sigma_tau(self.name, sigma, tau, device)
        g = self.defect_weight(grid, sigma, tau, device)[:, None]
        return DMITerm.of(material, grid, weight=g, dtype=dtype, device=device)


class RTNEnsemble(Solver):
    """Explicit vacancies: the ``psll`` kernel between occupation masks (B × R chains, sample-major).

    realisations: masks per (σ, τ), R ≥ 1. seed: base seed; a sample's masks come from a generator
    seeded by (seed, σ, τ). chain_batch: chains integrated together at most (null: from a memory
    budget).
    """

    name = "rtn_ensemble"
    explicit_defects = True
    option_defaults = {"realisations": 64, "seed": 0, "chain_batch": None}

    def check_options(self, options):
        out = super().check_options(options)
        for key, lo in (("realisations", 1), ("seed", 0)):
            v = out[key]
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"solver.{key} must be an integer >= {lo}, got {v!r}")
        cb = out["chain_batch"]
        if cb is not None and (isinstance(cb, bool) or not isinstance(cb, int) or cb < 1):
            raise ValueError(f"solver.chain_batch must be null or an integer >= 1, got {cb!r}")
        return out

    def masks(self, cfg: SolverConfig, material: Material, n_cells: int | tuple[int, ...], sigma, tau, *,
              mirrored: bool = False) -> torch.Tensor:
        """Occupation masks (B·R, *shape) of the samples (σ, τ), on the config's device and dtype: RTN chains,
        or mosaics for a film or bulk shape."""
        return vacancy_masks(n_cells, material.a, sigma, tau, cfg.options["realisations"], cfg.options["seed"],
                             mirrored=mirrored, dtype=cfg.torch_dtype, device=cfg.torch_device)

    def exchange(self, material, grid, sigma, tau, *, dtype, device, mask=None):
        if mask is None:
            raise ValueError(f"solver {self.name} needs the occupation masks of its chains")
        if tuple(mask.shape[-grid.ndim:]) != grid.shape:
            raise ValueError(f"mask has shape {tuple(mask.shape)}, expected cells {grid.shape}")
        return masked_exchange(material, mask, grid=grid, dtype=dtype, device=device)

    def dmi(self, material, grid, sigma, tau, *, dtype, device):
        """The plain ``psll`` DMI: vacant cells hold m = 0, so their bonds vanish, and the integrators
        mask the total field."""
        return DMITerm.of(material, grid, dtype=dtype, device=device)


SOLVERS: dict[str, Solver] = {s.name: s for s in (PSLL(), SPSLL(), SPSLLFitted(), SPSLLConvolution(), RTNEnsemble())}
SOLVER_NAMES = tuple(SOLVERS)


def solver_of(name: str) -> Solver:
    """The table entry of ``name``, with the list of names when it is not one."""
    if name not in SOLVERS:
        raise ValueError(f"solver.name must be one of {SOLVER_NAMES}, got {name!r}")
    return SOLVERS[name]


@dataclass(frozen=True)
class SolverConfig:
    """Numerics shared by every measurement (``conf/solver/*.yaml``) and the solver's own settings.

    ``SolverConfig.of("rtn_ensemble", realisations=8)`` and :meth:`from_config` sort the keys into
    the shared fields and ``options``; the table entry completes and validates ``options``.
    """

    name: str = "spsll"
    dtype: str = "float64"
    device: str = "auto"  # "auto" → cuda when available, else cpu
    compile: str | bool = "auto"  # torch.compile the hot loops ("auto": for large batches)
    phase_per_step: float = 0.35  # |λ|max·dt for dynamics (RK4 accuracy, see choose_time_step)
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "options", solver_of(self.name).check_options(dict(self.options)))
        if self.dtype not in DTYPES:
            raise ValueError(f"solver.dtype must be one of {tuple(DTYPES)}, got {self.dtype!r}")
        if self.compile not in (True, False, "auto"):
            raise ValueError(f"solver.compile must be true, false or 'auto', got {self.compile!r}")
        if not (0 < float(self.phase_per_step) <= 2.5):
            raise ValueError(f"solver.phase_per_step must be in (0, 2.5], got {self.phase_per_step}")

    @classmethod
    def of(cls, name: str = "spsll", **settings) -> SolverConfig:
        return cls.from_config({"name": name, **settings})

    @classmethod
    def from_config(cls, cfg: Mapping) -> SolverConfig:
        """From a flat mapping (a ``conf/solver`` node or a dataset's stored request)."""
        shared = {f.name for f in fields(cls)} - {"options"}
        data = {k: cfg[k] for k in cfg if k in shared}
        return cls(**data, options={k: cfg[k] for k in cfg if k not in shared})

    def to_dict(self) -> dict:
        """Flat, as in ``conf/solver`` and the dataset request."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "options"} | dict(self.options)

    @property
    def solver(self) -> Solver:
        return SOLVERS[self.name]

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def torch_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)


def build_system(cfg: SolverConfig, material: Material, grid: Grid | int, sigma=None, tau=None, *, alpha: float,
                 terms=None, mask=None, geometry: torch.Tensor | None = None) -> LLSystem:
    """The LL system of solver ``cfg.name`` for a batch of (σ, τ) in metres on ``grid`` (a number of
    cells is a chain of the material's lattice constant).

    For explicit-defect solvers pass the occupation ``mask`` (B·R, *shape) of the samples (from the
    solver's ``masks``); the others refuse one. ``geometry`` (*shape, :mod:`spsll.physics.geometry`)
    makes the sample finite: the field is multiplied by it (free boundaries); the caller starts from
    m = 0 outside. ``terms`` default to the material's local terms; the material's DMI (D ≠ 0, the
    defects entering it as they enter this solver's exchange) and thin-film magnetostatics are added.
    """
    grid = grid if isinstance(grid, Grid) else Grid(grid, material.a)
    solver = cfg.solver
    kw = {"dtype": cfg.torch_dtype, "device": cfg.torch_device}
    if solver.explicit_defects:
        ex = solver.exchange(material, grid, sigma, tau, mask=mask, **kw)
    elif mask is not None:
        raise ValueError(f"a vacancy mask is only used by explicit-defect solvers, not {cfg.name}")
    else:
        ex = solver.exchange(material, grid, sigma, tau, **kw, **solver.term_options(cfg.options))
    if geometry is not None:
        ex = ex.restricted_to(geometry)
    terms = tuple(local_terms(material) if terms is None else terms)
    kw_terms = kw | solver.term_options(cfg.options)
    return LLSystem(material, ex, alpha, terms + _film_terms(solver, material, grid, sigma, tau, terms, kw_terms))


def _film_terms(solver: Solver, material: Material, grid: Grid, sigma, tau, given: tuple, kw: dict) -> tuple:
    """The material's DMI (when D ≠ 0, of the solver's reading; docs/physics.md#dmi) and thin-film
    magnetostatics (when ``magnetostatics == thin_film``; #magnetostatics), unless ``given`` holds one."""
    out = []
    if material.D != 0 and not any(isinstance(t, DMITerm) for t in given):
        out.append(solver.dmi(material, grid, sigma, tau, **kw))
    if material.magnetostatics == "thin_film" and not any(isinstance(t, ThinFilmMagnetostatics) for t in given):
        out.append(ThinFilmMagnetostatics.of(material, grid, dtype=kw["dtype"], device=kw["device"]))
    return tuple(out)


# -- the exact y-reduction of a film (docs/physics.md#film-walls) ------------------------------------
class LineSystem(LLSystem):
    """The k_y = 0 line of a film system, on the chain-shaped grid (Nx, 1).

    It carries the film's stiffness bound, so the step sizes derived from it (the RK4 time step, the
    minimiser's first step t0 = 1/H_bound) are the film's and a measurement on the line repeats the
    film's arithmetic row by row. Energies are per row (the film's divided by Ny).
    """

    def __init__(self, material: Material, exchange: ExchangeTerm, alpha: float, terms, film_bound: float):
        super().__init__(material, exchange, alpha, terms)
        self.film_bound = float(film_bound)

    def field_bound(self) -> float:
        return self.film_bound


def _line_term(term):
    """A non-local term of the film evaluated on its k_y = 0 line, or None when it is not k-diagonal."""
    if isinstance(term, DMITerm) and term.weight is None:
        symbols = [s[..., :1].contiguous() for s in term.symbols]  # sin(k_y a)/a at k_y = 0 is 0
        filt = None if term.filt is None else term.filt[..., :1].contiguous()
        return DMITerm(term.prefactor, symbols, (term.shape[0], 1), term.mu0_ms, term.cell_size, filt)
    if isinstance(term, ThinFilmMagnetostatics):
        tensor = {key: n[..., :1].contiguous() for key, n in term.tensor.items()}
        return ThinFilmMagnetostatics(tensor, term.Ms, term.mu0, term.cell_size, (term.shape[0], 1))
    return None


def line_system(cfg: SolverConfig, material: Material, film: Grid, sigma=None, tau=None, *,
                alpha: float) -> LineSystem | None:
    """The film (Nx, Ny) reduced exactly to its k_y = 0 line (Nx, 1), or the bulk box (Nx, Ny, Nz) to its
    k_y = k_z = 0 line (the same (Nx, 1) shape); None where no reduction holds.

    For a k-diagonal reading (``psll``, ``spsll``) every non-local operator is a multiplier K(k_x, k_y)
    on the ``rfftn`` grid and the local terms act cell by cell, so a state uniform along y (only
    k_y = 0 occupied) stays uniform, and its field is F⁻¹{K(k_x, 0) m̂(k_x)} on every row. The line
    system holds the film's multipliers at k_y = 0 (so ``spsll`` keeps the filter of the (Nx, Ny) box,
    P_j = S_2(k_j) Δk_x Δk_y, not that of an (Nx, 1) grid) and the film's stiffness bound
    (:class:`LineSystem`). In bulk the same holds for states uniform in y and z: the line carries the
    box's multipliers at k_y = k_z = 0 (``spsll``: P_j = S_3(k_j) Δk_x Δk_y Δk_z) and the box's bound
    (its 3D Laplacian's, ≈ 3/2 of a film's); it is stored as a film's line (Nx, 1), whose exchange takes
    a 1D FFT. ``spsll_convolution`` (g·m in real space) and explicit defects (masks are not uniform
    along y) have no reduction: None. States on the line are (B, 3, Nx, 1).
    """
    if film.ndim not in (2, 3) or not cfg.solver.k_diagonal or cfg.solver.explicit_defects:
        return None
    full = build_system(cfg, material, film, sigma, tau, alpha=alpha)
    ex = full.exchange
    if ex.weight is not None or ex.mask is not None:
        return None
    line = Grid((film.shape[0], 1), film.a)
    extra = list(full.extra)
    kernel = ex.kernel
    if film.ndim == 3:  # the box's k_z = 0 plane (rfftn index 0 of the last axis) as a film's multipliers
        kernel = kernel[..., 0]
        for i, t in enumerate(extra):
            if not isinstance(t, DMITerm) or t.weight is not None:
                return None  # bulk holds no thin-film magnetostatics; nothing else is k-diagonal here
            filt = None if t.filt is None else t.filt[..., 0]
            extra[i] = DMITerm(t.prefactor, [s[..., 0] for s in t.symbols], film.shape[:2], t.mu0_ms, t.cell_size,
                               filt)
    exchange = ExchangeTerm(ex.name, kernel[..., :1].contiguous(), None, line.shape)
    extra = [_line_term(t) for t in extra]
    if any(t is None for t in extra):
        return None
    local = tuple(t for t in full.terms if t not in full.extra)
    return LineSystem(material, exchange, alpha, local + tuple(extra), full.field_bound())
