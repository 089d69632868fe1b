"""What ``evaluate.py`` does with its config: find the run or checkpoint, evaluate, log, summarise."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from spsll.evaluation.evaluate import EvaluationError, evaluate, log_to_run, loss_history_figure, write_summary
from spsll.tracking.mlflow_run import resolve_tracking_uri
from spsll.tracking.runs import config_next_to, fetch_run, load_model

log = logging.getLogger("evaluate")


def _cases(value) -> list[list[float]]:
    cases = [] if value is None else OmegaConf.to_container(value) if not isinstance(value, list) else value
    if not isinstance(cases, list) or any(not isinstance(c, list) or len(c) != 2 for c in cases):
        raise EvaluationError(f"cases must be a list of [sigma_nm, tau_nm] pairs, got {value!r}")
    if any(float(c[0]) <= 0 or float(c[1]) < 0 for c in cases):
        raise EvaluationError(f"cases need sigma_nm > 0 and tau_nm >= 0, got {cases}")
    return [[float(c[0]), float(c[1])] for c in cases]


def _refine_options(cfg: DictConfig, uri, root: Path, out_dir: Path) -> dict | None:
    if not cfg.get("refine"):
        return None
    forward = str(cfg.refine_forward)
    if forward not in ("solver", "surrogate"):
        raise EvaluationError(f"refine_forward must be solver or surrogate, got {forward!r}")
    if float(cfg.refine_prior_weight) < 0:
        raise EvaluationError(f"refine_prior_weight must be >= 0, got {cfg.refine_prior_weight}")
    surrogate = None
    if forward == "surrogate":
        if not cfg.get("surrogate_run_id"):
            raise EvaluationError("refine_forward=surrogate needs surrogate_run_id=<a tfc_pinn run>")
        s_uri = uri or resolve_tracking_uri(cfg.logger.get("tracking_uri"), root)
        s_cfg, s_ckpt, _ = fetch_run(str(cfg.surrogate_run_id), s_uri, out_dir / "surrogate")
        if s_cfg["model"]["name"] != "tfc_pinn":
            raise EvaluationError(f"surrogate run {cfg.surrogate_run_id} is a {s_cfg['model']['name']}, not a tfc_pinn")
        surrogate = load_model("tfc_pinn", s_ckpt)
    return {"forward": forward, "surrogate": surrogate, "prior_weight": float(cfg.refine_prior_weight),
            "steps": cfg.get("refine_steps"), "samples": cfg.get("refine_samples")}


def run_evaluate(cfg: DictConfig) -> dict:
    if cfg.get("threads"):
        torch.set_num_threads(int(cfg.threads))
    hc = HydraConfig.get() if HydraConfig.initialized() else None
    root = Path(hc.runtime.cwd) if hc else Path.cwd()
    out_dir = Path(hc.runtime.output_dir) if hc else Path(tempfile.mkdtemp(prefix="spsll_eval_"))
    if bool(cfg.run_id) == bool(cfg.ckpt_path):
        raise EvaluationError("give exactly one of run_id=<mlflow run id> or ckpt_path=<file.ckpt>")
    uri = None
    if cfg.run_id:
        uri = resolve_tracking_uri(cfg.logger.get("tracking_uri"), root)
        conf, ckpt, data = fetch_run(str(cfg.run_id), uri, out_dir / "artifacts")
    else:
        ckpt = Path(str(cfg.ckpt_path))
        if not ckpt.exists():
            raise EvaluationError(f"no checkpoint at {ckpt}")
        conf = config_next_to(ckpt)
        data = str((root / conf["dataset"]["path"]).resolve())
    summary, figs = evaluate(conf, ckpt, data, batch_size=int(cfg.batch_size), closed_loop=bool(cfg.closed_loop),
                             fig_dir=out_dir / "figures", cases_nm=_cases(cfg.get("cases")),
                             refine=_refine_options(cfg, uri, root, out_dir))
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
    for k, v in summary["metrics"].items():
        log.info("test/%s = %.5g", k, v)
    log.info("summary: %s", output)
    return summary
