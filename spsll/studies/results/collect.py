"""The study's numbers, read back from the MLflow runs and aggregated over seeds.

Per run: the validation metrics of the kept checkpoint (the epoch with the smallest ``val/loss``;
a baseline logs them once), and every ``test*`` metric ``evaluate.py`` logged (the test split, the
noisy rows ``test/noise<level>_...``, the other models' data ``test_<solver>/...``). Per entry: the
mean, standard deviation and count of each metric over its seeds (a metric missing from one seed is
reported from those that have it, with its count). Per entry also its data kind and what the report
states with film results: the file's box, solver, ranges and split, and for each other model's data how
many test points were re-simulated, with how many realisations, and the MAE of two answers that ignore
the data on each of those test sets (:func:`constant_answers`).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import h5py
import numpy as np
import yaml

from spsll.evaluation.metrics import inverse_metrics, phi_T
from spsll.studies.results.plan import Entry, Plan, seeds_of


def _client(uri: str):
    import mlflow

    return mlflow.MlflowClient(uri)


def validation_metrics(client, run_id: str) -> dict[str, float]:
    """``val/...`` metrics at the epoch of the kept checkpoint (min ``val/loss``); a closed-form baseline,
    fitted once, logs each once and has no ``val/loss``: its values as logged."""
    metrics = client.get_run(run_id).data.metrics
    loss = client.get_metric_history(run_id, "val/loss")
    if not loss:
        return {k: float(v) for k, v in metrics.items() if k.startswith("val/")}
    best = min(loss, key=lambda m: (m.value, m.step))
    out = {}
    for key in metrics:
        if not key.startswith("val/"):
            continue
        at = [m for m in client.get_metric_history(run_id, key) if m.step == best.step]
        if at:
            out[key] = float(at[-1].value)
    out["val/best_step"] = float(best.step)
    return out


def run_metrics(client, run_id: str) -> dict[str, float]:
    run = client.get_run(run_id)
    test = {k: float(v) for k, v in run.data.metrics.items() if k.startswith("test")}
    return {**validation_metrics(client, run_id), **test}


def aggregate(values: list[float]) -> dict:
    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if len(v) == 0:
        return {"mean": None, "std": None, "n": 0, "values": []}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "n": int(len(v)),
            "values": [float(x) for x in v]}


def collect(plan: Plan) -> dict:
    """{entry id: {label, task, report, seeds, runs: [{seed, run_id}], metrics: {key: aggregate}, data,
    dataset}} for every entry of the config (those ``only`` left out keep what earlier invocations made)."""
    client = _client(plan.uri)
    out = {}
    for e in plan.all_entries:
        runs, per_seed = [], []
        for s in seeds_of(e, plan.seeds):
            if not plan.marker(f"train/{e.id}/seed{s}").exists():
                continue
            run_id = plan.run_id(e, s)
            runs.append({"seed": s, "run_id": run_id})
            per_seed.append(run_metrics(client, run_id))
        keys = sorted({k for m in per_seed for k in m})
        out[e.id] = {"label": e.label, "task": e.task, "report": e.report, "seeded": e.seeded, "runs": runs,
                     "metrics": {k: aggregate([m.get(k) for m in per_seed]) for k in keys},
                     "data": e.data, "dataset": dataset_info(plan, e.data)}
    return out


def dataset_info(plan: Plan, key: str) -> dict:
    """What a report states with a result on the data of kind ``key``: config group, solver, film rows
    and, from the file once it exists, box, ranges, sample and split counts; per other model's data,
    the test points it re-simulated (of how many, capped by ``max_samples``) and its realisations."""
    dk = plan.kinds[key]
    info = {"group": dk.group, "path": dk.path, "solver": dk.solver or "spsll", "kind": dk.kind, "n_rows": dk.n_rows}
    info.update(_file_info(dk.path))
    train_mean = _train_mean(dk.path)
    if train_mean is not None:
        info["constant_answers"] = {"test": constant_answers(dk.path, train_mean)}
    cross = plan.cross.get(key)
    if cross is not None:
        info["cross"] = {}
        for solver in cross.solvers:
            path = plan.cross_path(key, solver)
            c = {"shared_with": cross.shared_with, "max_samples": cross.max_samples,
                 "path": path.as_posix(), **_file_info(path)}
            if train_mean is not None and path.is_file():
                c["constant_answers"] = constant_answers(path, train_mean)
            info["cross"][solver] = c
    return info


def _train_mean(path) -> np.ndarray | None:
    """The training split's mean [σ, τ] (nm) of a dataset file; None when it is not there (yet)."""
    if not Path(path).is_file():
        return None
    with h5py.File(path, "r") as f:
        train = f["split"][:] == 0
        return np.array([f["sigma_nm"][:][train].mean(), f["tau_nm"][:][train].mean()])


def constant_answers(path, train_mean_nm: np.ndarray) -> dict[str, dict[str, float]]:
    """MAE on the test split of ``path`` of two answers that ignore the measurement: the training split's
    mean (σ, τ) for every sample, and "no defects" (τ = 0: φ = 1, T = 0; σ is then meaningless and not
    scored). A model that does no better than these has learnt nothing it can use on that data."""
    with h5py.File(path, "r") as f:
        test = f["split"][:] == 2
        true = np.stack([f["sigma_nm"][:][test], f["tau_nm"][:][test]], axis=1)
    mean = inverse_metrics(np.broadcast_to(train_mean_nm, true.shape).copy(), true)
    true_phi, true_T = phi_T(true)
    return {"train_mean": {q: mean[f"mae_{q}"] for q in ("sigma_nm", "tau_nm", "phi", "T_nm")},
            "no_defects": {"tau_nm": float(np.abs(true[:, 1]).mean()), "phi": float(np.abs(1 - true_phi).mean()),
                           "T_nm": float(np.abs(true_T).mean())}}


def _file_info(path) -> dict:
    """From a dataset file's attributes: {} when it is not there (yet)."""
    path = Path(path)
    if not path.is_file():
        return {}
    with h5py.File(path, "r") as f:
        request = yaml.safe_load(f.attrs["request"])
        split = f["split"][:]
        out = {"solver": str(f.attrs["solver"]), "n_samples": int(len(split)),
               "n_train": int((split == 0).sum()), "n_val": int((split == 1).sum()), "n_test": int((split == 2).sum()),
               "sigma_nm": [float(v) for v in request["dataset"]["sigma_nm"]],
               "tau_nm": [float(v) for v in request["dataset"]["tau_nm"]],
               "n_cells": int(request["dataset"]["measurement"]["n_cells"]),
               "realisations": request["solver"].get("realisations")}
        if "box_cells" in f.attrs:
            out.update(box_cells=[int(v) for v in f.attrs["box_cells"]], box_nm=[float(v) for v in f.attrs["box_nm"]])
    return out


def write_csv(results: dict, path: Path) -> Path:
    """One row per (entry, metric): mean, std, n and the run ids."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["entry", "task", "metric", "mean", "std", "n", "run_ids"])
        for eid, e in results.items():
            ids = " ".join(r["run_id"] for r in e["runs"])
            for key, a in e["metrics"].items():
                w.writerow([eid, e["task"], key, a["mean"], a["std"], a["n"], ids])
    tmp.replace(path)
    return path


def entry_by_id(plan: Plan, eid: str) -> Entry:
    return next(e for e in plan.entries if e.id == eid)
