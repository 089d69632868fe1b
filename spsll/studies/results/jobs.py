"""Running the study's jobs as separate processes, a few at a time, resumably.

Each job is one command (``generate.py``, ``train.py``, ``evaluate.py``) run from the project root
with one torch thread, its output in a log file. A job that exits 0 leaves a marker (JSON) and is
skipped by a later invocation of the same study; a failed job is reported with the end of its log,
and the jobs that do not depend on it still run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from spsll.studies.common import ROOT


class StudyError(RuntimeError):
    """A job of the study failed (its log says why)."""


@dataclass
class Job:
    key: str                                  # e.g. "train/inverse_cnn/seed1"
    argv: list[str]                           # the command, without the interpreter
    marker: Path                              # written when the job succeeded
    log: Path
    after: list[str] = field(default_factory=list)  # keys of jobs that must succeed first
    result: Callable[[], dict] | None = None  # what the marker records (default: {})

    @property
    def done(self) -> bool:
        return self.marker.exists()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return env


def _tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def run_jobs(jobs: list[Job], parallel: int, echo: Callable[[str], None] = print) -> dict[str, float]:
    """Run the jobs not yet done, ``parallel`` at a time, respecting ``after``. Returns the seconds each
    job took; raises StudyError naming the failed jobs (and their log tails) at the end."""
    if parallel < 1:
        raise ValueError(f"jobs must be >= 1, got {parallel}")
    by_key = {j.key: j for j in jobs}
    for j in jobs:
        missing = [k for k in j.after if k not in by_key]
        if missing:
            raise ValueError(f"job {j.key} depends on unknown jobs {missing}")
    pending = [j for j in jobs if not j.done]
    echo(f"{len(jobs) - len(pending)} of {len(jobs)} jobs already done; {len(pending)} to run, {parallel} at a time")
    running: dict[str, tuple[subprocess.Popen, float, object]] = {}
    failed: dict[str, str] = {}
    seconds: dict[str, float] = {}
    while pending or running:
        blocked = [j for j in pending if any(k in failed for k in j.after)]
        for j in blocked:
            failed[j.key] = f"not run: it needs {', '.join(k for k in j.after if k in failed)}"
            pending.remove(j)
        ready = [j for j in pending if all(by_key[k].done for k in j.after)]
        while ready and len(running) < parallel:
            j = ready.pop(0)
            pending.remove(j)
            j.log.parent.mkdir(parents=True, exist_ok=True)
            fh = open(j.log, "w")
            proc = subprocess.Popen([sys.executable, *j.argv], cwd=ROOT, env=_env(), stdout=fh,
                                    stderr=subprocess.STDOUT)
            running[j.key] = (proc, time.perf_counter(), fh)
            echo(f"start  {j.key}")
        if not running:
            if pending:  # nothing can start: a dependency never finished
                for j in pending:
                    failed[j.key] = "not run: its dependencies did not finish"
                pending.clear()
            break
        time.sleep(0.5)
        for key, (proc, t0, fh) in list(running.items()):
            if proc.poll() is None:
                continue
            fh.close()
            del running[key]
            j = by_key[key]
            seconds[key] = time.perf_counter() - t0
            if proc.returncode == 0:
                try:
                    record = j.result() if j.result else {}
                except Exception as err:  # noqa: BLE001  (reported like a failed job)
                    failed[key] = f"finished but its result could not be read: {err}"
                    continue
                j.marker.parent.mkdir(parents=True, exist_ok=True)
                tmp = j.marker.with_suffix(".tmp")
                tmp.write_text(json.dumps({**record, "seconds": seconds[key]}, indent=1))
                tmp.replace(j.marker)
                echo(f"done   {key} ({seconds[key]:.0f} s)")
            else:
                failed[key] = f"exit code {proc.returncode}; log {j.log}:\n{_tail(j.log)}"
                echo(f"FAILED {key} (exit code {proc.returncode}, log {j.log})")
    if failed:
        raise StudyError(f"{len(failed)} job(s) failed:\n" + "\n\n".join(f"{k}: {v}" for k, v in failed.items()))
    return seconds


def read_marker(job: Job) -> dict:
    return json.loads(job.marker.read_text())


def run_record(run_dir: Path) -> dict:
    """The MLflow run a training wrote (train.py's ``mlflow_run.json`` in its output directory)."""
    rec = json.loads((Path(run_dir) / "mlflow_run.json").read_text())
    return {"run_id": rec["run_id"], "run_dir": str(run_dir)}
