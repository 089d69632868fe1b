"""The morphing path and its physics check.

Two test chains a, b of the hysteresis file are encoded to their latent means μ_a, μ_b; the path

    z(t) = (1 − t) μ_a + t μ_b,   t = 0, 1/(n − 1), …, 1      (n = ``n_steps``)

is decoded, p_i(t) = sigmoid(ℓ_i(z(t))), and thresholded, d_i(t) = [p_i(t) > ``threshold``], into masks. Each
decoded mask is re-simulated with the file's own generation request (material, chain, defects, sweep: the
``request`` attribute, docs/hysteresis.md#sweep) in one batched sweep, together with the two original masks under
their own tilt-noise keys — which must reproduce their stored curves (a check that the settings are the
dataset's). A decoded mask's tilt noise is keyed by n_samples + its step, outside the file's keys. The regressor
(and the GP, with its predictive sd) predicts the targets from each decoded mask (its hand features computed as
the dataset computes them): what the simulation says and what the model says, for the same microstructure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch
import yaml

from spsll.data.config import dataset_config
from spsll.data.hysteresis import summary_arrays, sweep_masks
from spsll.data.mask_datamodule import TARGETS
from spsll.data.microstructures import FEATURES, mask_features
from spsll.models.mask_vae import encode_masks
from spsll.physics.material import Material
from spsll.studies.morphing.runs import MorphingError

SPLIT_NAMES = ("train", "validation", "test")


@dataclass
class Chains:
    """What the morphing reads of the hysteresis file."""
    path: Path
    masks: np.ndarray           # (n, N) uint8
    split: np.ndarray           # (n,)
    keys: np.ndarray            # (n,) tilt-noise keys (the samples' indices in the dataset)
    targets: np.ndarray         # (n, 8) the stored targets in TARGETS order
    converged: np.ndarray       # (n,) bool
    request: dict


def read_chains(path: Path) -> Chains:
    with h5py.File(path, "r") as f:
        if f.attrs.get("kind") != "hysteresis":
            raise MorphingError(f"data: {path} is a {f.attrs.get('kind')!r} dataset, not hysteresis")
        targets = np.concatenate([f["H_at_levels_HK"][:], f["M_over_Ms_at_fields"][:], f["coercivity_HK"][:][:, None]],
                                 1)
        return Chains(path, f["defect_mask"][:], f["split"][:], f["global_index"][:], targets,
                      f["converged"][:].astype(bool), yaml.safe_load(f.attrs["request"]))


def check_pair(pair, chains: Chains) -> tuple[int, int]:
    """Two distinct rows of the file, both in its test split."""
    if pair is None or len(pair) != 2 or any(isinstance(i, bool) or not isinstance(i, int) for i in pair):
        raise MorphingError(f"pair must be two sample indices (rows of the data file), got {pair!r}")
    a, b = (int(i) for i in pair)
    test = np.flatnonzero(chains.split == 2)
    for i in (a, b):
        if not 0 <= i < len(chains.split):
            raise MorphingError(f"pair: sample {i} is outside the file (0 … {len(chains.split) - 1}); test samples: "
                                f"{', '.join(map(str, test))}")
        if chains.split[i] != 2:
            raise MorphingError(f"pair: sample {i} is in the {SPLIT_NAMES[int(chains.split[i])]} split, not the test "
                                f"split; test samples: {', '.join(map(str, test))}")
    if a == b:
        raise MorphingError(f"pair: the two samples must differ, got {a} twice")
    return a, b


@torch.no_grad()
def latent_path(vae, masks: np.ndarray, n_steps: int, threshold: float) -> dict[str, np.ndarray]:
    """t, the latent points z(t), the decoded probabilities and the thresholded masks of the path a → b."""
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 2:
        raise MorphingError(f"n_steps must be an integer >= 2, got {n_steps!r}")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold < 1:
        raise MorphingError(f"threshold must be a number in (0, 1), got {threshold!r}")
    mu = encode_masks(vae, masks).double()
    t = torch.linspace(0.0, 1.0, n_steps, dtype=torch.float64)
    z = (1 - t)[:, None] * mu[0] + t[:, None] * mu[1]
    p = torch.sigmoid(vae.decoder(z.float())).double()
    return {"t": t.numpy(), "z": z.numpy(), "mu": mu.numpy(), "probability": p.numpy(),
            "masks": (p > threshold).numpy().astype(np.uint8)}


def simulate(chains: Chains, masks: np.ndarray, keys, device: str = "cpu") -> dict[str, np.ndarray]:
    """The targets (n, 8, TARGETS order) and convergence of ``masks`` under the file's own sweep; one batch."""
    req = chains.request
    ds = dataset_config({**req["dataset"], "path": str(chains.path)})
    material = Material.from_config(req["material"])
    t0 = time.perf_counter()
    summaries = sweep_masks(material, ds.measurement, ds.defects, masks, keys, int(req["seed"]), device)
    arr = summary_arrays(summaries, material.gap_field, ds.measurement.field_grid_HK())
    targets = np.concatenate([arr["H_at_levels_HK"], arr["M_over_Ms_at_fields"], arr["coercivity_HK"][:, None]], 1)
    return {"targets": targets, "converged": arr["converged"], "seconds": time.perf_counter() - t0,
            "cell_m": material.a}


@torch.no_grad()
def predict(model, masks: np.ndarray, cell_m: float) -> dict[str, np.ndarray]:
    """{name: (n,)} means and, for a model that states one (the GP), ``sd`` {name: (n,)}."""
    feats = mask_features(masks.astype(np.int64), cell_m)
    batch = {"mask": torch.tensor(masks, dtype=torch.float32),
             "features": torch.tensor(np.stack([feats[k] for k in FEATURES], 1), dtype=torch.float32)}
    out = model.predict_physical(batch)
    names = list(getattr(model, "target_names", None) or model.data_info["target_names"])
    mean = out["targets"].double().numpy()
    result = {"mean": {n: mean[:, j] for j, n in enumerate(names)}}
    if "targets_std" in out:
        sd = out["targets_std"].double().numpy()
        result["sd"] = {n: sd[:, j] for j, n in enumerate(names)}
    return result


def check_targets(targets, model, param: str) -> list[str]:
    names = list(getattr(model, "target_names", None) or model.data_info["target_names"])
    targets = [str(t) for t in targets or []]
    unknown = [t for t in targets if t not in TARGETS]
    if unknown or not targets:
        raise MorphingError(f"targets: {unknown or targets} are not coercivity targets ({', '.join(TARGETS)})")
    missing = [t for t in targets if t not in names]
    if missing:
        raise MorphingError(f"targets: the model of {param} does not predict {missing} (it predicts {names})")
    return targets
