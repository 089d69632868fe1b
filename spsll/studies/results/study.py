"""``python -m spsll.studies.results``: run the plan's jobs, collect the numbers, render RESULTS.md."""

from __future__ import annotations

import datetime as _dt
import json
import platform
import time
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig, OmegaConf

from spsll.data.hdf5 import git_commit
from spsll.studies.common import CONF, ROOT, command_line, read_json, set_threads, write_json
from spsll.studies.results.collect import collect, write_csv
from spsll.studies.results.jobs import run_jobs
from spsll.studies.results.plan import Plan
from spsll.studies.results.report import render
from spsll.tracking.mlflow_run import resolve_tracking_uri

MODULE = "spsll.studies.results"


def _machine() -> str:
    return f"{platform.machine()} CPU, {torch.get_num_threads()}-thread torch, {_cores()} cores"


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def run_study(cfg: DictConfig, command: str | None = None, echo=print) -> Path:
    """Run (or with ``render_only`` just re-render) the study; returns the report's path."""
    json_path = Path(cfg.json)
    if cfg.get("render_only"):
        path = render(read_json(json_path), cfg.out)
        echo(f"wrote {path} from {json_path}")
        return path
    set_threads(cfg.get("threads"))
    jobs = int(cfg.jobs)
    if jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {cfg.jobs!r}")
    uri = resolve_tracking_uri(cfg.get("tracking_uri"), ROOT)
    plan = Plan(cfg, uri)
    t0 = time.perf_counter()
    seconds = run_jobs(plan.all_jobs(), jobs, echo)
    results = collect(plan)
    previous = read_json(json_path)["meta"] if json_path.exists() else {}
    # a resumed study adds this invocation's time to what the earlier ones spent
    spent = float(previous.get("seconds", 0.0)) if previous.get("config") == _config_digest(cfg) else 0.0
    elapsed = spent + time.perf_counter() - t0
    meta = {"command": command or command_line(MODULE), "seconds": elapsed, "minutes": elapsed / 60,
            "machine": _machine(), "torch": torch.__version__, "commit": git_commit()[:12],
            "date": _dt.date.today().isoformat(), "tracking_uri": uri, "json": json_path.as_posix(),
            "seeds": ", ".join(str(s) for s in plan.seeds), "n_seeds": len(plan.seeds),
            "job_seconds": seconds, "config": _config_digest(cfg)}
    write_json(json_path, {"meta": meta, "results": results})
    write_csv(results, json_path.with_suffix(".csv"))
    path = render({"meta": meta, "results": results}, cfg.out)
    echo(f"wrote {path}, {json_path} ({elapsed / 60:.1f} min)")
    return path


def _config_digest(cfg: DictConfig) -> str:
    import hashlib

    bookkeeping = ("only", "render_only", "jobs")  # they change what runs now, not what the numbers are
    keep = {k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k not in bookkeeping}
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()[:16]


@hydra.main(version_base="1.3", config_path=str(CONF), config_name="studies/results")
def main(cfg: DictConfig) -> None:
    run_study(cfg)
