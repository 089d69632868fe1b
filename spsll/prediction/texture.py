"""``python -m spsll.predict`` for a skyrmion inverse model: a user's m_z image of one skyrmion, its cell size and
the applied field → σ, τ, φ, T (± 1 sd), checked by relaxing a skyrmion at the answer, and the threshold
study's design answer at that field (docs/skyrmion-models.md#predict).

1. The image goes through :func:`spsll.prediction.texture_image.texture_on_grid` with the run's cell size
   and crop (finite, normalised, one texture in a saturated film; flipped to the models' background +z
   with the field's sign; resampled; cropped about the core as the dataset's crops) and its radius is
   measured there (the dataset's method).
2. The run's model (``skyrmion_inverse``: ± 1 sd from its Gaussian head, scaled by the factors evaluate.py
   fitted on the validation split when the run has them, at the level ``noise_mz`` states; the ridge
   baseline states none) → σ, τ, φ, T.
3. **Consistency through the relax physics** (``refine``, default on): one skyrmion relaxed at the
   predicted (σ, τ) (σ floored at 10⁻³ nm) and the model-frame field with the run's own material,
   solver and measurement settings — the relaxation and crop that made the training data
   (:func:`spsll.data.skyrmion.compute_skyrmions`, seed ``dataset_seed`` for explicit films) — and its
   radius R_relaxed compared with the observed R: flagged ``radius_mismatch`` when
   |R_relaxed − R|/R > ``RADIUS_TOLERANCE`` (10 %), ``collapsed_at_answer`` when it does not survive
   there. The RMS difference of the two crops is reported too.
4. **Design answer**: :func:`spsll.studies.thresholds.answer.design_answer` for the run's material at the
   model-frame field (docs/thresholds/<material>.json); where the study has no file for the material or the
   field lies outside its window, the reason is reported instead.

Flags (shown, not refused): ``field_outside_training_range``, ``outside_training_range`` (the estimate's σ
or τ outside the run's ranges), and the two of step 3. Refused with :class:`InputError`: a missing or
non-finite ``field_T`` or ``cell_nm``, an image without a measurable m_z = 0 contour, and everything the
image reader refuses.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig

from spsll.data.provenance import DataPhysics, physics_of_run
from spsll.data.skyrmion import compute_skyrmions
from spsll.evaluation.inputs import write_json
from spsll.evaluation.metrics import QUANTITIES
from spsll.prediction.observed import InputError
from spsll.prediction.texture_image import read_image, texture_on_grid
from spsll.units import correlation_length, material_fraction

log = logging.getLogger("predict")
SKYRMION_INVERSE_MODELS = ("skyrmion_inverse", "skyrmion_inverse_ridge")
SKYRMION_FORWARD_MODELS = ("skyrmion_forward", "skyrmion_forward_ridge")
RADIUS_TOLERANCE = 0.10  # the relaxed radius at the answer may differ from the observed one by 10 %
SIGMA_FLOOR_NM = 1e-3


def check_field(value) -> float:
    """``field_T``: a finite number (T, along lab +z)."""
    if value is None:
        raise InputError("field_T=<tesla> is required: the applied field along +z of the image (lab frame) at which "
                         "the texture was measured")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InputError(f"field_T must be a finite number (T), got {value!r}")
    try:
        b = float(value)
    except ValueError:
        b = math.nan
    if not math.isfinite(b):
        raise InputError(f"field_T must be a finite number (T), got {value!r}")
    return b


def _level_key(noise) -> str | None:
    """The calibration scales at the stated ``noise_mz`` (those evaluate.py fitted at that level), or None."""
    if noise is None:
        return None
    try:
        v = float(noise) if not isinstance(noise, bool) else math.nan
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and 0 < v < 1):
        raise InputError(f"noise_mz states the noise of your image per m_z cell: one number in (0, 1), got {noise!r}")
    return "network_noise" + f"{v:g}".replace(".", "p") + "mz"


def _estimate(params_nm: np.ndarray, net: dict, scales: dict | None) -> dict:
    s, t = (float(v) for v in params_nm)
    out = {"sigma_nm": s, "tau_nm": t, "phi": material_fraction(s, t) if s + t > 0 else math.nan,
           "T_nm": correlation_length(s, t) if s + t > 0 else math.nan}
    if "std_nm" in net:
        sd = {"sigma": float(net["std_nm"][0, 0]), "tau": float(net["std_nm"][0, 1]), "phi": float(net["std_phi"][0]),
              "T": float(net["std_T_nm"][0])}
        for q in QUANTITIES:
            out[f"sd_{q}"] = sd[q] * (scales[q] if scales else 1.0)
        out["calibrated"] = bool(scales)
    return out


def relax_at(physics: DataPhysics, sigma_nm: float, tau_nm: float, field_T: float, seed: int) -> dict:
    """One skyrmion relaxed at (σ, τ, B) as the run's dataset relaxes them: survived, radius, crop (step 3)."""
    t0 = time.perf_counter()
    meas = physics.measurement
    out = compute_skyrmions(physics.material, meas, physics.solver, [max(sigma_nm, SIGMA_FLOOR_NM)],
                            [max(tau_nm, 0.0)], [field_T], np.array([0]), seed)
    return {"survived": bool(out["survived"][0]), "radius_nm": float(out["radius_nm"][0]),
            "converged": bool(out["converged"][0]), "mz": out["mz"][0], "seconds": time.perf_counter() - t0}


def consistency(relaxed: dict, observed_radius_nm: float, observed_mz: np.ndarray) -> dict:
    """The relaxed answer against the observation (step 3)."""
    r = relaxed["radius_nm"]
    rel = abs(r - observed_radius_nm) / observed_radius_nm if math.isfinite(r) else math.nan
    same_shape = relaxed["mz"].shape == observed_mz.shape
    return {"survived": relaxed["survived"], "converged": relaxed["converged"], "radius_nm": r,
            "observed_radius_nm": observed_radius_nm, "relative_difference": rel,
            "consistent": bool(relaxed["survived"] and rel <= RADIUS_TOLERANCE),
            "mz_rms_difference": float(np.sqrt(np.mean((relaxed["mz"] - observed_mz) ** 2))) if same_shape else None,
            "seconds": relaxed["seconds"]}


def design(physics: DataPhysics, field_T: float) -> dict:
    """The threshold study's answer for the run's material at ``field_T`` (model frame), or why there is none."""
    from spsll.studies.thresholds.answer import design_answer

    try:
        ans = design_answer(physics.material, field_T)
    except (ValueError, OSError, KeyError) as err:
        return {"available": False, "reason": str(err)}
    return {"available": True, **ans}


def _flags(physics: DataPhysics, est: dict, field_model_T: float, check: dict | None) -> list[dict]:
    flags = []
    lo, hi = physics.B_range_T or (-math.inf, math.inf)
    if not lo <= field_model_T <= hi:
        flags.append({"flag": "field_outside_training_range", "message": (
            f"⚠ the field along the background, {field_model_T:g} T, lies outside the run's training range "
            f"[{lo:g}, {hi:g}] T: the model extrapolates")})
    ranges = {"sigma_nm": physics.sigma_range_nm, "tau_nm": physics.tau_range_nm}
    out = [k for k, (a, b) in ranges.items() if not a <= est[k] <= b]
    if out:
        flags.append({"flag": "outside_training_range", "message": (
            f"⚠ the estimate's {', '.join(out)} lies outside the run's training ranges "
            f"(sigma {ranges['sigma_nm']} nm, tau {ranges['tau_nm']} nm)")})
    if check is not None and not check["survived"]:
        flags.append({"flag": "collapsed_at_answer", "message": (
            "⚠ a skyrmion relaxed at the estimate and this field does not survive: the answer does not explain "
            "the observed skyrmion")})
    elif check is not None and not check["relative_difference"] <= RADIUS_TOLERANCE:
        flags.append({"flag": "radius_mismatch", "message": (
            f"⚠ the skyrmion relaxed at the estimate has R = {check['radius_nm']:.3f} nm against the observed "
            f"{check['observed_radius_nm']:.3f} nm ({100 * check['relative_difference']:.1f} % > "
            f"{100 * RADIUS_TOLERANCE:g} %): the answer does not explain the image")})
    return flags


def predict_texture(cfg: DictConfig, conf: dict, model, out_dir: Path, scales: dict) -> dict:
    """Read, check, predict, relax, answer; prints a table and writes the JSON (``output``, or
    <out_dir>/prediction.json)."""
    field = check_field(cfg.get("field_T"))
    if cfg.get("cell_nm") is None:
        raise InputError("cell_nm=<nm> is required: the cell (pixel) size of the m_z image in nm")
    info = model.data_info
    tex = texture_on_grid(read_image(str(cfg.input)), cfg.cell_nm, float(info["cell_nm"]), int(info["crop_cells"]))
    if not math.isfinite(tex.radius_nm):
        raise InputError("the texture has no closed m_z = 0 contour within the crop around its core (the radius "
                         "cannot be measured); give an image of one skyrmion with saturated film around it")
    for note in tex.notes:
        log.warning("input: %s", note)
    b_model = tex.field_for_model(field)
    batch = {"image": torch.from_numpy(tex.mz)[None, None].float(), "radius_nm": torch.tensor([tex.radius_nm]),
             "B_T": torch.tensor([b_model], dtype=torch.float32), "survived": torch.tensor([True])}
    model.eval()
    with torch.no_grad():
        net = {k: v.double().numpy() for k, v in model.predict_physical(batch).items()}
    level_key = _level_key(cfg.get("noise_mz"))
    est = _estimate(net["params_nm"][0], net, scales.get("network" if level_key is None else level_key))
    physics = physics_of_run(conf)
    result = {"input": str(cfg.input), "model": conf["model"]["name"], "run_id": cfg.get("run_id"),
              "notes": tex.notes, "field_T": field, "field_model_T": b_model, "flipped": tex.flipped,
              "observed_radius_nm": tex.radius_nm, "cell_nm": float(info["cell_nm"]),
              "crop_cells": int(info["crop_cells"]), "estimate": est}
    check = None
    if cfg.get("refine", True):
        seed = int(conf.get("dataset_seed", 0) or 0)
        check = consistency(relax_at(physics, est["sigma_nm"], est["tau_nm"], b_model, seed), tex.radius_nm, tex.mz)
        result["relaxed"] = check
    result["design_answer"] = design(physics, b_model)
    result["flags"] = _flags(physics, est, b_model, check)
    _print(result, est)
    output = Path(str(cfg.output)) if cfg.get("output") else out_dir / "prediction.json"
    write_json(result, output)
    print(f"written: {output}")
    return result


def _print(result: dict, est: dict) -> None:
    print(f"\nSPS-LL predict: {result['model']} on {result['input']} (R = {result['observed_radius_nm']:.3f} nm, "
          f"B = {result['field_model_T']:g} T along the background)")
    for q, key, fmt, unit in (("sigma", "sigma_nm", "{:.3f}", "nm"), ("tau", "tau_nm", "{:.4f}", "nm"),
                              ("phi", "phi", "{:.5f}", ""), ("T", "T_nm", "{:.4f}", "nm")):
        sd = f" ± {est[f'sd_{q}']:.2g}" if f"sd_{q}" in est else ""
        print(f"  {q:6s} {fmt.format(est[key])}{sd} {unit}")
    if "calibrated" in est:
        print("± 1 sd, " + ("calibrated on the run's validation split" if est["calibrated"] else
                            "UNCALIBRATED (run `python evaluate.py run_id=<run>` to calibrate them)"))
    else:
        print("no interval: this model states none (skyrmion_inverse does)")
    if "relaxed" in result:
        r = result["relaxed"]
        print(f"relaxed at the estimate: {'survives' if r['survived'] else 'collapses'}, R = {r['radius_nm']:.3f} nm "
              f"against the observed {r['observed_radius_nm']:.3f} nm ({r['seconds']:.1f} s)")
    d = result["design_answer"]
    if d["available"]:
        for name, text in d["sentences"].items():
            print(f"design answer ({name}): {text}")
    else:
        print(f"no design answer: {d['reason']}")
    for f in result["flags"]:
        print(f["message"])
