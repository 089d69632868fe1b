"""Physics demo: recompute the paper's Fig. 1 b–f with the SPS-LL solver and save them as PNGs.

    python -m spsll.studies.demo [out=outputs/demo] [quick=true] [sigma_nm=10] [tau_nm=5] [device=cpu] [threads=1]

(config: ``conf/studies/demo.yaml``) computes, for the material of its ``material`` group (FePt):

* b — the continuous part of the RTN spectrum S(k), Eq. 3, over k × τ for σ = 10 nm;
* c — the ideal dispersion (solver ``psll``) as a 2D |FFT| with the analytic Eq. 6 curve;
* d — the defective dispersion (solver ``spsll``, σ = 10 nm, τ = 5 nm), same axes;
* e — ideal (``psll``) and defective (``spsll``, same σ, τ) relaxed domain-wall profiles;
* f — the wall width over σ ∈ [2, 100] nm × τ ∈ [0, 20] nm (25 × 21 grid in one batched call;
  ``quick=true`` uses 6 × 5);

plus an overlay of the two picked dispersions. It prints (and writes to ``<out>/demo.txt``, with the
numbers in ``<out>/demo.json``) the derived material numbers, the least-squares amplitude X of each
dispersion (X[1 − cos ka] + f_gap fitted to the refined peaks), the widths of the two walls
(cosine-series method ± truncation error, and tanh fit), the wall-time of each step and the files
written. σ and τ are given in nm here and converted to metres for the physics.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import hydra
import numpy as np
import torch
from omegaconf import DictConfig

from spsll.figures import physics as plots
from spsll.physics.material import Material
from spsll.physics.measure.dispersion import DispersionResult, DispersionSettings, simulate_dispersions
from spsll.physics.measure.domain_wall import relax_domain_walls
from spsll.physics.solvers import SolverConfig
from spsll.studies.common import CONF, command_line, set_threads, write_json
from spsll.studies.rendering import fill, template_sections
from spsll.units import NM, THZ

MODULE = "spsll.studies.demo"


def fit_amplitude(result: DispersionResult, material: Material, index: int = 0) -> float:
    """Least-squares X (Hz) of f(k) = X [1 − cos ka] + f_gap on ``freq_refined[index]``."""
    c = 1 - torch.cos(result.k.cpu() * material.a)
    f = result.freq_refined[index].cpu()
    return float(((f - material.f_gap) * c).sum() / (c * c).sum())


class _Run:
    """The demo's state: material, solvers, (σ, τ), timings and the files written."""

    def __init__(self, cfg: DictConfig):
        self.out = Path(cfg.out)
        self.material = Material.from_config(cfg.material)
        self.sigma, self.tau = cfg.sigma_nm * NM, cfg.tau_nm * NM
        self.defect = f"σ = {cfg.sigma_nm:g} nm, τ = {cfg.tau_nm:g} nm"
        self.ideal_solver = SolverConfig(name="psll", device=cfg.device)
        self.spsll_solver = SolverConfig(name="spsll", device=cfg.device)
        self.n_sigma, self.n_tau = (6, 5) if cfg.quick else (25, 21)
        self.timings: dict[str, float] = {}
        self.written: list[Path] = []

    def timed(self, name: str, t0: float):
        self.timings[name] = time.perf_counter() - t0

    def save(self, fig, name: str):
        self.written.append(plots.save(fig, self.out / name))


def _rtn_spectrum(run: _Run, sigma_nm: float):
    t0 = time.perf_counter()
    taus = np.linspace(0.0, 20.0, 201) * NM
    run.save(plots.plot_rtn_spectrum(run.material, run.sigma, taus, title=f"b  RTN spectrum S(k), σ = {sigma_nm:g} nm"),
             "fig1b_rtn_spectrum.png")
    run.timed("b  S(k)", t0)


def _dispersions(run: _Run) -> dict:
    """Fig. 1 c, d and the overlay; the fitted amplitudes X (Hz)."""
    material, settings = run.material, DispersionSettings(keep_spectrum_below=12e12)
    t0 = time.perf_counter()
    ideal = simulate_dispersions(material, None, None, solver=run.ideal_solver, settings=settings)
    run.timed("c  ideal dispersion (psll)", t0)
    t0 = time.perf_counter()
    defective = simulate_dispersions(material, [run.sigma], [run.tau], solver=run.spsll_solver, settings=settings)
    run.timed("d  defective dispersion (spsll)", t0)
    t0 = time.perf_counter()
    run.save(plots.plot_dispersion_spectrum(ideal, 0, material, title="c  ideal material (τ = 0)"),
             "fig1c_dispersion_ideal.png")
    run.save(plots.plot_dispersion_spectrum(defective, 0, material, title=f"d  defective, {run.defect}"),
             "fig1d_dispersion_defective.png")
    curves = {"ideal (psll)": ideal.freq_refined[0], f"defective ({run.defect})": defective.freq_refined[0]}
    run.save(plots.plot_dispersion_curves(ideal.k, curves, material, title="Picked dispersions"),
             "dispersion_curves.png")
    run.timed("c, d plots", t0)
    return {"X0_hz": material.X0, "X_ideal_hz": fit_amplitude(ideal, material),
            "X_defective_hz": fit_amplitude(defective, material)}


def _wall_numbers(w) -> dict:
    return {"width_nm": float(w.width_nm[0]), "width_err_nm": float(w.width_err_nm[0]),
            "width_tanh_nm": float(w.width_tanh_nm[0]), "converged": bool(w.converged[0])}


def _walls(run: _Run) -> dict:
    """Fig. 1 e: the ideal and the defective wall."""
    t0 = time.perf_counter()
    wall_ideal = relax_domain_walls(run.material, None, None, solver=run.ideal_solver)
    wall_def = relax_domain_walls(run.material, [run.sigma], [run.tau], solver=run.spsll_solver)
    run.timed("e  two walls", t0)
    fig = plots.plot_wall_profiles(
        wall_ideal.x, {f"ideal, τ = 0 (w = {float(wall_ideal.width_nm[0]):.2f} nm)": wall_ideal.mz[0],
                       f"{run.defect} (w = {float(wall_def.width_nm[0]):.2f} nm)": wall_def.mz[0]},
        title="e  domain-wall profiles")
    run.save(fig, "fig1e_wall_profiles.png")
    return {"ideal": _wall_numbers(wall_ideal), "defective": _wall_numbers(wall_def)}


def _width_surface(run: _Run) -> dict:
    """Fig. 1 f: the width over σ × τ, one batched call (NaN where a wall did not converge)."""
    t0 = time.perf_counter()
    n_sigma, n_tau = run.n_sigma, run.n_tau
    s_nm = torch.linspace(2.0, 100.0, n_sigma, dtype=torch.float64)
    t_nm = torch.linspace(0.0, 20.0, n_tau, dtype=torch.float64)
    S, T = torch.meshgrid(s_nm, t_nm, indexing="ij")
    walls = relax_domain_walls(run.material, S.reshape(-1) * NM, T.reshape(-1) * NM, solver=run.spsll_solver)
    run.timed(f"f  width surface ({n_sigma} × {n_tau} = {n_sigma * n_tau} walls)", t0)
    width_grid = walls.width_nm.reshape(n_sigma, n_tau).cpu()
    width_grid = torch.where(walls.converged.reshape(n_sigma, n_tau).cpu(), width_grid, torch.nan)
    run.save(plots.plot_width_surface(s_nm, t_nm, width_grid, title="f  domain-wall width"), "fig1f_width_surface.png")
    finite = width_grid[torch.isfinite(width_grid)]
    return {"sigma_nm": s_nm.tolist(), "tau_nm": t_nm.tolist(), "width_nm": width_grid.tolist(),
            "n_converged": int(walls.converged.sum()), "n_walls": walls.converged.numel(),
            "min_nm": float(finite.min()), "max_nm": float(finite.max())}


def render_header(numbers: dict) -> str:
    """The report's first lines (printed before the computation starts)."""
    summary = ", ".join(f"{k} = {v:.4g}" for k, v in numbers["material"].items())
    return fill(template_sections("demo.txt")["header"], {**numbers, "material_summary": summary})


def render_report(numbers: dict) -> str:
    """The rest of the report, from the demo's numbers (``demo.json``)."""
    t = template_sections("demo.txt")
    fields = {**numbers, "X0_thz": numbers["X0_hz"] / THZ, "X_ideal_thz": numbers["X_ideal_hz"] / THZ,
              "X_defective_thz": numbers["X_defective_hz"] / THZ,
              "X_ratio": numbers["X_defective_hz"] / numbers["X0_hz"],
              "walls": {k: fill(t["wall"], w) for k, w in numbers["walls"].items()},
              "timings": "\n".join(fill(t["timing"], {"name": k, "seconds": v})
                                   for k, v in numbers["timings_s"].items()),
              "files": "\n".join(fill(t["file"], {"path": p}) for p in numbers["files"])}
    return fill(t["report"], fields)


def run_demo(cfg: DictConfig, command: str | None = None) -> dict:
    """Compute and draw Fig. 1 b–f; print the report and write it (``demo.txt``) and its numbers
    (``demo.json``) into ``cfg.out``. Returns the numbers."""
    if not cfg.sigma_nm > 0 or not cfg.tau_nm >= 0:
        raise ValueError("need sigma_nm > 0 and tau_nm >= 0")
    # torch.compile of the batched RK4 step notes that complex FFT ops stay eager: harmless here
    warnings.filterwarnings("ignore", message=".*Torchinductor does not support code generation.*")
    set_threads(cfg.threads)
    start = time.perf_counter()
    run = _Run(cfg)
    numbers = {"command": command or command_line(MODULE), "material_name": run.material.name,
               "material": run.material.summary(), "device": str(run.spsll_solver.torch_device),
               "threads": torch.get_num_threads(), "mode": "quick" if cfg.quick else "full", "defect": run.defect}
    header = render_header(numbers)
    print(header)
    _rtn_spectrum(run, cfg.sigma_nm)
    numbers.update(_dispersions(run))
    numbers["walls"] = _walls(run)
    numbers["surface"] = _width_surface(run)
    numbers.update(timings_s=run.timings, total_s=time.perf_counter() - start,
                   files=[str(p) for p in run.written] + [str(run.out / n) for n in ("demo.txt", "demo.json")])
    report = render_report(numbers)
    print(report)
    write_json(run.out / "demo.json", numbers)
    (run.out / "demo.txt").write_text(header + "\n" + report + "\n")
    return numbers


@hydra.main(version_base="1.3", config_path=str(CONF), config_name="studies/demo")
def main(cfg: DictConfig) -> None:
    run_demo(cfg)


if __name__ == "__main__":
    main()
