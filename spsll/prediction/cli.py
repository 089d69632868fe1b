"""``python -m spsll.predict``: σ, τ, φ, T with an uncertainty from a user's own measurement.

The measurement (a dispersion k, f or a wall profile x, m_z: :mod:`.observed`) goes through the
trained inverse network of a run, then (``refine=true``, the default) through the physics-refined
inversion with the run's own material, solver and measurement settings (:mod:`spsll.evaluation.refine`).
Intervals are the network's stated spread or the refinement's Laplace spread, scaled by the factors
``evaluate.py`` fitted on the run's validation split (artifact ``calibration/calibration.json``);
without them the intervals are reported as uncalibrated.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from spsll.data.provenance import physics_of_run
from spsll.evaluation.metrics import QUANTITIES
from spsll.evaluation.refine import refine_predictions
from spsll.physics.measure.width import cosine_series_width
from spsll.prediction.observed import InputError, dispersion_on_grid, read_table, wall_on_grid
from spsll.tracking.mlflow_run import resolve_tracking_uri
from spsll.tracking.runs import config_next_to, fetch_run, load_model, read_calibration
from spsll.units import NM, correlation_length, material_fraction

log = logging.getLogger("predict")
INVERSE_MODELS = ("inverse_cnn", "width_regressor")


def _load(cfg: DictConfig, root: Path, out_dir: Path) -> tuple[dict, object, dict]:
    """(run config, model, calibration scales) of ``run_id`` or ``ckpt_path``."""
    if bool(cfg.run_id) == bool(cfg.ckpt_path):
        raise InputError("give exactly one of run_id=<mlflow run id> or ckpt_path=<file.ckpt> (an inverse model)")
    scales: dict = {}
    if cfg.run_id:
        uri = resolve_tracking_uri(cfg.logger.get("tracking_uri"), root)
        conf, ckpt, _ = fetch_run(str(cfg.run_id), uri, out_dir / "artifacts")
        scales = read_calibration(str(cfg.run_id), uri, out_dir / "artifacts")  # {}: not evaluated, uncalibrated
    else:
        ckpt = Path(str(cfg.ckpt_path))
        if not ckpt.exists():
            raise InputError(f"no checkpoint at {ckpt}")
        conf = config_next_to(ckpt)
    name = conf["model"]["name"]
    if name not in INVERSE_MODELS:
        raise InputError(f"predict needs an inverse model ({' or '.join(INVERSE_MODELS)}); this run is a {name}")
    return conf, load_model(name, ckpt), scales


def _estimate(params_nm, std_nm=None, std_phi=None, std_T_nm=None, scales: dict | None = None) -> dict:
    s, t = (float(v) for v in np.asarray(params_nm).reshape(2))
    out = {"sigma_nm": s, "tau_nm": t, "phi": material_fraction(s, t) if s + t > 0 else float("nan"),
           "T_nm": correlation_length(s, t) if s + t > 0 else float("nan")}
    if std_nm is not None:
        sd = {"sigma": float(np.asarray(std_nm).reshape(2)[0]), "tau": float(np.asarray(std_nm).reshape(2)[1]),
              "phi": float(np.asarray(std_phi).reshape(-1)[0]), "T": float(np.asarray(std_T_nm).reshape(-1)[0])}
        for q in QUANTITIES:
            out[f"sd_{q}"] = sd[q] * (scales[q] if scales else 1.0)
        out["calibrated"] = bool(scales)
    return out


def _observation(cfg: DictConfig, model, physics) -> tuple[dict, dict, list[str]]:
    """(network batch, refinement observation, notes) on the model's grid."""
    first, second, _ = read_table(str(cfg.input))
    a_nm = physics.material.a / NM
    if model.task == "dispersion":
        grid = np.asarray(model.data_info["k_rad_per_nm"], dtype=np.float64)
        f, notes = dispersion_on_grid(first, second, grid, a_nm, str(cfg.freq_unit))
        return ({"dispersion": torch.tensor(f[None], dtype=torch.float32)},
                {"dispersion": f[None], "k_rad_per_nm": grid}, notes)
    n = int(model.data_info["mz_length"])
    grid = (np.arange(n) + 0.5 - n / 2) * a_nm
    mz, notes = wall_on_grid(first, second, grid)
    if cfg.get("width_nm") is not None:
        width = float(cfg.width_nm)
        if not width > 0:
            raise InputError(f"width_nm must be > 0, got {width}")
    else:
        meas = physics.measurement
        w, _ = cosine_series_width(torch.tensor(mz[None]), physics.material.a, n_harmonics=meas.n_harmonics,
                                   n_error=meas.n_error_harmonics)
        width = float(w[0]) / NM
        notes.append(f"wall width {width:.4f} nm from the profile (the paper's cosine-series method)")
    return ({"mz": torch.tensor(mz[None], dtype=torch.float32), "width_nm": torch.tensor([width], dtype=torch.float32)},
            {"mz": mz[None], "width_nm": np.array([width])}, notes)


def _table(rows: dict[str, dict]) -> str:
    lines = [f"{'':10s}{'σ (nm)':>20s}{'τ (nm)':>20s}{'φ':>22s}{'T (nm)':>20s}"]
    for label, e in rows.items():
        cells = []
        for q, key, fmt in (("sigma", "sigma_nm", "{:.2f}"), ("tau", "tau_nm", "{:.2f}"), ("phi", "phi", "{:.4f}"),
                            ("T", "T_nm", "{:.3f}")):
            v = fmt.format(e[key])
            if f"sd_{q}" in e:
                v += " ± " + f"{e[f'sd_{q}']:.2g}"
            cells.append(v)
        lines.append(f"{label:10s}" + "".join(f"{c:>20s}" if i != 2 else f"{c:>22s}" for i, c in enumerate(cells)))
    return "\n".join(lines)


def run_predict(cfg: DictConfig) -> dict:
    if cfg.get("threads"):
        torch.set_num_threads(int(cfg.threads))
    if not cfg.get("input"):
        raise InputError("give input=<file.csv>: k (rad/nm), f (THz) for inverse_cnn; x (nm), m_z for width_regressor")
    hc = HydraConfig.get() if HydraConfig.initialized() else None
    root = Path(hc.runtime.cwd) if hc else Path.cwd()
    out_dir = Path(hc.runtime.output_dir) if hc else Path(tempfile.mkdtemp(prefix="spsll_predict_"))
    conf, model, scales = _load(cfg, root, out_dir)
    physics = physics_of_run(conf)
    batch, observed, notes = _observation(cfg, model, physics)
    for note in notes:
        log.warning("input: %s", note)
    with torch.no_grad():
        net = {k: v.double().numpy() for k, v in model.predict_physical(batch).items()}
    result = {"input": str(cfg.input), "model": conf["model"]["name"], "run_id": cfg.run_id, "notes": notes,
              "network": _estimate(net["params_nm"], net.get("std_nm"), net.get("std_phi"), net.get("std_T_nm"),
                                   scales.get("network"))}
    if cfg.refine:
        r = refine_predictions(model.task, physics, observed, net["params_nm"], forward="solver",
                               prior_weight=float(cfg.refine_prior_weight), steps=cfg.get("refine_steps"))
        result["refined"] = _estimate(r.params_nm, r.std_nm, r.std_phi, r.std_T_nm, scales.get("refined_solver"))
        result["refined"]["misfit_rms"] = float(r.misfit_after[0])
        result["refined"]["seconds"] = r.seconds
    rows = {"network": result["network"], **({"refined": result["refined"]} if "refined" in result else {})}
    calibrated = [k for k, e in rows.items() if e.get("calibrated")]
    print(f"\nSPS-LL predict: {result['model']} on {cfg.input}")
    print(_table(rows))
    print("± 1 sd, " + (f"calibrated on the run's validation split ({', '.join(calibrated)})" if calibrated else
                        "UNCALIBRATED (run `python evaluate.py run_id=<run>` [refine=true] to calibrate them)")
          + "; σ and τ separately are poorly determined, φ and T well (docs/physics.md#identifiability).")
    output = Path(str(cfg.output)) if cfg.get("output") else out_dir / "prediction.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2))
    print(f"written: {output}")
    return result
