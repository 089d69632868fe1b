"""What ``evaluate.py`` does with its config: find the run or checkpoint, evaluate, log, summarise."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from spsll.evaluation.evaluate import (
    EvaluationError,
    config_next_to,
    evaluate,
    fetch_run,
    log_to_run,
    loss_history_figure,
    write_summary,
)
from spsll.tracking.mlflow_run import resolve_tracking_uri

log = logging.getLogger("evaluate")


def run_evaluate(cfg: DictConfig) -> dict:
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
                             fig_dir=out_dir / "figures")
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
