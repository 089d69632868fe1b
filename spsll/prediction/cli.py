"""``python -m spsll.predict``: σ, τ, φ, T with an uncertainty from a user's own measurement.

The measurement (a dispersion k, f or a wall profile x, m_z: :mod:`.observed`) goes through the
trained inverse network of a run, then (``refine=true``, the default) through the physics-refined
inversion with the run's own material, solver and measurement settings (:mod:`spsll.evaluation.refine`).
Intervals are the network's stated spread or the refinement's Laplace spread, scaled by the factors
``evaluate.py`` fitted on the run's validation split (artifact ``calibration/calibration.json``);
without them the intervals are reported as uncalibrated. A stated measurement noise (``noise_ghz``
for dispersions, ``noise_mz`` for walls) sets the refinement's intervals and the misfit test, and
selects the scales ``evaluate.py`` fitted at that noise level (``noise_ghz=[...]``), if any.

An answer the model cannot vouch for is still shown, but marked, with a line under the table
(:mod:`spsll.evaluation.flags`): a refined fit that does not explain the data at the stated noise
(or 10 GHz / 0.01 without one), an estimate outside the run's training ranges, a refinement stopped
on its box.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from spsll.data.provenance import physics_of_run
from spsll.evaluation import flags as FL
from spsll.evaluation.inputs import check_checkpoint_file, positive_int, write_json
from spsll.evaluation.metrics import QUANTITIES
from spsll.evaluation.noise import KEYS, NoiseLevel, parse_levels
from spsll.evaluation.refine import refine_box_nm, refine_predictions
from spsll.models import BASELINES
from spsll.physics.measure.width import cosine_series_width
from spsll.prediction.coercivity import COERCIVITY_MODELS, predict_anchors
from spsll.prediction.observed import InputError, dispersion_on_grid, read_table, wall_on_grid
from spsll.prediction.texture import SKYRMION_FORWARD_MODELS, SKYRMION_INVERSE_MODELS, predict_texture
from spsll.tracking.mlflow_run import resolve_tracking_uri
from spsll.tracking.registry import RegistryError, run_of_model_uri
from spsll.tracking.runs import config_next_to, fetch_run, load_model, read_calibration
from spsll.units import NM, correlation_length, material_fraction

log = logging.getLogger("predict")
INVERSE_MODELS = ("inverse_cnn", "width_regressor")


def _load(cfg: DictConfig, root: Path, out_dir: Path) -> tuple[dict, object, dict]:
    """(run config, model, calibration scales) of ``run_id`` or ``ckpt_path``."""
    given = [k for k in ("run_id", "ckpt_path", "model_uri") if cfg.get(k)]
    if len(given) != 1:
        raise InputError("give exactly one of run_id=<mlflow run id>, model_uri=models:/<name>/<version> (registry) "
                         f"or ckpt_path=<file.ckpt> (an inverse model); got {given or 'none'}")
    scales: dict = {}
    if cfg.get("model_uri"):  # a registered version: predict with the run that logged it
        uri = resolve_tracking_uri(cfg.logger.get("tracking_uri"), root)
        try:
            cfg.run_id = run_of_model_uri(str(cfg.model_uri), uri)
        except RegistryError as err:
            raise InputError(str(err)) from err
        log.info("%s is run %s", cfg.model_uri, cfg.run_id)
    if cfg.run_id:
        uri = resolve_tracking_uri(cfg.logger.get("tracking_uri"), root)
        conf, ckpt, _ = fetch_run(str(cfg.run_id), uri, out_dir / "artifacts")
        scales = read_calibration(str(cfg.run_id), uri, out_dir / "artifacts")  # {}: not evaluated, uncalibrated
    else:
        ckpt = Path(str(cfg.ckpt_path))
        check_checkpoint_file(ckpt, error=InputError)
        conf = config_next_to(ckpt)
    name = conf["model"]["name"]
    if name in COERCIVITY_MODELS or name in SKYRMION_INVERSE_MODELS:
        return conf, load_model(name, ckpt), scales
    if name in SKYRMION_FORWARD_MODELS:
        raise InputError(f"predict reads a measured m_z image of a skyrmion and needs a skyrmion inverse model "
                         f"({', '.join(SKYRMION_INVERSE_MODELS)}); this run is a {name}, which predicts survival and "
                         "radius from (sigma, tau, B)")
    inverse_baseline = name in BASELINES and conf["model"].get("direction", "inverse") == "inverse"
    if name not in INVERSE_MODELS and not inverse_baseline:
        raise InputError(f"predict needs an inverse model ({', '.join(INVERSE_MODELS)}, or an inverse baseline: "
                         f"{', '.join(b for b in BASELINES if b not in COERCIVITY_MODELS)}) or a coercivity model "
                         f"({', '.join(COERCIVITY_MODELS)}); this run is a {name}"
                         + (" with direction forward" if name in BASELINES else ""))
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
        label = label + (" ⚠" if e.get("flags") else "")  # a flagged answer is shown, marked
        lines.append(f"{label:10s}" + "".join(f"{c:>20s}" if i != 2 else f"{c:>22s}" for i, c in enumerate(cells)))
    return "\n".join(lines)


def _noise(cfg: DictConfig, task: str) -> NoiseLevel | None:
    """The user's stated measurement noise (one level, or None)."""
    try:
        levels = parse_levels(task, cfg.get("noise_ghz"), cfg.get("noise_mz"))
    except ValueError as err:
        raise InputError(str(err)) from err
    if len(levels) > 1:
        raise InputError(f"{KEYS[task]} states the noise of your measurement: one number, got {len(levels)}")
    return levels[0] if levels else None


def _scales(scales: dict, base: str, noise: NoiseLevel | None) -> dict | None:
    """The calibration scales of an estimate ("network", "refined_solver"). With a stated noise only
    scales fitted at that level apply (``evaluate.py noise_ghz=[...]``)."""
    return scales.get(base if noise is None else f"{base}_{noise.label}")


def _flags(model, physics, result: dict, net: dict, refined, noise: NoiseLevel | None, n_rows: int) -> list[dict]:
    """The answer's flags (judged with the intervals as printed), each with the line the user reads."""
    ranges = {"sigma_nm": physics.sigma_range_nm, "tau_nm": physics.tau_range_nm}
    stated = None if noise is None else noise.observation_sd
    default = FL.DEFAULT_NOISE[model.task]

    def sd(label):
        e = result.get(label, {})
        return np.array([[e["sd_sigma"], e["sd_tau"]]]) if "sd_sigma" in e else None

    flags = FL.sample_flags(net["params_nm"], ranges, network_sd_nm=sd("network"), refined=refined,
                            refined_sd_nm=sd("refined"), n_rows=n_rows, noise=stated, default_noise=default,
                            box_nm=refine_box_nm(physics.sigma_range_nm, physics.tau_range_nm))[0]
    text = noise.describe() if noise is not None else (
        f"{default * 1e3:g} GHz per peak (the default; state yours with noise_ghz=)" if model.task == "dispersion"
        else f"{default:g} per m_z cell (the default; state yours with noise_mz=)")
    return [{**f, "message": FL.message(f, text)} for f in sorted(flags, key=lambda f: FL.FLAGS.index(f["flag"]))]


def run_predict(cfg: DictConfig) -> dict:
    if cfg.get("threads"):
        torch.set_num_threads(int(cfg.threads))
    if not cfg.get("input"):
        raise InputError("give input=<file.csv>: k (rad/nm), f (THz) for inverse_cnn; x (nm), m_z for width_regressor; "
                         "a microstructure profile x (nm), value (or a .npy with cell_nm=) for a coercivity model; an "
                         "m_z image (.npy or a table, with cell_nm= and field_T=) for a skyrmion inverse model")
    hc = HydraConfig.get() if HydraConfig.initialized() else None
    root = Path(hc.runtime.cwd) if hc else Path.cwd()
    out_dir = Path(hc.runtime.output_dir) if hc else Path(tempfile.mkdtemp(prefix="spsll_predict_"))
    conf, model, scales = _load(cfg, root, out_dir)
    name = conf["model"]["name"]
    if name in SKYRMION_INVERSE_MODELS:  # docs/skyrmion-models.md#predict
        return predict_texture(cfg, conf, model, out_dir, scales)
    if cfg.get("field_T") is not None:
        raise InputError(f"field_T applies to the skyrmion inverse models ({', '.join(SKYRMION_INVERSE_MODELS)}), "
                         f"whose input is an m_z image of a skyrmion; this run is a {name}")
    if name in COERCIVITY_MODELS:
        return predict_anchors(cfg, conf, model, out_dir)
    noise = _noise(cfg, model.task)
    steps = positive_int("refine_steps", cfg.get("refine_steps"), error=InputError)
    physics = physics_of_run(conf)
    batch, observed, notes = _observation(cfg, model, physics)
    for note in notes:
        log.warning("input: %s", note)
    with torch.no_grad():
        net = {k: v.double().numpy() for k, v in model.predict_physical(batch).items()}
    net_scales = _scales(scales, "network", noise)
    result = {"input": str(cfg.input), "model": conf["model"]["name"], "run_id": cfg.run_id, "notes": notes,
              "noise": None if noise is None else {"value": noise.value, "key": KEYS[model.task]},
              "network": _estimate(net["params_nm"], net.get("std_nm"), net.get("std_phi"), net.get("std_T_nm"),
                                   net_scales)}
    refined = None
    if cfg.refine:
        refined = refine_predictions(model.task, physics, observed, net["params_nm"], forward="solver",
                                     prior_weight=float(cfg.refine_prior_weight), steps=steps,
                                     noise=None if noise is None else noise.observation_sd)
        ref_scales = _scales(scales, "refined_solver", noise)
        result["refined"] = _estimate(refined.params_nm, refined.std_nm, refined.std_phi, refined.std_T_nm,
                                      ref_scales)
        result["refined"]["misfit_rms"] = float(refined.misfit_after[0])
        result["refined"]["seconds"] = refined.seconds
    n_rows = observed["dispersion" if model.task == "dispersion" else "mz"].shape[1]
    result["flags"] = _flags(model, physics, result, net, refined, noise, n_rows)
    rows = {"network": result["network"], **({"refined": result["refined"]} if "refined" in result else {})}
    for label, e in rows.items():  # on_bound is the refinement's; a misfit (data the model cannot make) marks both
        e["flags"] = sorted({f["flag"] for f in result["flags"]
                             if f.get("estimate", "refined") == label or f["flag"] == "misfit"})
    calibrated = [k for k, e in rows.items() if e.get("calibrated")]
    print(f"\nSPS-LL predict: {result['model']} on {cfg.input}")
    print(_table(rows))
    where = "" if noise is None else f" at {noise.describe()}"
    print("± 1 sd, " + (f"calibrated on the run's validation split{where} ({', '.join(calibrated)})" if calibrated else
                        "UNCALIBRATED (run `python evaluate.py run_id=<run>` [refine=true] "
                        + (f"{KEYS[model.task]}=[{noise.key}] " if noise is not None else "")
                        + "to calibrate them)")
          + "; σ and τ separately are poorly determined, φ and T well (docs/physics.md#identifiability).")
    for f in result["flags"]:
        print(f["message"])
    output = Path(str(cfg.output)) if cfg.get("output") else out_dir / "prediction.json"
    write_json(result, output)
    print(f"written: {output}")
    return result
