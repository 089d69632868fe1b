"""``python -m spsll.predict`` for a coercivity model: a user's microstructure → the anchors of its
demagnetisation curve and H_c (docs/coercivity.md#predict).

The profile goes through :mod:`spsll.prediction.microstructure` onto the run's chain (cell size and
length from the run's ``data_info``), then through the model: the networks (``anchor_regressor``,
``anchor_cnn``) and ridge give the anchors; the Gaussian process (``anchor_gp``) also their
predictive std (± 1 sd, the chain-to-chain spread included). The hand features a baseline on
``inputs: features`` reads are computed from the mask as the dataset computes them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig

from spsll.data.microstructures import FEATURES, mask_features
from spsll.evaluation.inputs import write_json
from spsll.prediction.microstructure import profile_to_mask, read_profile
from spsll.units import NM

log = logging.getLogger("predict")
COERCIVITY_TASK = "hysteresis"
COERCIVITY_MODELS = ("anchor_regressor", "anchor_cnn", "anchor_ridge", "anchor_gp")


def predict_anchors(cfg: DictConfig, conf: dict, model, out_dir: Path) -> dict:
    """Read, check and predict; prints a table and writes the JSON (``output`` or <out_dir>/prediction.json)."""
    info = model.data_info
    n_cells, cell_nm = int(info["n_cells"]), float(info["cell_nm"])
    values, spacing, notes = read_profile(str(cfg.input), cfg.get("cell_nm"))
    mask, more = profile_to_mask(values, spacing, str(cfg.get("profile_kind", "mask")), cell_nm, n_cells)
    notes += more
    for note in notes:
        log.warning("input: %s", note)
    feats = mask_features(mask[None].astype(np.int64), cell_nm * NM)
    batch = {"mask": torch.tensor(mask[None]),
             "features": torch.tensor(np.stack([feats[k] for k in FEATURES], 1), dtype=torch.float32)}
    model.eval()
    with torch.no_grad():
        out = model.predict_physical(batch)
    names = list(getattr(model, "target_names", None) or info["target_names"])
    mean = out["targets"].double().numpy()[0]
    std = out["targets_std"].double().numpy()[0] if "targets_std" in out else None
    H_K = info.get("H_K_A_per_m")
    result = {"input": str(cfg.input), "model": conf["model"]["name"], "run_id": cfg.get("run_id"), "notes": notes,
              "chain": {"n_cells": n_cells, "cell_nm": cell_nm, "length_nm": n_cells * cell_nm},
              "features": {k: float(feats[k][0]) for k in FEATURES}, "H_K_A_per_m": H_K, "anchors": {}}
    for j, name in enumerate(names):
        unit = "Ms" if name.startswith("M_") else "H_K"
        e = {"value": float(mean[j]), "unit": unit}
        if std is not None:
            e["sd"] = float(std[j])
        if unit == "H_K" and H_K:
            e["value_A_per_m"] = float(mean[j]) * float(H_K)
        result["anchors"][name] = e
    print(f"\nSPS-LL predict: {result['model']} on {cfg.input} ({n_cells} cells of {cell_nm:g} nm)")
    print(f"{'':22s}{'value':>12s}{'± 1 sd':>10s}  unit")
    for name, e in result["anchors"].items():
        sd = f"{e['sd']:.3f}" if "sd" in e else "—"
        print(f"{name:22s}{e['value']:12.4f}{sd:>10s}  {e['unit']}")
    print("± 1 sd: the Gaussian process's predictive spread (one chain of this length)" if std is not None else
          "no interval: this model states none (anchor_gp does)")
    output = Path(str(cfg.output)) if cfg.get("output") else out_dir / "prediction.json"
    write_json(result, output)
    print(f"written: {output}")
    return result
