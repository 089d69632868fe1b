"""What ``evaluate.py`` does with its config: find the run or checkpoint, evaluate, log, summarise."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from spsll.data.hdf5 import MASK_KINDS
from spsll.evaluation.evaluate import (
    EvaluationError,
    evaluate,
    flat_metrics,
    log_to_run,
    loss_history_figure,
    metrics_folder,
    write_summary,
)
from spsll.evaluation.inputs import check_checkpoint_file, positive_int
from spsll.evaluation.noise import parse_levels
from spsll.evaluation.skyrmion_evaluate import KIND as SKYRMION
from spsll.evaluation.skyrmion_evaluate import noise_levels as skyrmion_noise_levels
from spsll.models import BASELINES, MODELS
from spsll.tracking.mlflow_run import resolve_tracking_uri
from spsll.tracking.runs import (
    check_dataset_digest,
    config_next_to,
    fetch_run,
    load_model,
    local_dataset_digest,
    run_dataset_digest,
)

log = logging.getLogger("evaluate")


def _cases(value) -> list[list[float]]:
    cases = [] if value is None else OmegaConf.to_container(value) if not isinstance(value, list) else value
    if not isinstance(cases, list) or any(not isinstance(c, list) or len(c) != 2 for c in cases):
        raise EvaluationError(f"cases must be a list of [sigma_nm, tau_nm] pairs, got {value!r}")
    if any(float(c[0]) <= 0 or float(c[1]) < 0 for c in cases):
        raise EvaluationError(f"cases need sigma_nm > 0 and tau_nm >= 0, got {cases}")
    return [[float(c[0]), float(c[1])] for c in cases]


def _refine_settings(cfg: DictConfig) -> dict | None:
    """The refinement's options, checked (steps and samples even when refine is off); None: no refinement."""
    steps = positive_int("refine_steps", cfg.get("refine_steps"))
    samples = positive_int("refine_samples", cfg.get("refine_samples"), allow_all=True)
    if not cfg.get("refine"):
        return None
    forward = str(cfg.refine_forward)
    if forward not in ("solver", "surrogate"):
        raise EvaluationError(f"refine_forward must be solver or surrogate, got {forward!r}")
    if float(cfg.refine_prior_weight) < 0:
        raise EvaluationError(f"refine_prior_weight must be >= 0, got {cfg.refine_prior_weight}")
    if forward == "surrogate" and not cfg.get("surrogate_run_id"):
        raise EvaluationError("refine_forward=surrogate needs surrogate_run_id=<a tfc_pinn run>")
    return {"forward": forward, "surrogate": None, "prior_weight": float(cfg.refine_prior_weight),
            "steps": steps, "samples": samples}


def _with_surrogate(settings: dict | None, cfg: DictConfig, uri, root: Path, out_dir: Path) -> dict | None:
    """Load the tfc_pinn of ``surrogate_run_id`` into the refinement's options when it asks for one."""
    if settings is None or settings["forward"] != "surrogate":
        return settings
    s_uri = uri or resolve_tracking_uri(cfg.logger.get("tracking_uri"), root)
    s_cfg, s_ckpt, _ = fetch_run(str(cfg.surrogate_run_id), s_uri, out_dir / "surrogate")
    if s_cfg["model"]["name"] != "tfc_pinn":
        raise EvaluationError(f"surrogate run {cfg.surrogate_run_id} is a {s_cfg['model']['name']}, not a tfc_pinn")
    return {**settings, "surrogate": load_model("tfc_pinn", s_ckpt)}


def _noise_levels(cfg: DictConfig, conf: dict) -> list:
    name = conf["model"]["name"]
    if name not in MODELS and name not in BASELINES:
        raise EvaluationError(f"the run's config names model {name!r}, not one of {sorted({**MODELS, **BASELINES})}")
    task = MODELS[name].task if name in MODELS else str(conf["dataset"]["kind"])  # a baseline fits either kind
    if task in MASK_KINDS:  # the coercivity models take masks: no measurement to add noise to
        if cfg.get("noise_ghz") or cfg.get("noise_mz"):
            raise EvaluationError(f"noise_ghz and noise_mz apply to the dispersion and wall models; {name} reads "
                                  "defect masks")
        return []
    if task == SKYRMION:  # noise_mz on the inverse models' images (docs/skyrmion-models.md#evaluation)
        direction = getattr({**MODELS, **BASELINES}[name], "direction", "")
        return skyrmion_noise_levels(name, direction, cfg.get("noise_ghz"), cfg.get("noise_mz"))
    try:
        return parse_levels(task, cfg.get("noise_ghz"), cfg.get("noise_mz"))
    except ValueError as err:
        raise EvaluationError(str(err)) from err


def _test_data(cfg: DictConfig, root: Path) -> str | None:
    if not cfg.get("test_data"):
        return None
    path = Path(str(cfg.test_data))
    path = path if path.is_absolute() else root / path
    if not path.is_file():
        raise EvaluationError(f"test_data: no dataset at {path}")
    return str(path.resolve())


def run_evaluate(cfg: DictConfig) -> dict:
    if cfg.get("threads"):
        torch.set_num_threads(int(cfg.threads))
    hc = HydraConfig.get() if HydraConfig.initialized() else None
    root = Path(hc.runtime.cwd) if hc else Path.cwd()
    out_dir = Path(hc.runtime.output_dir) if hc else Path(tempfile.mkdtemp(prefix="spsll_eval_"))
    if bool(cfg.run_id) == bool(cfg.ckpt_path):
        raise EvaluationError("give exactly one of run_id=<mlflow run id> or ckpt_path=<file.ckpt>")
    batch_size = positive_int("batch_size", cfg.get("batch_size"))
    if batch_size is None:
        raise EvaluationError("batch_size must be an integer >= 1, got None")
    noise_seed = cfg.get("noise_seed", 0)
    if isinstance(noise_seed, bool) or not isinstance(noise_seed, int) or noise_seed < 0:
        raise EvaluationError(f"noise_seed must be an integer >= 0, got {noise_seed!r}")
    test_data = _test_data(cfg, root)
    refine = _refine_settings(cfg)
    cases = _cases(cfg.get("cases"))
    uri = None
    if cfg.run_id:
        uri = resolve_tracking_uri(cfg.logger.get("tracking_uri"), root)
        conf, ckpt, data = fetch_run(str(cfg.run_id), uri, out_dir / "artifacts")
        check_checkpoint_file(ckpt)
    else:
        ckpt = Path(str(cfg.ckpt_path))
        check_checkpoint_file(ckpt)
        conf = config_next_to(ckpt)
        data = str((root / conf["dataset"]["path"]).resolve())
    # the run's own data file (its validation split calibrates, its test split is scored unless
    # test_data is given) must be the file it trained on
    check_dataset_digest(run_dataset_digest(str(cfg.run_id), uri) if cfg.run_id else local_dataset_digest(ckpt), data)
    summary, figs = evaluate(conf, ckpt, data, batch_size=batch_size, closed_loop=bool(cfg.closed_loop),
                             fig_dir=out_dir / "figures", cases_nm=cases,
                             refine=_with_surrogate(refine, cfg, uri, root, out_dir),
                             noise_levels=_noise_levels(cfg, conf),
                             noise_seed=noise_seed, test_data=test_data)
    if cfg.run_id:
        curve = loss_history_figure(str(cfg.run_id), uri, out_dir / "figures" / "loss_curves.png")
        if curve is not None:
            figs.append(curve)
    output = Path(str(cfg.output)) if cfg.output else out_dir / "evaluation.json"
    if cfg.run_id:
        summary["run_id"] = str(cfg.run_id)
    write_summary(summary, output)
    if cfg.run_id:
        log_to_run(str(cfg.run_id), uri, summary, figs, output)
    folder = metrics_folder(summary)
    for k, v in flat_metrics(summary).items():
        log.info("%s/%s = %.5g", folder, k, v)
    log.info("summary: %s", output)
    return summary
