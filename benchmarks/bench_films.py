"""Films (2D) and the 1D dispersion pipeline: prints every figure of its BENCHMARKS.md section in one run.

1. ``rhs``: one 2D LL right-hand side ``LLSystem.rhs(m)`` of a Pt/Co film (conf/material/ptco.yaml;
   exchange + anisotropy + local shape term, then with interfacial DMI) against the bare
   ``rfftn`` + ``irfftn`` pair of the same (B, 3, Nx, Ny) array, and RK4 cell-updates per second
   (B·Nx·Ny / time of one RK4 step) over batch × grid size, eager and torch.compile'd.
2. ``magnumnp``: the same film problem (conf/material/dmi_standard.yaml: exchange + uniaxial
   anisotropy + interfacial DMI, no magnetostatics; periodic Nx × Ny film, same time step and
   number of RK4 steps) with spsll and with magnum.np, time per simulated sample at B = 1 and
   B = 64. magnum.np is not a project dependency: it runs in its own virtual environment, given by
   ``--magnumnp-python``, through a driver script written to a temporary folder; without that
   option the part is skipped. Set-up (torch pinned first: an unpinned torch pulls the CUDA wheels):

       python3 -m venv /tmp/magnumnp-venv
       /tmp/magnumnp-venv/bin/pip install torch==2.13.0
       /tmp/magnumnp-venv/bin/pip install magnumnp

3. ``pipeline``: ``simulate_dispersions`` of one dataset chunk (B = 250, float32, solver spsll,
   ``DispersionSettings()``: N = 500, 10 ps sampled every 10 fs) against the FFT bound
   (4 × RK4 steps) × (bare rfft + irfft of the same (B, 3, N) array), with compile="auto" and
   compile=False, broken down into integration (first step, i.e. compilation, the other steps, the
   recording and checks between them) and the 2D FFT / peak picking after it.

With more than one part selected, each part runs in a fresh child process (this script with
``--skip`` the others), so that compiled graphs, inductor's in-memory state and the C allocator's
state of one part do not leak into the next. Timings are medians of several rounds after warm-up,
the candidates of a row timed in turn within each round so that the drift of a shared machine hits
them alike. The "compiled" RHS of part 1 is ``torch.compile`` of the fused exchange + axial RHS (as
in bench_solver.py); the compiled RK4 step is the project's own (``rk4_stepper(True)``).
``--cold-compile-cache`` points inductor at an empty cache folder, so first calls show a cold
compilation. glibc's malloc returns freed blocks to the system and faults them back in, which
makes eager timings vary by up to 2x between runs; prefixing the command with
``MALLOC_MMAP_THRESHOLD_=4000000000 MALLOC_TRIM_THRESHOLD_=4000000000`` keeps them (BENCHMARKS.md).

    python benchmarks/bench_films.py [--threads 2] [--dtypes float32 float64] [--sizes 128 256]
        [--batches 1 16 64] [--skip rhs magnumnp pipeline] [--magnumnp-python /tmp/magnumnp-venv/bin/python]
        [--magnumnp-dtypes float64 float32] [--film-size 128] [--film-steps 100] [--chunk 250]
        [--cold-compile-cache]
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import torch

from spsll.data.provenance import load_material
from spsll.physics.grid import Grid
from spsll.physics.llg import _rk4_step, choose_time_step, effective_field, integrate, ll_rhs, rk4_stepper
from spsll.physics.material import Material
from spsll.physics.measure import dispersion as dispersion_module
from spsll.physics.measure.dispersion import DispersionSettings, simulate_dispersions
from spsll.physics.solvers import SolverConfig, build_system

NM = 1e-9
PARTS = ("rhs", "magnumnp", "pipeline")
ROOT = Path(__file__).resolve().parents[1]
warnings.filterwarnings("ignore", message=".*does not support code generation for complex operators.*")
# every (dtype, terms, B = 1 or not) variant of the RK4 step is one more compiled graph; keep them all
torch._dynamo.config.cache_size_limit = 64


def median_times(fns: dict, rounds: int = 5, min_round_s: float = 0.05) -> dict:
    """Median over ``rounds`` of the mean time per call; the candidates are timed in turn in each
    round, each called often enough per round to fill ``min_round_s``. Two warm-up calls each."""
    inner = {}
    for name, fn in fns.items():
        fn()
        t = time.perf_counter()
        fn()
        inner[name] = max(1, int(min_round_s / max(time.perf_counter() - t, 1e-7)))
    samples: dict = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t = time.perf_counter()
            for _ in range(inner[name]):
                fn()
            samples[name].append((time.perf_counter() - t) / inner[name])
    return {name: statistics.median(v) for name, v in samples.items()}


def params(n, sigma_nm=(5, 50), tau_nm=(0, 15), seed=0):
    g = torch.Generator().manual_seed(seed)
    s = sigma_nm[0] + (sigma_nm[1] - sigma_nm[0]) * torch.rand(n, generator=g, dtype=torch.float64)
    t = tau_nm[0] + (tau_nm[1] - tau_nm[0]) * torch.rand(n, generator=g, dtype=torch.float64)
    return s * NM, t * NM


def load(name: str) -> Material:
    return load_material(ROOT / "conf" / "material" / f"{name}.yaml")


def fft_pair(m: torch.Tensor):
    """The bare rfft(n) + irfft(n) pair over the spatial axes of (B, 3, *shape)."""
    dims = tuple(range(2, m.ndim))
    if len(dims) == 1:
        return lambda: torch.fft.irfft(torch.fft.rfft(m, dim=-1), n=m.shape[-1], dim=-1)
    return lambda: torch.fft.irfftn(torch.fft.rfftn(m, dim=dims), s=m.shape[2:], dim=dims)


def step_args(system, m, dt):
    ex = system.exchange
    return (m, torch.tensor(dt, dtype=m.dtype), ex.kernel, ex.weight, system.z_coefficient,
            system.applied_tensor(m), system.material.gamma_mu0, system.alpha, ex.mask, system.extra)


# -- 1. the 2D right-hand side ------------------------------------------------------------------
def rhs_part(args):
    ptco = load("ptco")
    no_dmi = dataclasses.replace(ptco, D=0.0)
    print(f"\n== 1. 2D right-hand side vs the bare rfftn + irfftn pair (material {ptco.name}, solver spsll with "
          f"random (sigma, tau), alpha 0.01; ms per call, ratio to the FFT pair in brackets) ==")
    print("   'ex' = exchange + anisotropy + shape (target <= 2x the FFT pair); '+dmi' adds interfacial DMI "
          "(its own rfftn/irfftn pair); 'rk4/4' = one compiled RK4 step / 4 (stage sums and renormalisation "
          "included); cell-updates/s = B*Nx*Ny / time of one RK4 step of the full (+dmi) system")
    stepper = rk4_stepper(True)
    for dtype in args.dtypes:
        for n in args.sizes:
            for B in args.batches:
                rhs_row(SolverConfig(name="spsll", dtype=dtype), ptco, no_dmi, n, B, stepper)


def rhs_row(cfg, ptco, no_dmi, n, B, stepper):
    grid = Grid((n, n), ptco.a)
    sig, tau = params(B)
    sys_ex = build_system(cfg, no_dmi, grid, sig, tau, alpha=0.01)
    sys_dmi = build_system(cfg, ptco, grid, sig, tau, alpha=0.01)
    g = torch.Generator().manual_seed(1)
    m = torch.randn(B, 3, n, n, generator=g, dtype=cfg.torch_dtype)
    m /= m.norm(dim=1, keepdim=True)
    dt, _ = choose_time_step(sys_dmi, 10e-15, 0.35)
    a_ex, a_dmi = step_args(sys_ex, m, dt), step_args(sys_dmi, m, dt)
    kernel, zc, gm = sys_ex.exchange.kernel, sys_ex.z_coefficient, ptco.gamma_mu0

    def rhs_plain(m, kernel):
        return ll_rhs(m, effective_field(m, kernel, None, zc), gm, 0.01)

    crhs = torch.compile(rhs_plain, dynamic=True)
    fns = {
        "fft": fft_pair(m),
        "rhs ex": lambda: sys_ex.rhs(m),
        "rhs +dmi": lambda: sys_dmi.rhs(m),
        "crhs ex": lambda: crhs(m, kernel),
        "rk4 ex": lambda: stepper(*a_ex),
        "rk4 +dmi": lambda: stepper(*a_dmi),
        "eager rk4 +dmi": lambda: _rk4_step(*a_dmi),
    }
    first = 0.0
    for name in ("crhs ex", "rk4 ex", "rk4 +dmi"):  # the first compiled calls (compilation, when new)
        t0 = time.perf_counter()
        fns[name]()
        first = max(first, time.perf_counter() - t0)
    t = median_times(fns, rounds=3 if B * n * n >= 64 * 256 * 256 else 5)
    f = t["fft"]
    cells = B * n * n
    print(f"[rhs2d] {cfg.dtype} {n}x{n} B={B:3d}: fft pair {f * 1e3:8.3f} ms | rhs ex eager "
          f"{t['rhs ex'] * 1e3:8.3f} ({t['rhs ex'] / f:4.2f}x) compiled {t['crhs ex'] * 1e3:8.3f} "
          f"({t['crhs ex'] / f:4.2f}x) rk4/4 {t['rk4 ex'] / 4 * 1e3:8.3f} ({t['rk4 ex'] / 4 / f:4.2f}x) | "
          f"rhs +dmi eager {t['rhs +dmi'] * 1e3:8.3f} ({t['rhs +dmi'] / f:4.2f}x) rk4/4 "
          f"{t['rk4 +dmi'] / 4 * 1e3:8.3f} ({t['rk4 +dmi'] / 4 / f:4.2f}x) | cell-updates/s eager "
          f"{cells / t['eager rk4 +dmi']:.3g} compiled {cells / t['rk4 +dmi']:.3g} "
          f"| first compiled call <= {first:.1f} s", flush=True)


# -- 2. side by side with magnum.np --------------------------------------------------------------
MAGNUMNP_DRIVER = textwrap.dedent('''
    """magnum.np side of bench_films.py: one periodic film, fixed-step RK4 (torchdiffeq 'rk4') with
    one LLGSolver.step (one RK4 step + renormalisation) per time step, like spsll's integrator."""
    import json, logging, os, sys, time
    os.environ.setdefault("CUDA_DEVICE", "-1")
    import torch
    import magnumnp as mn

    p = json.loads(sys.argv[1])
    torch.set_num_threads(p["threads"])
    mn.set_log_level(logging.WARNING)
    dtype = getattr(torch, p["dtype"])
    torch.set_default_dtype(dtype)
    # spsll integrates the LL form -gm [m x H + alpha m x (m x H)] with gm = gamma mu0; magnum.np the
    # LLG form with gamma' = gamma / (1 + alpha^2): choose its constants so both are the same equation
    mn.constants.mu_0 = p["mu0"]
    mn.constants.gamma = p["gamma_mu0"] * (1 + p["alpha"] ** 2)
    n, a = p["n"], p["a"]
    mesh = mn.Mesh((n, n, 1), (a, a, a), pbc=(1, 1, 0))
    state = mn.State(mesh)
    state.material = {"Ms": p["Ms"], "A": p["A"], "Ku": p["Ku"], "Ku_axis": [0.0, 0.0, 1.0], "Di": p["D"],
                      "alpha": p["alpha"]}
    m0 = torch.load(p["m0"]).to(dtype)  # (n, n, 1, 3)
    terms = [mn.ExchangeField(), mn.UniaxialAnisotropyField(), mn.InterfaceDMIField()]
    llg = mn.LLGSolver(terms, solver=mn.TorchDiffEq, method="rk4")
    calls = [0]
    inner = llg._solver._f
    def counted(*args, **kw):
        calls[0] += 1
        return inner(*args, **kw)
    llg._solver._f = counted
    state.m = m0.clone()
    t = time.perf_counter()
    h0 = sum(term.h(state) for term in terms)  # the first calls: magnum.np's torch.compile of the terms
    compile_s = time.perf_counter() - t

    def run():
        state.t = 0.0
        state.m = m0.clone()
        t = time.perf_counter()
        for _ in range(p["steps"]):
            llg.step(state, p["dt"])
        return time.perf_counter() - t

    first = run()
    calls[0] = 0
    once = [run() for _ in range(p["single_repeats"])]
    evals = calls[0] / (p["single_repeats"] * p["steps"])
    m_final = state.m.clone()
    t = time.perf_counter()
    for _ in range(p["runs"]):
        run()
    seq = time.perf_counter() - t
    torch.save({"h0": h0, "m": m_final}, p["out"])
    print(json.dumps({"compile": compile_s, "first": first, "single": sorted(once)[len(once) // 2], "sequential": seq,
                      "runs": p["runs"], "evals_per_step": evals, "torch": torch.__version__,
                      "magnumnp": mn.__version__, "threads": torch.get_num_threads()}))
''')


def skyrmion(n: int, radius: float, width: float) -> torch.Tensor:
    """A Neel skyrmion ansatz (core down, m_z = +1 far away) at the centre of an n × n film, (3, n, n),
    float64; lengths in cells."""
    x = torch.arange(n, dtype=torch.float64) - (n - 1) / 2
    X, Y = torch.meshgrid(x, x, indexing="ij")
    r, phi = torch.hypot(X, Y), torch.atan2(Y, X)
    theta = math.pi - 2 * torch.atan(torch.exp((r - radius) / width))
    return torch.stack([torch.sin(theta) * torch.cos(phi), torch.sin(theta) * torch.sin(phi), torch.cos(theta)])


def magnumnp_part(args):
    mat = load("dmi_standard")
    n, steps = args.film_size, args.film_steps
    print(f"\n== 2. side by side with magnum.np: {mat.name} film {n}x{n} cells of {mat.a / NM:g} nm, periodic, "
          f"exchange + uniaxial anisotropy + interfacial DMI (no magnetostatics), alpha 0.01, {steps} RK4 steps "
          f"from a Neel skyrmion ansatz ==")
    if not args.magnumnp_python:
        print("[magnumnp] skipped: no --magnumnp-python given (install magnum.np in its own venv, see the "
              "docstring of this script)")
        return
    alpha = 0.01
    m0 = skyrmion(n, 10.0, 2.0)
    with tempfile.TemporaryDirectory() as tmp:
        driver = Path(tmp) / "magnumnp_driver.py"
        driver.write_text(MAGNUMNP_DRIVER)
        torch.save(m0.permute(1, 2, 0).unsqueeze(2).contiguous(), Path(tmp) / "m0.pt")
        for dtype in args.magnumnp_dtypes:
            cfg = SolverConfig(name="spsll", dtype=dtype)
            tdt = cfg.torch_dtype

            def system(B, cfg=cfg):  # tau = 0: the filter is exactly 1, the defect-free film magnum.np solves
                return build_system(cfg, mat, Grid((n, n), mat.a), torch.full((B,), 20 * NM, dtype=torch.float64),
                                    torch.zeros(B, dtype=torch.float64), alpha=alpha)

            dt, _ = choose_time_step(system(1), 10e-15, 0.35)
            res = {}
            for B in (1, 64):
                sys_ = system(B)
                mB = m0.to(tdt).unsqueeze(0).expand(B, 3, n, n).contiguous()
                for comp in (False, True):  # warm-up (and compilation)
                    integrate(sys_, mB, dt, 2, compile=comp)
                times: dict = {False: [], True: []}
                for _ in range(5 if B == 1 else 2):  # rounds, eager and compiled in turn
                    for comp in (False, True):
                        t0 = time.perf_counter()
                        m_end = integrate(sys_, mB, dt, steps, compile=comp)
                        times[comp].append(time.perf_counter() - t0)
                        if B == 1 and not comp:
                            m_sp, h_sp = m_end[0].double(), sys_.field(mB)[0].double()
                res.update({("eager", B): statistics.median(times[False]) / B,
                            ("compiled", B): statistics.median(times[True]) / B})
            out = Path(tmp) / f"magnumnp_{dtype}.pt"
            payload = {"threads": args.threads, "dtype": dtype, "mu0": mat.mu0, "gamma_mu0": mat.gamma_mu0,
                       "alpha": alpha, "n": n, "a": mat.a, "Ms": mat.Ms, "A": mat.A, "Ku": mat.Ku, "D": mat.D,
                       "m0": str(Path(tmp) / "m0.pt"), "dt": dt, "steps": steps, "single_repeats": 3,
                       "runs": args.magnumnp_runs, "out": str(out)}
            proc = subprocess.run([args.magnumnp_python, str(driver), json.dumps(payload)], capture_output=True,
                                  text=True, cwd=tmp)
            if proc.returncode != 0:
                print(f"[magnumnp] {dtype}: the magnum.np driver failed (exit {proc.returncode}):\n"
                      f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
                continue
            mn = json.loads(proc.stdout.strip().splitlines()[-1])
            theirs = torch.load(out)
            h_mn = theirs["h0"].squeeze(2).permute(2, 0, 1).double()
            m_mn = theirs["m"].squeeze(2).permute(2, 0, 1).double()
            h_err = float((h_mn - h_sp).abs().max() / h_sp.abs().max())
            m_err = float((m_mn - m_sp).abs().max())
            mn_seq = mn["sequential"] / mn["runs"]
            print(f"[magnumnp] {dtype}: dt {dt * 1e15:.3f} fs x {steps} steps; magnum.np {mn['magnumnp']} "
                  f"(torch {mn['torch']}, {mn['threads']} threads, {mn['evals_per_step']:g} field evaluations per "
                  f"step; its first field evaluation, with its torch.compile of the terms, {mn['compile']:.1f} s, "
                  f"its first run {mn['first']:.2f} s)")
            print(f"[magnumnp] {dtype}: same physics: max|H_mn - H_spsll| / max|H| at the initial state {h_err:.2e}; "
                  f"max|m_mn - m_spsll| after {steps} steps {m_err:.2e} (magnum.np's 'rk4' is the 3/8-rule RK4, "
                  f"spsll's the classical one: both 4th order, not bit-equal)")
            ms = {key: v * 1e3 for key, v in res.items()}
            print(f"[magnumnp] {dtype}: ms per simulated sample ({steps} steps): B=1 spsll eager "
                  f"{ms[('eager', 1)]:.1f} compiled {ms[('compiled', 1)]:.1f} | magnum.np {mn['single'] * 1e3:.1f} || "
                  f"B=64 spsll eager {ms[('eager', 64)]:.1f} compiled {ms[('compiled', 64)]:.1f} | magnum.np "
                  f"{mn_seq * 1e3:.1f} ({mn['runs']} sequential runs, {mn['sequential']:.1f} s) || magnum.np / spsll "
                  f"compiled: B=1 {mn['single'] / res[('compiled', 1)]:.2f}x, B=64 "
                  f"{mn_seq / res[('compiled', 64)]:.2f}x", flush=True)


# -- 3. the 1D dispersion pipeline ---------------------------------------------------------------
class Clock:
    """Accumulated wall time of wrapped functions (a measurement shim; the code itself is unchanged)."""

    def __init__(self):
        self.total: dict = {}
        self.calls: dict = {}
        self.step_times: list = []

    def wrap(self, name, fn):
        def timed(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.total[name] = self.total.get(name, 0.0) + time.perf_counter() - t0
                self.calls[name] = self.calls.get(name, 0) + 1
        return timed

    def wrap_steps(self, stepper_factory):
        def factory(*a, **kw):
            step = stepper_factory(*a, **kw)

            def timed(*sa):
                t0 = time.perf_counter()
                out = step(*sa)
                self.step_times.append(time.perf_counter() - t0)
                return out
            return timed
        return factory


def instrumented_dispersions(mat, sig, tau, solver):
    """``simulate_dispersions`` with its pieces timed by wrapping the module globals it looks up."""
    import spsll.physics.llg as llg_module

    clock = Clock()
    saved = {name: getattr(dispersion_module, name) for name in
             ("build_system", "record_transverse", "integrate", "spectrum_2d", "pick_peaks")}
    saved_stepper = llg_module.rk4_stepper
    try:
        for name, fn in saved.items():
            setattr(dispersion_module, name, clock.wrap(name, fn))
        llg_module.rk4_stepper = clock.wrap_steps(saved_stepper)
        t0 = time.perf_counter()
        res = simulate_dispersions(mat, sig, tau, solver=solver)
        clock.total["all"] = time.perf_counter() - t0
    finally:
        for name, fn in saved.items():
            setattr(dispersion_module, name, fn)
        llg_module.rk4_stepper = saved_stepper
    return res, clock


def inductor_cache() -> Path:
    default = Path(tempfile.gettempdir()) / f"torchinductor_{getpass.getuser()}"
    return Path(os.environ.get("TORCHINDUCTOR_CACHE_DIR", default))


def pipeline_part(args):
    from torch._dynamo.utils import counters

    B, N = args.chunk, DispersionSettings().n_cells
    mat = Material.fept()
    settings = DispersionSettings()
    print(f"\n== 3. the 1D dispersion pipeline vs its FFT bound: one chunk B={B}, float32, solver spsll, "
          f"{mat.name}, DispersionSettings() (N={N}, {settings.duration * 1e12:g} ps every "
          f"{settings.sample_interval * 1e15:g} fs); fresh process; inductor's on-disk cache {inductor_cache()} "
          f"{'holds files of earlier runs' if any(inductor_cache().glob('*')) else 'is empty'} ==")
    m = torch.randn(B, 3, N, dtype=torch.float32)
    t_fft = median_times({"fft": fft_pair(m)}, rounds=9, min_round_s=0.2)["fft"]
    cfg_c = SolverConfig(name="spsll", dtype="float32")  # compile="auto"
    system = build_system(cfg_c, mat, N, *params(B), alpha=settings.alpha)
    dt, n_sub = choose_time_step(system, settings.sample_interval, cfg_c.phase_per_step)
    steps = (settings.n_samples - 1) * n_sub
    bound = 4 * steps * t_fft
    print(f"[pipeline] bare rfft+irfft of ({B}, 3, {N}) float32: {t_fft * 1e3:.3f} ms; {steps} RK4 steps of "
          f"{dt * 1e15:.2f} fs -> {4 * steps} RHS evaluations -> bound {bound:.2f} s")

    runs = [("auto, 1st call (compiles)", cfg_c, 1), ("auto, 2nd call", cfg_c, 2),
            ("compile=False", SolverConfig(name="spsll", dtype="float32", compile=False), 3)]
    for label, cfg, seed in runs:
        graphs0 = counters["stats"]["unique_graphs"]
        _, c = instrumented_dispersions(mat, *params(B, seed=seed), cfg)
        st = c.step_times
        total, integ = c.total["all"], c.total["integrate"]
        first, rest = st[0], sum(st[1:])
        between = integ - sum(st)
        post = total - c.total["record_transverse"] - c.total["build_system"]
        spec, peaks = c.total["spectrum_2d"], c.total["pick_peaks"]
        print(f"[pipeline] {label:26s}: total {total:6.2f} s = {total / bound:4.2f}x bound | setup "
              f"{c.total['build_system']:.2f} s | integration {integ:6.2f} s [first step {first:5.2f} s, other "
              f"{len(st) - 1} steps {rest:6.2f} s ({rest / (len(st) - 1) * 1e3:.2f} ms/step = "
              f"{rest / (len(st) - 1) / 4 / t_fft:.2f}x the FFT pair per RHS), recording + checks {between:.2f} s] | "
              f"after it {post:5.2f} s [2D FFT {spec:.2f} s, peaks {peaks:.2f} s, rest {post - spec - peaks:.2f} s] | "
              f"new compiled graphs {counters['stats']['unique_graphs'] - graphs0}", flush=True)

    # per-call cost of the compiled step: overhead-dominated at a tiny size vs the chunk's size
    stepper = rk4_stepper(True)
    m0 = dispersion_module.initial_pulse(settings, B, dtype=torch.float32)
    a = step_args(system, m0, dt)
    small = build_system(cfg_c, mat, 16, *params(2), alpha=settings.alpha)
    a_small = step_args(small, dispersion_module.initial_pulse(DispersionSettings(n_cells=16), 2,
                                                               dtype=torch.float32), dt)
    graphs0 = counters["stats"]["unique_graphs"]
    t = median_times({
        "compiled": lambda: stepper(*a),
        "eager": lambda: _rk4_step(*a),
        "compiled small": lambda: stepper(*a_small),
        "eager small": lambda: _rk4_step(*a_small),
        "fft": fft_pair(m),
    }, rounds=7, min_round_s=0.1)
    print(f"[pipeline] one RK4 step in a tight loop: B={B} compiled {t['compiled'] * 1e3:.2f} ms "
          f"({t['compiled'] / 4 / t['fft']:.2f}x the FFT pair per RHS), eager {t['eager'] * 1e3:.2f} ms "
          f"({t['eager'] / 4 / t['fft']:.2f}x) | B=2, N=16 (overhead-bound): compiled "
          f"{t['compiled small'] * 1e6:.0f} us, eager {t['eager small'] * 1e6:.0f} us per call (new graphs for it: "
          f"{counters['stats']['unique_graphs'] - graphs0}) -> x {steps} calls: compiled "
          f"{t['compiled small'] * steps:.2f} s, eager {t['eager small'] * steps:.2f} s of per-call cost per chunk")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"],
                    help="dtypes of part 1")
    ap.add_argument("--sizes", nargs="+", type=int, default=[128, 256], help="film edges Nx = Ny of part 1")
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 16, 64], help="batch sizes of part 1")
    ap.add_argument("--skip", nargs="*", default=[], choices=PARTS,
                    help="parts not to run (the last --skip given counts); with more than one part left, each "
                         "runs in a fresh child process")
    ap.add_argument("--magnumnp-python", default=None, help="python of a venv with magnum.np (part 2)")
    ap.add_argument("--magnumnp-dtypes", nargs="+", default=["float64", "float32"], choices=["float32", "float64"])
    ap.add_argument("--magnumnp-runs", type=int, default=64, help="sequential magnum.np runs standing for B = 64")
    ap.add_argument("--film-size", type=int, default=128, help="film edge of part 2")
    ap.add_argument("--film-steps", type=int, default=100, help="RK4 steps of part 2")
    ap.add_argument("--chunk", type=int, default=250, help="dispersion chunk of part 3")
    ap.add_argument("--cold-compile-cache", action="store_true",
                    help="point inductor at a fresh, empty cache folder: first calls show a cold torch.compile")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()},"
          f" {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    selected = [part for part in PARTS if part not in args.skip]
    t_start = time.perf_counter()
    if len(selected) == 1:
        cold = tempfile.mkdtemp(prefix="inductor-cold-") if args.cold_compile_cache else None
        if cold:  # before any compilation: inductor reads it when it first needs its cache
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = cold
        try:
            {"rhs": rhs_part, "magnumnp": magnumnp_part, "pipeline": pipeline_part}[selected[0]](args)
        finally:
            if cold:
                shutil.rmtree(cold, ignore_errors=True)
    else:  # each part in a fresh process: no compiled graphs, allocator state or caches from the others
        for part in selected:
            sys.stdout.flush()
            others = [p for p in PARTS if p != part]
            subprocess.run([sys.executable, __file__, *sys.argv[1:], "--skip", *others], check=True)
    print(f"\nload average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{'+'.join(selected)} took {time.perf_counter() - t_start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
