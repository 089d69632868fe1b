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
from spsll.studies.results.coercivity_collect import collect_part
from spsll.studies.results.coercivity_plan import CoercivityPlan
from spsll.studies.results.collect import collect, write_csv
from spsll.studies.results.jobs import run_jobs
from spsll.studies.results.plan import Plan
from spsll.studies.results.report import render
from spsll.studies.results.textures_collect import collect_textures
from spsll.studies.results.textures_plan import TexturesPlan
from spsll.tracking.mlflow_run import ensure_experiment, resolve_tracking_uri

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
    part = CoercivityPlan(plan)  # the coercivity part: its own jobs, depending on each other across entries
    textures = TexturesPlan(plan)  # the textures part (the skyrmion models): its own data, noise and defect files
    jobs_list = plan.all_jobs() + part.jobs() + textures.jobs()
    digest = _config_digest(cfg)
    previous = read_json(json_path)["meta"] if json_path.exists() else {}
    ledger = _WallLedger(Path(cfg.work_dir) / "wall_seconds.json", digest,
                         untimed_work=any(j.done for j in jobs_list),
                         recorded=float(previous.get("seconds", 0.0)) if previous.get("config") == digest else 0.0)
    if any(not j.done for j in jobs_list):  # the store and experiment exist before two jobs race to create them
        ensure_experiment(uri, str(OmegaConf.load(CONF / "logger" / "mlflow.yaml").experiment_name))
    seconds = run_jobs(jobs_list, jobs, ledger.wrap(echo))
    results = collect(plan)
    part_results, part_record = collect_part(part)
    results.update(part_results)
    textures_results, textures_record = collect_textures(textures)
    results.update(textures_results)
    elapsed = ledger.update()
    job_seconds = sum(_marker_seconds(j.marker) for j in jobs_list)
    # `only` changes what runs now, not what the numbers are: the plain command reproduces every one of them
    meta = {"command": command or command_line(MODULE, drop=("only",)), "seconds": elapsed, "minutes": elapsed / 60,
            "machine": _machine(), "torch": torch.__version__, "commit": git_commit()[:12],
            "date": _dt.date.today().isoformat(), "tracking_uri": _portable(uri), "json": json_path.as_posix(),
            "seeds": ", ".join(str(s) for s in plan.seeds), "n_seeds": len(plan.seeds),
            "job_seconds": seconds, "config": digest, "jobs": jobs, "n_jobs": len(jobs_list),
            "job_minutes": job_seconds / 60, "time_partial": ledger.partial,
            "time_note": cfg.get("time_note")}
    if not seconds and previous.get("config") == digest:  # nothing ran now: the numbers are the earlier code's
        meta.update(commit=previous.get("commit", meta["commit"]), date=previous.get("date", meta["date"]))
        if "earlier" in previous:
            meta["earlier"] = previous["earlier"]
    elif seconds and previous.get("commit") and _reused(results, seconds):
        # some numbers are from trainings an earlier invocation (its code) finished: say which code made those
        meta["earlier"] = previous.get("earlier") or {"commit": previous["commit"], "date": previous.get("date")}
    data = {"meta": meta, "results": results, **({"coercivity": part_record} if part_record else {}),
            **({"textures": textures_record} if textures_record else {})}
    write_json(json_path, data)
    write_csv(results, json_path.with_suffix(".csv"))
    path = render(data, cfg.out)
    echo(f"wrote {path}, {json_path} ({elapsed / 60:.1f} min)")
    return path


class _WallLedger:
    """Wall time of a study across its invocations, saved after every job event so that an interrupted
    invocation still counts. ``partial``: jobs were already done when the ledger was first opened (an
    earlier invocation that kept no ledger), so the total misses their wall time."""

    def __init__(self, path: Path, digest: str, untimed_work: bool, recorded: float = 0.0):
        self.path, self.digest, self.t0 = path, digest, time.perf_counter()
        data = json.loads(path.read_text()) if path.exists() else {}
        entry = data.get(digest)
        # without a ledger, the time a finished earlier invocation wrote into results.json is the best record
        self.base = float(entry["seconds"]) if entry else recorded
        self.partial = bool(entry["partial"]) if entry else untimed_work

    def update(self) -> float:
        total = self.base + time.perf_counter() - self.t0
        data = json.loads(self.path.read_text()) if self.path.exists() else {}
        data[self.digest] = {"seconds": total, "partial": self.partial}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(self.path)
        return total

    def wrap(self, echo):
        def echo_and_save(msg: str) -> None:
            echo(msg)
            self.update()
        return echo_and_save


def _reused(results: dict, seconds: dict) -> list[str]:
    """Entries with a run whose training did not run in this invocation."""
    return [eid for eid, r in results.items()
            if any(f"train/{eid}/seed{run['seed']}" not in seconds for run in r["runs"])]


def _portable(uri: str) -> str:
    """The store's URI as written into the report: relative to the project when it lies inside it."""
    return uri.replace(f"sqlite:///{ROOT.as_posix()}/", "sqlite:///")


def _marker_seconds(marker: Path) -> float:
    if not marker.exists():
        return 0.0
    try:
        return float(json.loads(marker.read_text()).get("seconds", 0.0))
    except (ValueError, AttributeError):
        return 0.0


def _config_digest(cfg: DictConfig) -> str:
    import hashlib

    bookkeeping = ("only", "render_only", "jobs", "time_note")  # they change what runs now, not what the numbers are
    keep = {k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k not in bookkeeping}
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()[:16]


@hydra.main(version_base="1.3", config_path=str(CONF), config_name="studies/results")
def main(cfg: DictConfig) -> None:
    run_study(cfg)
