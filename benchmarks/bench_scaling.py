"""Scaling benchmark: prints every figure of BENCHMARKS.md's "Scaling out" section in one run.

1. Solver: one RK4 step of the LL equation (spsll solver, eager) for batch sizes B and chain lengths
   N: time per step and cell-updates per second, i.e. how the cost grows with the work B·N.
2. DDP: ``train.py`` (width_regressor on the paper-size wall dataset) with one process vs
   ``trainer=ddp`` (2 processes), the same global batch; seconds per epoch from the MLflow metric
   timestamps (steady state: epoch 2 onwards, start-up excluded) and the whole command's wall time.
3. Sweeps: a 4-job ``train.py -m`` sweep with ``hydra/launcher=joblib``, 1 vs 2 jobs at a time.

    python benchmarks/bench_scaling.py [--threads 2] [--epochs 4] [--skip solver ddp sweep]

Everything runs here and now; nothing is extrapolated. Training runs go to a temporary MLflow
store. The dataset is ``data/domain_wall.h5`` (generated on first use by train.py, ~45 s).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from spsll.physics.llg import integrate
from spsll.physics.material import Material
from spsll.physics.solvers import SolverConfig, build_system

ROOT = Path(__file__).resolve().parents[1]
NM = 1e-9


def load() -> str:
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def solver_scaling(mat: Material, batches, lengths, steps: int, dtype: str):
    print(f"\n[solver] one RK4 step, spsll, eager, {dtype}: ms/step (cell-updates/s); {load()}")
    print("| B \\ N | " + " | ".join(str(n) for n in lengths) + " |")
    print("|---|" + "---|" * len(lengths))
    g = torch.Generator().manual_seed(0)
    for B in batches:
        row = []
        for N in lengths:
            cfg = SolverConfig(name="spsll", dtype=dtype)
            sig = (5 + 95 * torch.rand(B, generator=g, dtype=torch.float64)) * NM
            tau = 20 * torch.rand(B, generator=g, dtype=torch.float64) * NM
            system = build_system(cfg, mat, N, sig, tau, alpha=0.001)
            m0 = torch.zeros(B, 3, N, dtype=cfg.torch_dtype)
            m0[:, 2] = 1
            m0[:, 0, N // 2] = 0.01
            m0 /= m0.norm(dim=1, keepdim=True)
            dt = 0.5 * 2.8 / system.rate_bound()  # half the RK4 stability bound
            integrate(system, m0, dt, 2, compile=False)  # warm-up
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                integrate(system, m0, dt, steps, compile=False)
                best = min(best, (time.perf_counter() - t0) / steps)
            row.append(f"{best * 1e3:.3g} ({B * N / best:.2g})")
        print(f"| {B} | " + " | ".join(row) + " |")
    print(f"({load()})")


def train(store: Path, out: Path, *overrides, multirun=False):
    cmd = [sys.executable, "train.py", *(["-m"] if multirun else []), f"logger.tracking_uri=sqlite:///{store}",
           "trainer.enable_progress_bar=false", f"hydra.run.dir={out}", f"hydra.sweep.dir={out}", *overrides]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stderr[-3000:]}")
    return wall


def epoch_seconds(store: Path) -> list[float]:
    """Seconds between consecutive val/loss entries of the store's newest run (one per epoch)."""
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{store}")
    exp = client.get_experiment_by_name("spsll")
    run = client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)[0]
    ts = sorted(m.timestamp for m in client.get_metric_history(run.info.run_id, "val/loss"))
    return [(b - a) / 1e3 for a, b in zip(ts, ts[1:], strict=False)]


def ddp_scaling(tmp: Path, epochs: int, batch: int):
    print(f"\n[ddp] train.py model=width_regressor (data/domain_wall.h5, 9600 train walls), global batch {batch}, "
          f"{epochs} epochs; {load()}")
    print("| processes x threads | s/epoch (epochs 2+, median) | samples/s | whole command |")
    print("|---|---|---|---|")
    common = ["model=width_regressor", f"trainer.max_epochs={epochs}", "early_stopping.patience=1000"]
    runs = {"1 x 1": ["threads=1", f"data.batch_size={batch}"],
            "1 x 2": ["threads=2", f"data.batch_size={batch}"],
            "2 x 1 (trainer=ddp)": ["threads=1", "trainer=ddp", f"data.batch_size={batch // 2}"]}
    for i, (label, extra) in enumerate(runs.items()):
        store = tmp / f"ddp{i}.db"
        wall = train(store, tmp / f"ddp{i}", *common, *extra)
        per = sorted(epoch_seconds(store))
        med = per[len(per) // 2]
        print(f"| {label} | {med:.2f} | {9600 / med:.0f} | {wall:.1f} s |")
    print(f"({load()})")


def sweep_scaling(tmp: Path):
    print("\n[sweep] train.py -m hydra/launcher=joblib, 4 jobs (width_regressor, 2 epochs of 20 batches of 256 "
          f"walls, threads=1 each); {load()}")
    print("| jobs at a time | wall time of the sweep | per job |")
    print("|---|---|---|")
    common = ["hydra/launcher=joblib", "model=width_regressor", "threads=1", "data.batch_size=256",
              "trainer.max_epochs=2", "+trainer.limit_train_batches=20", "optimizer.lr=1e-3,5e-4,2e-4,1e-4"]
    for n in (1, 2):
        wall = train(tmp / f"sweep{n}.db", tmp / f"sweep{n}", *common, f"hydra.launcher.n_jobs={n}", multirun=True)
        print(f"| {n} | {wall:.1f} s | {wall / 4:.1f} s |")
    print(f"({load()})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads of the solver benchmark (1: the cost of the work itself, no thread scaling)")
    ap.add_argument("--epochs", type=int, default=4, help="epochs of each DDP benchmark run")
    ap.add_argument("--batch", type=int, default=256, help="global batch of the DDP benchmark")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--skip", nargs="*", default=[], choices=["solver", "ddp", "sweep"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"solver threads {args.threads}")
    if "solver" not in args.skip:
        solver_scaling(Material.fept(), (1, 16, 128, 1024), (250, 500, 1000, 2000), steps=10, dtype=args.dtype)
    with tempfile.TemporaryDirectory(prefix="spsll_bench_scaling_") as d:
        if "ddp" not in args.skip:
            ddp_scaling(Path(d), args.epochs, args.batch)
        if "sweep" not in args.skip:
            sweep_scaling(Path(d))


if __name__ == "__main__":
    main()
