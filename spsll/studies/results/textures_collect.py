"""The textures part's numbers, read back like the chain entries' (:mod:`.collect`): per entry its runs and the
mean, std and count over seeds of every validation and test metric; and the part's own record: the data (material,
box, ranges, split, survivors) and, per other solver's re-simulation of its test points, how many were made and
survived; and on each test set the scores of answers that ignore the input (:func:`constant_answers`).
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import torch
import yaml

from spsll.evaluation.metrics import inverse_metrics
from spsll.models.skyrmion_forward import forward_metrics
from spsll.studies.results.collect import _client, aggregate, run_metrics
from spsll.studies.results.textures_plan import TexturesPlan

SPLITS = ("train", "val", "test")
FORWARD_KEYS = ("brier", "ece", "accuracy", "log_loss", "radius_rel_mae", "radius_mae_nm", "radius_within_2pct")
INVERSE_KEYS = ("sigma_nm", "tau_nm", "phi", "T_nm")


def collect_textures(tplan: TexturesPlan) -> tuple[dict, dict | None]:
    """({entry id: entry record}, the part's record) — ({}, None) for a study without the part."""
    if not tplan.enabled:
        return {}, None
    client = _client(tplan.plan.uri)
    out = {}
    for e in tplan.entries:
        runs, per_seed = [], []
        for s in tplan.seeds(e):
            marker = tplan.plan.marker(f"train/{e.id}/seed{s}")
            if not marker.exists():
                continue
            run_id = json.loads(marker.read_text())["run_id"]
            runs.append({"seed": s, "run_id": run_id})
            per_seed.append(run_metrics(client, run_id))
        keys = sorted({k for m in per_seed for k in m})
        out[e.id] = {"label": e.label, "task": e.task, "direction": e.direction, "report": e.report,
                     "seeded": e.seeded, "runs": runs, "metrics": {k: aggregate([m.get(k) for m in per_seed])
                                                                   for k in keys},
                     "data": e.data, "dataset": {"group": tplan.data["group"], "path": tplan.data["path"]}}
    part = {"entries": [e.id for e in tplan.entries], "noise_mz": list(tplan.noise_mz),
            "data": data_info(tplan.data["path"], tplan.data["group"]), "cross": {}}
    train = _train_constants(tplan.data["path"])
    if train is not None:
        part["constant_answers"] = {"test": constant_answers(tplan.data["path"], train)}
    for solver in tplan.cross.solvers:
        path = tplan.cross_path(solver)
        c = {"path": path, "max_samples": tplan.cross.max_samples, **cross_info(path, tplan.data["path"])}
        if train is not None and Path(path).is_file():
            c["constant_answers"] = constant_answers(path, train)
        part["cross"][solver] = c
    return out, part


def data_info(path: str, group: str) -> dict:
    """What the section states about the training file: material, box, crop, ranges, split, survivors; only the
    group and path while it is not there (yet)."""
    info: dict = {"group": group, "path": path}
    if not Path(path).is_file():
        return info
    with h5py.File(path, "r") as f:
        request = yaml.safe_load(f.attrs["request"])
        split, alive, ok = f["split"][:], f["survived"][:].astype(bool), f["converged"][:].astype(bool)
        info.update(solver=str(f.attrs["solver"]), material=str(yaml.safe_load(f.attrs["material"]).get("name")
                                                                 or request["material"].get("name")),
                    box_cells=[int(v) for v in f.attrs["box_cells"]], box_nm=[float(v) for v in f.attrs["box_nm"]],
                    cell_nm=float(f.attrs["cell_nm"]), crop_cells=int(f.attrs["crop_cells"]))
        radius = f["radius_nm"][:][alive]
    d = request["dataset"]
    info.update(sampling=str(d["sampling"]), sigma_nm=[float(v) for v in d["sigma_nm"]],
                tau_nm=[float(v) for v in d["tau_nm"]], B_T=[float(v) for v in d["B_T"]],
                n_samples=int(len(split)), n_survived=int(alive.sum()), n_unconverged=int((~ok).sum()),
                survival_fraction=float(alive.mean()),
                radius_nm=[float(radius.min()), float(radius.max())] if radius.size else None)
    for i, s in enumerate(SPLITS):
        info[f"n_{s}"] = int((split == i).sum())
        info[f"n_{s}_survived"] = int((alive & (split == i)).sum())
        info[f"n_{s}_unconverged"] = int((~ok & (split == i)).sum())
    return info


def cross_info(path: str, source: str) -> dict:
    """Another solver's file of the source's test points: its solver, how many points, survivors and unconverged
    samples, and how many of the same points survived in the source (its first n test points); {} when it is not
    there (yet)."""
    if not Path(path).is_file():
        return {}
    with h5py.File(path, "r") as f:
        n = int(len(f["split"]))
        alive, ok = f["survived"][:].astype(bool), f["converged"][:].astype(bool)
        pinned = f["pinned"][:].astype(bool) if "pinned" in f else np.zeros(n, bool)
        out = {"solver": str(f.attrs["solver"]), "n_samples": n, "n_survived": int(alive.sum()),
               "n_unconverged": int((~ok).sum()), "n_pinned": int((pinned & alive).sum()),
               "mosaics_per_sample": int(f.attrs.get("mosaics_per_sample", 0))}
    if Path(source).is_file():
        with h5py.File(source, "r") as f:
            test = f["split"][:] == 2
            out["n_source_test"] = int(test.sum())
            out["n_source_survived"] = int(f["survived"][:][test][:n].astype(bool).sum())
    return out


def _train_constants(path: str) -> dict | None:
    """From the training split: the survival base rate (survivors / converged samples), the survivors' mean radius
    and their mean (σ, τ) (the inverse models' training rows); None when the file is not there (yet)."""
    if not Path(path).is_file():
        return None
    with h5py.File(path, "r") as f:
        train = f["split"][:] == 0
        alive = f["survived"][:].astype(bool) & train
        ok = f["converged"][:].astype(bool) & train
        params = np.stack([f["sigma_nm"][:][alive], f["tau_nm"][:][alive]], 1)
        return {"survival": float(alive.sum() / max(ok.sum(), 1)), "radius_nm": float(f["radius_nm"][:][alive].mean()),
                "params_nm": params.mean(0)}


def constant_answers(path: str, train: dict) -> dict:
    """Scores on the test split of ``path`` (every sample when it has none) of answers that ignore the input:
    forward, the training base rate p̄ as every survival probability and the training survivors' mean radius as
    every radius (scored like the networks: :func:`spsll.models.skyrmion_forward.forward_metrics`); inverse, the
    training survivors' mean (σ, τ) for every test survivor (MAE of σ, τ, φ, T). A model that does no better has
    learnt nothing it can use on that data."""
    with h5py.File(path, "r") as f:
        split = f["split"][:]
        rows = split == 2 if (split == 2).any() else np.ones(len(split), bool)
        alive, ok = f["survived"][:].astype(bool)[rows], f["converged"][:].astype(bool)[rows]
        radius = f["radius_nm"][:][rows]
        true = np.stack([f["sigma_nm"][:][rows], f["tau_nm"][:][rows]], 1)[alive]
    n = int(rows.sum())
    forward = {k: float(v) for k, v in forward_metrics(
        torch.full((n,), train["survival"], dtype=torch.float64), torch.full((n,), train["radius_nm"],
                                                                            dtype=torch.float64),
        torch.from_numpy(alive), torch.from_numpy(ok), torch.from_numpy(radius)).items()} if ok.any() else {}
    inverse = {}
    if len(true):
        m = inverse_metrics(np.broadcast_to(train["params_nm"], true.shape).copy(), true)
        inverse = {q: float(m[f"mae_{q}"]) for q in INVERSE_KEYS}
    return {"survival_probability": train["survival"], "radius_nm": train["radius_nm"],
            "params_nm": [float(v) for v in train["params_nm"]], "forward": forward, "inverse": inverse}
