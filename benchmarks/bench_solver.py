"""Solver benchmark (targets: docs/physics.md#targets): prints every figure of BENCHMARKS.md in one run.

1. Cost of one LL right-hand side (field evaluation + Eq. 1) vs the bare rfft/irfft pair of the
   same (B, 3, N) tensor, eager and torch.compile'd.
2. RK4 throughput in cell-updates per second for B = 1, 64, 1000 (N = 500).
3. Wall time for 1000 dispersions and 12 000 relaxed walls with the default solver (spsll), at
   full size or extrapolated from a fraction (``--fraction``), said in the output.

    python benchmarks/bench_solver.py [--threads 2] [--fraction 1.0] [--dtype float64]
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from spsll.physics.llg import _rk4_step, choose_time_step, effective_field, ll_rhs, rk4_stepper
from spsll.physics.material import Material
from spsll.physics.measure.dispersion import DispersionSettings, simulate_dispersions
from spsll.physics.measure.domain_wall import relax_domain_walls
from spsll.physics.solvers import SolverConfig, build_system

NM = 1e-9


def timeit(fn, repeat=20, warmup=3, rounds=5):
    """Best of ``rounds`` means over ``repeat`` calls (the usual timeit rule: noise only adds)."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t) / repeat)
    return best


def uniform_params(n, sigma_range, tau_range, seed=0):
    g = torch.Generator().manual_seed(seed)
    s = sigma_range[0] + (sigma_range[1] - sigma_range[0]) * torch.rand(n, generator=g, dtype=torch.float64)
    t = tau_range[0] + (tau_range[1] - tau_range[0]) * torch.rand(n, generator=g, dtype=torch.float64)
    return s * NM, t * NM


def interleaved(fns: dict, repeat=10, rounds=7):
    """Best-of-rounds mean per call, the candidates timed in turn within every round, so that the
    drift of a shared machine hits them alike (ratios are what this benchmark reports)."""
    for fn in fns.values():
        fn()
        fn()
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            t = time.perf_counter()
            for _ in range(repeat):
                fn()
            best[name] = min(best[name], (time.perf_counter() - t) / repeat)
    return best


def field_cost(mat, dtype):
    B, N = 1000, 500
    cfg = SolverConfig(name="spsll", dtype=dtype)
    sig, tau = uniform_params(B, (5, 100), (0, 20))
    sys_ = build_system(cfg, mat, N, sig, tau, alpha=0.001)
    m = torch.randn(B, 3, N, dtype=cfg.torch_dtype)
    m /= m.norm(dim=1, keepdim=True)
    ex, zc, gm = sys_.exchange, sys_.z_coefficient, mat.gamma_mu0
    dt = torch.tensor(1e-15, dtype=m.dtype)

    def rhs(m):
        return ll_rhs(m, effective_field(m, ex.kernel, ex.weight, zc), gm, 0.001)

    crhs = torch.compile(rhs)
    cstep = rk4_stepper(True)
    t = interleaved({
        "fft": lambda: torch.fft.irfft(torch.fft.rfft(m, dim=-1), n=N, dim=-1),
        "eager": lambda: rhs(m),
        "compiled": lambda: crhs(m),
        "rk4": lambda: cstep(m, dt, ex.kernel, ex.weight, zc, None, gm, 0.001),
    })
    f = t["fft"]
    print(f"[field] B={B} N={N} {dtype}: bare rfft+irfft {f * 1e3:.2f} ms | LL rhs eager "
          f"{t['eager'] * 1e3:.2f} ms ({t['eager'] / f:.2f}x) | compiled {t['compiled'] * 1e3:.2f} ms "
          f"({t['compiled'] / f:.2f}x) | per rhs inside the compiled RK4 step (step/4, stage sums "
          f"and renormalisation included) {t['rk4'] / 4 * 1e3:.2f} ms ({t['rk4'] / 4 / f:.2f}x)  "
          f"[target <= 2.5x]")


def throughput(mat, dtype):
    N = 500
    for B in (1, 64, 1000):
        cfg = SolverConfig(name="spsll", dtype=dtype)
        sig, tau = uniform_params(B, (5, 100), (0, 20))
        sys_ = build_system(cfg, mat, N, sig, tau, alpha=0.001)
        dt, _ = choose_time_step(sys_, 10e-15, 0.35)
        m = torch.zeros(B, 3, N, dtype=cfg.torch_dtype)
        m[:, 2] = 1
        m[:, 0, N // 2] = 0.01
        m /= m.norm(dim=1, keepdim=True)
        ex, zc = sys_.exchange, sys_.z_coefficient
        res = []
        args = (m, torch.tensor(dt, dtype=m.dtype), ex.kernel, ex.weight, zc, None, mat.gamma_mu0, 0.001)
        for label, step in (("eager", _rk4_step), ("compiled", rk4_stepper(True))):
            t = timeit(lambda step=step, args=args: step(*args), repeat=max(5, 400 // B), warmup=3)
            res.append(f"{label} {B * N / t:.3g}")
        print(f"[rk4] B={B:5d} N={N}: cell-updates/s " + " | ".join(res))


def dispersion_time(mat, dtype, fraction, chunk):
    n_total = 1000
    n = max(chunk, int(round(n_total * fraction)))
    sig, tau = uniform_params(n, (5, 50), (0, 15), seed=1)
    cfg = SolverConfig(name="spsll", dtype=dtype, compile=True)
    # one-off compilation, measured separately (a cached compile is reused by later chunks)
    t0 = time.perf_counter()
    simulate_dispersions(mat, sig[:2], tau[:2], solver=cfg, settings=DispersionSettings(duration=0.2e-12))
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    for lo in range(0, n, chunk):
        simulate_dispersions(mat, sig[lo : lo + chunk], tau[lo : lo + chunk], solver=cfg)
    t = time.perf_counter() - t0
    est = t * n_total / n
    kind = "measured" if n == n_total else f"extrapolated from {n}"
    print(f"[dispersions] {n} in {t:.1f} s (chunk {chunk}, {n / t:.1f}/s, +{t_compile:.0f} s compile) -> "
          f"1000 dispersions: {est:.0f} s ({kind})  [target <= 90 s]")


def wall_time(mat, dtype, fraction, chunk):
    n_total = 12_000
    n = max(chunk, int(round(n_total * fraction)))
    sig, tau = uniform_params(n, (0.5, 100), (0, 20), seed=2)
    cfg = SolverConfig(name="spsll", dtype=dtype)
    t0 = time.perf_counter()
    n_conv = 0
    for lo in range(0, n, chunk):
        r = relax_domain_walls(mat, sig[lo : lo + chunk], tau[lo : lo + chunk], solver=cfg)
        n_conv += int(r.converged.sum())
    t = time.perf_counter() - t0
    est = t * n_total / n
    kind = "measured" if n == n_total else f"extrapolated from {n}"
    print(f"[walls] {n} in {t:.1f} s (chunk {chunk}, {n / t:.0f}/s, converged {n_conv}/{n}) -> "
          f"12000 walls: {est:.0f} s ({kind})  [target <= 120 s]")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fraction", type=float, default=1.0, help="share of the paper-size datasets to run")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--dispersion-chunk", type=int, default=250)
    ap.add_argument("--wall-chunk", type=int, default=1000)
    ap.add_argument("--skip", nargs="*", default=[], choices=["field", "rk4", "dispersions", "walls"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, {platform.processor() or platform.machine()}, "
          f"{args.dtype}")
    mat = Material.fept()
    if "field" not in args.skip:
        field_cost(mat, args.dtype)
    if "rk4" not in args.skip:
        throughput(mat, args.dtype)
    if "walls" not in args.skip:
        wall_time(mat, args.dtype, args.fraction, args.wall_chunk)
    if "dispersions" not in args.skip:
        dispersion_time(mat, args.dtype, args.fraction, args.dispersion_chunk)


if __name__ == "__main__":
    main()
