"""Physics demo: recompute the paper's Fig. 1 b–f with the SPS-LL solver and save them as PNGs.

This is the package's demo until the learning part (training, inference) exists. It runs::

    python -m spsll.demo [--out outputs/demo] [--quick]

and computes, for FePt (:meth:`Material.fept`):

* b — the continuous part of the RTN spectrum S(k), Eq. 3, over k × τ for σ = 10 nm;
* c — the ideal dispersion (solver ``psll``) as a 2D |FFT| with the analytic Eq. 6 curve;
* d — the defective dispersion (solver ``spsll``, σ = 10 nm, τ = 5 nm), same axes;
* e — ideal (``psll``) and defective (``spsll``, same σ, τ) relaxed domain-wall profiles;
* f — the wall width over σ ∈ [2, 100] nm × τ ∈ [0, 20] nm (25 × 21 grid in one batched call;
  ``--quick`` uses 6 × 5);

plus an overlay of the two picked dispersions. It prints the derived material numbers, the
least-squares amplitude X of each dispersion (X[1 − cos ka] + f_gap fitted to the refined peaks),
the widths of the two walls (cosine-series method ± truncation error, and tanh fit), the wall-time
of each step and the files written. σ and τ are given in nm here and converted to metres for the
physics.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from spsll.physics import plots
from spsll.physics.dispersion import DispersionResult, DispersionSettings, simulate_dispersions
from spsll.physics.domain_wall import relax_domain_walls
from spsll.physics.material import Material
from spsll.physics.solver import SolverConfig

NM = 1e-9
THZ = 1e12


def fit_amplitude(result: DispersionResult, material: Material, index: int = 0) -> float:
    """Least-squares X (Hz) of f(k) = X [1 − cos ka] + f_gap on ``freq_refined[index]``."""
    c = 1 - torch.cos(result.k.cpu() * material.a)
    f = result.freq_refined[index].cpu()
    return float(((f - material.f_gap) * c).sum() / (c * c).sum())


def _parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m spsll.demo",
                                description="Recompute the paper's Fig. 1 b–f and save PNGs.")
    p.add_argument("--out", type=Path, default=Path("outputs/demo"), help="output folder")
    p.add_argument("--quick", action="store_true", help="coarse 6 × 5 width grid (for tests)")
    p.add_argument("--sigma-nm", type=float, default=10.0, help="σ of the defective case (nm)")
    p.add_argument("--tau-nm", type=float, default=5.0, help="τ of the defective case (nm)")
    p.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda, ...")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's choice; 1 is much faster on a busy machine)")
    args = p.parse_args(argv)
    if not args.sigma_nm > 0 or not args.tau_nm >= 0:
        p.error("need --sigma-nm > 0 and --tau-nm >= 0")
    if args.threads is not None and args.threads < 1:
        p.error("need --threads >= 1")
    return args


def main(argv=None) -> int:
    args = _parse(argv)
    # torch.compile of the batched RK4 step notes that complex FFT ops stay eager: harmless here
    warnings.filterwarnings("ignore", message=".*Torchinductor does not support code generation.*")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    out: Path = args.out
    material = Material.fept()
    sigma, tau = args.sigma_nm * NM, args.tau_nm * NM
    defect = f"σ = {args.sigma_nm:g} nm, τ = {args.tau_nm:g} nm"
    ideal_solver = SolverConfig(name="psll", device=args.device)
    spsll_solver = SolverConfig(name="spsll", device=args.device)
    n_sigma, n_tau = (6, 5) if args.quick else (25, 21)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    written: list[Path] = []

    print(f"SPS-LL physics demo ({material.name}, device {spsll_solver.torch_device}, "
          f"{torch.get_num_threads()} CPU thread(s), {'quick' if args.quick else 'full'})")
    print("material: " + ", ".join(f"{k} = {v:.4g}" for k, v in material.summary().items()))

    # b: RTN spectrum (analytic)
    t0 = time.perf_counter()
    taus = np.linspace(0.0, 20.0, 201) * NM
    fig = plots.plot_rtn_spectrum(material, sigma, taus,
                                  title=f"b  RTN spectrum S(k), σ = {args.sigma_nm:g} nm")
    written.append(plots.save(fig, out / "fig1b_rtn_spectrum.png"))
    timings["b  S(k)"] = time.perf_counter() - t0

    # c, d: dispersions
    disp_settings = DispersionSettings(keep_spectrum_below=12e12)
    t0 = time.perf_counter()
    ideal = simulate_dispersions(material, None, None, solver=ideal_solver, settings=disp_settings)
    timings["c  ideal dispersion (psll)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    defective = simulate_dispersions(material, [sigma], [tau], solver=spsll_solver,
                                     settings=disp_settings)
    timings["d  defective dispersion (spsll)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    written.append(plots.save(
        plots.plot_dispersion_spectrum(ideal, 0, material, title="c  ideal material (τ = 0)"),
        out / "fig1c_dispersion_ideal.png"))
    written.append(plots.save(
        plots.plot_dispersion_spectrum(defective, 0, material, title=f"d  defective, {defect}"),
        out / "fig1d_dispersion_defective.png"))
    written.append(plots.save(
        plots.plot_dispersion_curves(ideal.k, {"ideal (psll)": ideal.freq_refined[0],
                                               f"defective ({defect})": defective.freq_refined[0]},
                                     material, title="Picked dispersions"),
        out / "dispersion_curves.png"))
    timings["c, d plots"] = time.perf_counter() - t0
    X_ideal, X_def = fit_amplitude(ideal, material), fit_amplitude(defective, material)

    # e: wall profiles
    t0 = time.perf_counter()
    wall_ideal = relax_domain_walls(material, None, None, solver=ideal_solver)
    wall_def = relax_domain_walls(material, [sigma], [tau], solver=spsll_solver)
    timings["e  two walls"] = time.perf_counter() - t0
    fig = plots.plot_wall_profiles(
        wall_ideal.x, {f"ideal, τ = 0 (w = {float(wall_ideal.width_nm[0]):.2f} nm)": wall_ideal.mz[0],
                       f"{defect} (w = {float(wall_def.width_nm[0]):.2f} nm)": wall_def.mz[0]},
        title="e  domain-wall profiles")
    written.append(plots.save(fig, out / "fig1e_wall_profiles.png"))

    # f: width surface, one batched call
    t0 = time.perf_counter()
    s_nm = torch.linspace(2.0, 100.0, n_sigma, dtype=torch.float64)
    t_nm = torch.linspace(0.0, 20.0, n_tau, dtype=torch.float64)
    S, T = torch.meshgrid(s_nm, t_nm, indexing="ij")
    walls = relax_domain_walls(material, S.reshape(-1) * NM, T.reshape(-1) * NM, solver=spsll_solver)
    timings[f"f  width surface ({n_sigma} × {n_tau} = {n_sigma * n_tau} walls)"] = (
        time.perf_counter() - t0)
    width_grid = walls.width_nm.reshape(n_sigma, n_tau).cpu()
    width_grid = torch.where(walls.converged.reshape(n_sigma, n_tau).cpu(), width_grid, torch.nan)
    fig = plots.plot_width_surface(s_nm, t_nm, width_grid, title="f  domain-wall width")
    written.append(plots.save(fig, out / "fig1f_width_surface.png"))

    # report
    print("\ndispersions (least-squares X of X[1 − cos ka] + f_gap on the refined peaks):")
    print(f"  analytic X0          = {material.X0 / THZ:.4f} THz")
    print(f"  ideal (psll)       X = {X_ideal / THZ:.4f} THz")
    print(f"  defective ({defect}) X = {X_def / THZ:.4f} THz  (X/X0 = {X_def / material.X0:.3f})")
    print("walls (cosine-series width ± truncation error; tanh-fit width):")
    for name, w in (("ideal (psll)", wall_ideal), (f"defective ({defect})", wall_def)):
        print(f"  {name}: width = {float(w.width_nm[0]):.3f} ± {float(w.width_err_nm[0]):.1e} nm, "
              f"tanh width = {float(w.width_tanh_nm[0]):.3f} nm, converged = {bool(w.converged[0])}")
    n_conv = int(walls.converged.sum())
    finite = width_grid[torch.isfinite(width_grid)]
    print(f"width surface: {n_conv}/{walls.converged.numel()} walls converged, widths "
          f"{float(finite.min()):.3f} … {float(finite.max()):.3f} nm")
    print("wall-time:")
    for name, sec in timings.items():
        print(f"  {name}: {sec:.2f} s")
    print(f"  total (with plotting): {time.perf_counter() - start:.2f} s")
    print("files written:")
    for path in written:
        print(f"  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
