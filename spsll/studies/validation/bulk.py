"""The bulk validation: dispersions of the statistical readings against explicit 3D mosaic ensembles.

    python -m spsll.studies.validation --config-name studies/validation_3d threads=1   # docs/validation-3d.md

A bulk box is N × M × L cubic cells (x × y × z) of size a, periodic. A plane excitation (the chain's
Gaussian pulse along x, uniform in y and z) drives k_y = k_z = 0 only, so a k-diagonal reading sees
the box's filter on the k_y = k_z = 0 line,

    F_{M,L}(k_x) = φ + √(S₃(|k_x|) Δk_x Δk_y Δk_z),   Δk_d = 2π/(N_d a),

(docs/physics.md#films; :func:`bulk_filter`, tested against ``SPSLL.defect_filter``): its continuous
part fades as 1/√(N M L) and F → φ as the box grows. ``spsll`` runs as that exact line
(:func:`spsll.physics.solvers.line_system`), at several cross-sections s × s; the explicit ensemble
(coloured Poisson plane mosaics, docs/physics.md#mosaic) runs the whole box with the power of its
M·L rows averaged. The errors, the ensemble noise from two halves, k_cut, X, the effective filter
F_eff = (f_ens − f_gap)/(f_ideal − f_gap) and the verdicts are the film study's (:mod:`.film_compute`,
:mod:`.film`); the report is :mod:`.bulk_report`.

A box holds a mosaic of correlation length T = στ/(σ+τ) only if every side is ≥ ``min_box_over_T`` T
(50, docs/physics.md#mosaic): points beyond that are refused, not computed.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from spsll.physics.defects.mosaic import mosaic_continuous_spectrum
from spsll.physics.grid import Grid
from spsll.physics.material import Material
from spsll.physics.measure.dispersion import (
    DispersionSettings,
    ensemble_power_spectra,
    pick_peaks,
    simulate_dispersions,
)
from spsll.physics.solvers import SolverConfig
from spsll.studies.validation.compute import ENSEMBLE, PER_THZ, _mae_thz, branch_cutoff, fit_amplitude
from spsll.studies.validation.film import dispersion_verdicts
from spsll.studies.validation.film_compute import _errors, _f_eff_summary, _solver, effective_filter, linear_peaks
from spsll.studies.validation.film_config import _points, _rows, correlation_length_nm
from spsll.units import NM, material_fraction

MODULE = "spsll.studies.validation"
BULK_CONFIG = "studies/validation_3d"  # --config-name of this study (conf/studies/validation_3d.yaml)
SCAN_SIDES = tuple(2**j for j in range(1, 21))  # cross-section sides of the closed-form scan (2 … 1 048 576 cells)
MAX_READING_CELLS = 2**24  # N·s² of a simulated reading: its filter is built on the whole N × s × s box first


def bulk_filter(material: Material, n_cells: int, cross_section: tuple[int, int] | None, sigma,
                tau) -> torch.Tensor:
    """F_{M,L}(k_x) of ``spsll`` on the k_y = k_z = 0 line of an n_cells × M × L box, k_x ascending:
    (B, N); σ, τ in m.

    ``cross_section=None`` is the infinite box, F = φ. Exactly 1 where τ = 0 (the solver's convention).
    """
    s, t = torch.as_tensor(sigma, dtype=torch.float64), torch.as_tensor(tau, dtype=torch.float64)
    k = Grid(n_cells, material.a).sorted_wavenumbers()
    phi = material_fraction(s, t)[:, None]
    if cross_section is None:
        filt = phi.expand(-1, n_cells).clone()
    else:
        rows, layers = cross_section
        dk3 = (2 * math.pi) ** 3 / (n_cells * rows * layers * material.a**3)
        filt = phi + torch.sqrt(mosaic_continuous_spectrum(k.abs(), s, t, 3) * dk3)
    filt[t == 0] = 1.0
    return filt


@dataclass
class BulkValidationConfig:
    """Dispersions of the bulk box N × ``n_rows`` × ``n_layers`` (the ensemble's; N is the dispersion
    settings' ``n_cells``) and of ``spsll`` at the cross-sections s × s of ``reading_sides``."""

    points_nm: Sequence[tuple[float, float]] = ((5.0, 0.47),)
    n_rows: int = 64
    n_layers: int = 64
    reading_sides: Sequence[int] = (16, 64, 256)
    realisations: int = 2  # per point, split in two halves (seeds seed, seed + 1)
    seed: int = 0
    min_box_over_T: float = 50.0
    dispersion: DispersionSettings = field(default_factory=lambda: DispersionSettings(n_cells=64))
    dispersion_dtype: str = "float32"
    device: str = "auto"
    compile: str | bool = "auto"
    material: Material = field(default_factory=Material.fept)

    def __post_init__(self):
        self.points_nm = _points("points_nm", self.points_nm)
        if not self.points_nm:
            raise ValueError("points_nm must hold at least one [sigma_nm, tau_nm] point")
        _rows("n_rows", [self.n_rows], 2)
        _rows("n_layers", [self.n_layers], 2)
        self.reading_sides = _rows("reading_sides", self.reading_sides, 2)
        if not self.reading_sides:
            raise ValueError("reading_sides must hold at least one cross-section side")
        big = [s for s in self.reading_sides if self.dispersion.n_cells * s * s > MAX_READING_CELLS]
        if big:
            raise ValueError(f"reading_sides {big} are too large: a simulated reading builds its filter on the whole "
                             f"{self.dispersion.n_cells} x s x s box first (at most {MAX_READING_CELLS} cells); the "
                             f"closed-form scan covers larger boxes")
        v = self.realisations
        if isinstance(v, bool) or not isinstance(v, int) or v < 2:
            raise ValueError(f"realisations must be an integer >= 2 (two halves for the noise), got {v!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not self.min_box_over_T > 0:
            raise ValueError(f"min_box_over_T must be > 0, got {self.min_box_over_T}")
        if self.dispersion.n_rows != 1 or self.dispersion.n_layers != 1:
            raise ValueError("dispersion settings are the chain's; the box's cross-section is n_rows x n_layers")
        side = min(self.box_cells) * self.material.a / NM
        t_max = side / self.min_box_over_T
        for s, t in self.points_nm:
            if correlation_length_nm(s, t) > t_max * (1 + 1e-9):
                raise ValueError(f"points_nm: ({s:g}, {t:g}) nm has T = {correlation_length_nm(s, t):.3f} nm, but the "
                                 f"{' x '.join(map(str, self.box_cells))} box ({side:.1f} nm shortest side) allows "
                                 f"T <= {t_max:.3f} nm (min_box_over_T = {self.min_box_over_T:g}); choose a smaller T "
                                 f"or a larger box")

    @property
    def box_cells(self) -> tuple[int, int, int]:
        return self.dispersion.n_cells, self.n_rows, self.n_layers

    @property
    def box_nm(self) -> tuple[float, float, float]:
        return tuple(n * self.material.a / NM for n in self.box_cells)

    def settings(self, rows: int | None = None, layers: int | None = None) -> DispersionSettings:
        """The measurement in the box N × rows × layers (default: the ensemble's)."""
        return replace(self.dispersion, n_rows=rows or self.n_rows, n_layers=layers or self.n_layers)

    @classmethod
    def from_study(cls, cfg) -> BulkValidationConfig:
        """From the composed ``studies/validation_3d`` config: the dispersion dataset group's measurement
        settings, dtype and material, the study's points, box and ensemble size."""
        from spsll.data.provenance import physics_of_request

        c = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
        disp = physics_of_request({"material": c["material"], "solver": {"name": "spsll"},
                                   "dataset": c["dispersion_dataset"]})
        b = c["bulk"]
        return cls(points_nm=b["points_nm"], n_rows=b["n_rows"], n_layers=b["n_layers"],
                   reading_sides=b["reading_sides"], realisations=c["realisations"], seed=c["seed"],
                   min_box_over_T=b["min_box_over_T"], dispersion=disp.settings, dispersion_dtype=disp.solver.dtype,
                   device=c["device"], compile=c["compile"], material=disp.material)

    @classmethod
    def from_conf(cls, overrides: Sequence[str] = (), **fields_) -> BulkValidationConfig:
        """:meth:`from_study` of ``conf/studies/validation_3d.yaml`` with command-line ``overrides``, then
        the dataclass ``fields_`` replaced."""
        from spsll.studies.common import compose_study

        return replace(cls.from_study(compose_study("validation_3d", overrides)), **fields_)


def _ensemble_halves(cfg: BulkValidationConfig, s, t, log):
    """Mean power spectra of two independent halves of the box realisations (seeds seed, seed + 1)."""
    R = cfg.realisations
    out, t0 = [], time.perf_counter()
    for i, r in enumerate((R // 2, R - R // 2)):
        ens = _solver(ENSEMBLE, cfg, realisations=r, seed=cfg.seed + i)
        _, df, P = ensemble_power_spectra(cfg.material, s * NM, t * NM, solver=ens, settings=cfg.settings())
        out.append((r, P))
        log(f"bulk dispersions: ensemble half {i + 1}/2 ({r} boxes {' x '.join(map(str, cfg.box_cells))} x "
            f"{len(s)} points) {time.perf_counter() - t0:.1f} s")
    return out, df


def _box_scan(cfg: BulkValidationConfig, s, t, k, f_ens, inner) -> dict:
    """The closed-form spsll in boxes N × s × s for every s of :data:`SCAN_SIDES` and the infinite box
    (F = φ): its MAE against the ensemble, and the best side per point (inner half)."""
    mat, N = cfg.material, cfg.dispersion.n_cells
    sides = list(SCAN_SIDES) + [None]
    mae, mae_in = [], []
    for side in sides:
        f = linear_peaks(mat, k, bulk_filter(mat, N, None if side is None else (side, side), s * NM, t * NM))
        mae.append(_mae_thz(f, f_ens))
        mae_in.append(_mae_thz(f, f_ens, inner))
    mae, mae_in = torch.stack(mae, 1), torch.stack(mae_in, 1)  # (B, len(sides))
    best = mae_in.argmin(1)
    label = ["inf" if side is None else side for side in sides]
    return {"sides": label, "mae_thz": mae.tolist(), "mae_inner_thz": mae_in.tolist(),
            "best_sides": [label[int(j)] for j in best],
            "best_mae_inner_thz": mae_in.gather(1, best[:, None])[:, 0].tolist(),
            "best_mae_thz": mae.gather(1, best[:, None])[:, 0].tolist()}


def _readings(cfg: BulkValidationConfig, s, t, f_ens, inner, k, log) -> dict:
    """``spsll`` simulated (its exact k_y = k_z = 0 line) at each cross-section: peaks, errors, filter."""
    out, mat, N = {}, cfg.material, cfg.dispersion.n_cells
    for side in cfg.reading_sides:
        t0 = time.perf_counter()
        res = simulate_dispersions(mat, s * NM, t * NM, solver=_solver("spsll", cfg), settings=cfg.settings(side, side))
        f = res.freq_refined
        out[str(side)] = {**_errors(f, f_ens, inner, k, mat), "freq_thz": (f * PER_THZ).tolist(),
                          "filter": bulk_filter(mat, N, (side, side), s * NM, t * NM).tolist(),
                          "seconds": time.perf_counter() - t0}
        log(f"bulk dispersions: spsll at {N} x {side} x {side} in {out[str(side)]['seconds']:.1f} s")
    return out


def validate_bulk_dispersions(cfg: BulkValidationConfig, log=print) -> dict:
    """Peaks of psll (the ideal box's k_y = k_z = 0 line at the ensemble's box), spsll at each cross-section
    (simulated, and its closed form on a scan of sides) and the mosaic ensemble in the box; errors, noise,
    k_cut, X and F_eff per point."""
    mat, N = cfg.material, cfg.dispersion.n_cells
    s = torch.tensor([p[0] for p in cfg.points_nm], dtype=torch.float64)
    t = torch.tensor([p[1] for p in cfg.points_nm], dtype=torch.float64)
    t0 = time.perf_counter()
    # the ideal box's line: the box's stiffness bound, hence the ensemble's time step, so τ = 0 is exact
    ideal = simulate_dispersions(mat, None, None, solver=_solver("psll", cfg), settings=cfg.settings())
    k, f_id = ideal.k, ideal.freq_refined[0]
    inner = k.abs() <= math.pi / (2 * mat.a)
    seconds_ideal = time.perf_counter() - t0

    t0 = time.perf_counter()
    halves, df = _ensemble_halves(cfg, s, t, log)
    P = sum(r * p for r, p in halves) / cfg.realisations
    f_ens = pick_peaks(P.sqrt(), df)[1]
    f_h = [pick_peaks(p.sqrt(), df)[1] for _, p in halves]
    seconds_ensemble = time.perf_counter() - t0

    k_cut = branch_cutoff(f_ens, f_id, k, mat)
    F_eff = effective_filter(f_ens, f_id, mat)
    F_eff_h = [effective_filter(f, f_id, mat) for f in f_h]
    filt_ens = bulk_filter(mat, N, (cfg.n_rows, cfg.n_layers), s * NM, t * NM)
    T = [correlation_length_nm(a, b) for a, b in cfg.points_nm]
    short = min(cfg.box_nm)
    out = {
        "sigma_grid_nm": s.tolist(), "tau_grid_nm": t.tolist(), "phi": material_fraction(s, t).tolist(),
        "T_nm": T, "box_over_T": [short / x if x > 0 else None for x in T],
        "n_cells": N, "n_rows": cfg.n_rows, "n_layers": cfg.n_layers, "box_nm": list(cfg.box_nm),
        "reading_sides": list(cfg.reading_sides), "realisations": cfg.realisations,
        "k_rad_per_nm": (k * NM).tolist(), "freq_ideal_thz": (f_id * PER_THZ).tolist(),
        "freq_ensemble_thz": (f_ens * PER_THZ).tolist(),
        "ensemble_noise_thz": (0.5 * _mae_thz(f_h[0], f_h[1])).tolist(),
        "ensemble_noise_inner_thz": (0.5 * _mae_thz(f_h[0], f_h[1], inner)).tolist(),
        "k_cut_rad_per_nm": (k_cut * NM).tolist(),
        "X_ensemble_thz": (fit_amplitude(f_ens[:, inner], k[inner], mat) * PER_THZ).tolist(),
        "X_ideal_thz": float(fit_amplitude(f_id[inner], k[inner], mat) * PER_THZ),
        "ideal": _errors(f_id.expand_as(f_ens), f_ens, inner, k, mat),
        "filter_ensemble_box": filt_ens.tolist(),
        "filter_infinite_box": bulk_filter(mat, N, None, s * NM, t * NM).tolist(),
        **_f_eff_summary(F_eff, F_eff_h, filt_ens, k, k_cut, inner),
        "scan": _box_scan(cfg, s, t, k, f_ens, inner),
        "seconds_ideal": seconds_ideal, "seconds_ensemble": seconds_ensemble,
        "seconds_per_realisation": seconds_ensemble / (len(s) * cfg.realisations),
        "spsll": _readings(cfg, s, t, f_ens, inner, k, log), "spsll_convolution": {},
    }
    j = int(torch.tensor(out["phi"]).argmin())  # the spectrum of the point with the most vacancies
    n_f = min(P.shape[1], int(math.ceil(14e12 / df)) + 1)
    out["spectrum_point"] = j
    out["spectrum_f_thz"] = (torch.arange(n_f, dtype=torch.float64) * df * PER_THZ).tolist()
    out["_spectrum"] = P[j, :n_f].sqrt().to(torch.float32)
    return out


def bulk_config_summary(cfg: BulkValidationConfig, dataset_ranges: dict | None = None) -> dict:
    """The settings the report states (and the machine it ran on)."""
    d = cfg.dispersion
    return {"realisations": cfg.realisations, "seed": cfg.seed, "material": cfg.material.name,
            "a_nm": cfg.material.a / NM, "min_box_over_T": cfg.min_box_over_T, "box_cells": list(cfg.box_cells),
            "reading_sides": list(cfg.reading_sides), "dataset_ranges": dataset_ranges or {},
            "dispersion": {"n_cells": d.n_cells, "duration_ps": d.duration * 1e12,
                           "sample_interval_fs": d.sample_interval * 1e15, "alpha": d.alpha,
                           "pulse_amplitude": d.pulse_amplitude, "window": d.window, "dtype": cfg.dispersion_dtype},
            "torch": torch.__version__, "threads": torch.get_num_threads(), "python": platform.python_version(),
            "machine": platform.machine(), "device": str(SolverConfig(device=cfg.device).torch_device)}


def run_bulk_validation(cfg: BulkValidationConfig, log=print, *, dataset_ranges: dict | None = None) -> dict:
    """The bulk dispersions and their verdicts (JSON-able but the ``_spectrum`` tensor). ``dataset_ranges``:
    the dispersion dataset's (σ, τ) ranges, for the report's statement of what the box could not reach."""
    t0 = time.perf_counter()
    disp = validate_bulk_dispersions(cfg, log)
    disp["verdicts"] = dispersion_verdicts(disp)
    return {"dispersion": disp, "seconds": time.perf_counter() - t0,
            "config": bulk_config_summary(cfg, dataset_ranges)}


def run_bulk_study(cfg: DictConfig, out: Path, command: str | None = None) -> Path:
    """The bulk study (``dim: 3``, conf/studies/validation_3d.yaml): compute or re-render, and write."""
    from spsll.studies.common import command_line, set_threads
    from spsll.studies.validation.bulk_report import write_report

    if cfg.get("render_from"):
        saved = torch.load(cfg.render_from, weights_only=False)
        path = write_report(saved["result"], out, command=saved["command"])
        print(f"wrote {path} from {cfg.render_from}")
        return path
    set_threads(cfg.get("threads"))
    bcfg = BulkValidationConfig.from_study(cfg)
    if command is None:  # Hydra does not list --config-name among the overrides
        tail = command_line(MODULE, drop=("save_raw",))[len(f"python -m {MODULE}"):]
        command = f"python -m {MODULE} --config-name {BULK_CONFIG}{tail}"
    ranges = {"dispersion": {"sigma_nm": list(cfg.dispersion_dataset.sigma_nm),
                             "tau_nm": list(cfg.dispersion_dataset.tau_nm)}}
    result = run_bulk_validation(bcfg, log=lambda m: print(m, flush=True), dataset_ranges=ranges)
    if cfg.get("save_raw"):
        torch.save({"result": result, "command": command}, cfg.save_raw)
    path = write_report(result, out, command=command)
    print(f"wrote {path} ({result['seconds']:.0f} s)")
    return path
