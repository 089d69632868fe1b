"""Training throughput of each model on this machine: samples/s of a training step
(forward + backward + Adam) at the default batch size, on the paper-size datasets, and the implied
time of a paper-scale training (epochs as in conf/experiment/paper_*.yaml).

    python benchmarks/bench_training.py [--threads 2] [--steps 20]

Needs data/dispersion.h5 and data/domain_wall.h5 (python generate.py dataset=...).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

from spsll.data.datamodule import SPSLLDataModule
from spsll.models import MODELS, build_model
from spsll.training.config_checks import model_kwargs as config_model_kwargs

ROOT = Path(__file__).resolve().parents[1]
PAPER_EPOCHS = {"inverse_cnn": 200, "tfc_pinn": 200, "width_regressor": 200}


def model_kwargs(name):
    """The model's arguments as train.py builds them (its config, optimizer and scheduler)."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[f"model={name}", f"trainer.max_epochs={PAPER_EPOCHS[name]}"])
    return config_model_kwargs(cfg)


def bench(name, steps, batch_size):
    task = MODELS[name].task
    path = ROOT / "data" / ("dispersion.h5" if task == "dispersion" else "domain_wall.h5")
    dm = SPSLLDataModule(path, task, batch_size=batch_size)
    model = build_model(name, dm.data_info, **model_kwargs(name))
    opt = model.configure_optimizers()
    opt = opt["optimizer"] if isinstance(opt, dict) else opt
    loader = iter(dm.train_dataloader())
    batches = [next(loader) for _ in range(min(steps, len(dm.train_dataloader())))]
    model.train()
    t_load = time.perf_counter()
    for _ in dm.train_dataloader():  # one pass over the data alone: the loading cost
        pass
    t_load = time.perf_counter() - t_load

    def step(b):
        opt.zero_grad()
        loss = model.training_step(b, 0)
        loss = loss["loss"] if isinstance(loss, dict) else loss
        loss.backward()
        opt.step()

    model.log = lambda *a, **k: None  # outside a Trainer: logging is not what we time
    model.log_dict = lambda *a, **k: None
    step(batches[0])
    t0 = time.perf_counter()
    for b in batches:
        step(b)
    dt = (time.perf_counter() - t0) / len(batches)
    n_train = len(dm.indices["train"])
    epoch = dt * n_train / batch_size + t_load
    total = epoch * PAPER_EPOCHS[name]
    print(f"[{name}] batch {batch_size}: {batch_size / dt:.0f} samples/s (step {dt * 1e3:.0f} ms); "
          f"{n_train} train samples -> {epoch:.1f} s/epoch (data loading {t_load:.1f} s); "
          f"{PAPER_EPOCHS[name]} epochs ≈ {total / 60:.1f} min  [target <= 10 min]")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads")
    for name in args.models:
        bench(name, args.steps, args.batch_size)


if __name__ == "__main__":
    main()
