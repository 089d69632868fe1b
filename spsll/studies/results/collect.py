"""The study's numbers, read back from the MLflow runs and aggregated over seeds.

Per run: the validation metrics of the kept checkpoint (the epoch with the smallest ``val/loss``;
a baseline logs them once), and every ``test*`` metric ``evaluate.py`` logged (the test split, the
noisy rows ``test/noise<level>_...``, the other models' data ``test_<solver>/...``). Per entry: the
mean, standard deviation and count of each metric over its seeds (a metric missing from one seed is
reported from those that have it, with its count).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

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
    """{entry id: {label, task, report, seeds, runs: [{seed, run_id}], metrics: {key: aggregate}}}."""
    client = _client(plan.uri)
    out = {}
    for e in plan.entries:
        runs, per_seed = [], []
        for s in seeds_of(e, plan.seeds):
            if not plan.marker(f"train/{e.id}/seed{s}").exists():
                continue
            run_id = plan.run_id(e, s)
            runs.append({"seed": s, "run_id": run_id})
            per_seed.append(run_metrics(client, run_id))
        keys = sorted({k for m in per_seed for k in m})
        out[e.id] = {"label": e.label, "task": e.task, "report": e.report, "seeded": e.seeded, "runs": runs,
                     "metrics": {k: aggregate([m.get(k) for m in per_seed]) for k in keys}}
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
