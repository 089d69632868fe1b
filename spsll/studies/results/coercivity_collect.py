"""The coercivity part's numbers, read back like the chain entries' (:mod:`.collect`): per entry its runs and
the mean, std and count over seeds of every validation and test metric; and the part's own record: the latent
size choice with every candidate's validation numbers, the data (split sizes, converged chains, what the
statistical reading's H_c = H_K would score on the test chains) and the morphing's summary.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from spsll.studies.results.coercivity_plan import CoercivityPlan
from spsll.studies.results.collect import _client, aggregate, run_metrics

SPLITS = ("train", "val", "test")


def collect_part(cplan: CoercivityPlan) -> tuple[dict, dict | None]:
    """({entry id: entry record}, the part's record) — ({}, None) for a study without the part."""
    if not cplan.enabled:
        return {}, None
    client = _client(cplan.plan.uri)
    out = {}
    for e in cplan.vae_entries + cplan.entries:
        runs, per_seed = [], []
        for s in cplan.seeds(e):
            marker = cplan.train_marker(e.id, s)
            if not marker.exists():
                continue
            run_id = json.loads(marker.read_text())["run_id"]
            runs.append({"seed": s, "run_id": run_id})
            metrics = run_metrics(client, run_id)
            if e.report == "validation":  # a candidate: its validation numbers (the chosen one's run is also scored
                metrics = {k: v for k, v in metrics.items() if k.startswith("val/")}  # as mask_vae: shown there)
            per_seed.append(metrics)
        keys = sorted({k for m in per_seed for k in m})
        data = cplan.data[e.data]
        out[e.id] = {"label": e.label, "task": e.task, "report": e.report, "seeded": e.seeded, "runs": runs,
                     "metrics": {k: aggregate([m.get(k) for m in per_seed]) for k in keys}, "data": e.data,
                     "dataset": {"group": data["group"], "path": data["path"], "n_rows": 1},
                     "column": e.column, "encoder": getattr(e, "encoder", None)}
    part = {"entries": [e.id for e in cplan.entries], "vae_candidates": [e.id for e in cplan.vae_entries[:-1]],
            "latent_dims": cplan.vae["latent_dims"], "tolerance": cplan.vae["tolerance"],
            "selection": _read(cplan.selection_json),
            "data": {k: _data_info(d["path"]) for k, d in cplan.data.items()}, "morphing": None}
    if cplan.morphing:
        m = _read(cplan.morphing_json(cplan.morphing["out"]))
        part["morphing"] = {"report": cplan.morphing["out"], "regressor": cplan.morphing["regressor"],
                            "gp": cplan.morphing["gp"], **({"summary": m["summary"]} if m else {})}
    return out, part


def _read(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _data_info(path: str) -> dict:
    """Split sizes and, for chains, converged counts and the statistical reading's test MAE on H_c; {} when the
    file is not there (yet)."""
    p = Path(path)
    if not p.is_file():
        return {}
    with h5py.File(p, "r") as f:
        split = f["split"][:]
        info = {"kind": str(f.attrs.get("kind")), "n_samples": int(len(split)), "n_cells": int(f.attrs["n_cells"]),
                **{f"n_{s}": int((split == i).sum()) for i, s in enumerate(SPLITS)}}
        if "converged" in f:
            ok = f["converged"][:].astype(bool)
            hc = f["coercivity_HK"][:]
            test = ok & (split == 2) & np.isfinite(hc)
            info.update({f"n_{s}_converged": int((ok & (split == i)).sum()) for i, s in enumerate(SPLITS)})
            # the statistical readings reverse every chain at H_K (docs/hysteresis.md#statistical-model)
            info["reading_mae_coercivity_HK"] = float(np.abs(1.0 - hc[test]).mean()) if test.any() else None
            info["test_coercivity_HK_mean"] = float(hc[test].mean()) if test.any() else None
    return info
