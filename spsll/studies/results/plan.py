"""The study's jobs from its config: cross-model test data, one training per entry and seed, and the
evaluations of each run (the test split with noise; each other model's data).

Entry ids name the directories: ``<work_dir>/train/<id>/seed<s>`` holds the Hydra run directory of the
training (its ``mlflow_run.json`` gives the run id), ``<work_dir>/eval/<id>/seed<s>[_<solver>].json``
the evaluation summaries, ``<work_dir>/markers/`` the markers of finished jobs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from spsll.studies.results.jobs import Job

TASKS = {"forward": "dispersion", "inverse_dispersion": "dispersion", "inverse_domain_wall": "domain_wall"}
REPORTS = ("test", "validation")


@dataclass(frozen=True)
class Entry:
    id: str
    task: str
    label: str
    seeded: bool
    report: str
    train: tuple[str, ...]
    evaluate: tuple[str, ...]

    @property
    def kind(self) -> str:
        return TASKS[self.task]

    @property
    def inverse(self) -> bool:
        return self.task != "forward"

    @classmethod
    def from_config(cls, d: dict) -> Entry:
        unknown = set(d) - {"id", "task", "label", "seeded", "report", "train", "evaluate"}
        if unknown:
            raise ValueError(f"results entry {d.get('id')!r}: unknown keys {sorted(unknown)}")
        if any(str(o).split("=", 1)[0] in ("dataset", "dataset.path", "seed") for o in d.get("train") or ()):
            raise ValueError(f"results entry {d.get('id')!r}: its dataset and seed come from the study "
                             "(datasets, seeds); remove dataset=/dataset.path=/seed= from its train overrides")
        e = cls(str(d["id"]), str(d["task"]), str(d.get("label", d["id"])), bool(d.get("seeded", True)),
                str(d.get("report", "test")), tuple(d.get("train") or ()), tuple(d.get("evaluate") or ()))
        if e.task not in TASKS:
            raise ValueError(f"results entry {e.id}: task must be one of {sorted(TASKS)}, got {e.task!r}")
        if e.report not in REPORTS:
            raise ValueError(f"results entry {e.id}: report must be one of {REPORTS}, got {e.report!r}")
        if "/" in e.id or not e.id:
            raise ValueError(f"results entry id {e.id!r} must be a plain name")
        return e


def entries_of(cfg) -> list[Entry]:
    entries = [Entry.from_config(dict(d)) for d in cfg.entries]
    ids = [e.id for e in entries]
    if len(set(ids)) != len(ids):
        raise ValueError(f"results entry ids must be unique, got {ids}")
    only = list(cfg.get("only") or [])
    unknown = [o for o in only if o not in ids]
    if unknown:
        raise ValueError(f"only: unknown entry ids {unknown}; known: {ids}")
    return [e for e in entries if not only or e.id in only]


def seeds_of(entry: Entry, seeds) -> list[int]:
    return [int(s) for s in seeds] if entry.seeded else [0]


class Plan:
    """Paths and jobs of one study invocation."""

    def __init__(self, cfg, tracking_uri: str):
        self.cfg = cfg
        self.work = Path(cfg.work_dir)
        self.uri = tracking_uri
        self.entries = entries_of(cfg)
        self.seeds = [int(s) for s in cfg.seeds]
        if not self.seeds:
            raise ValueError("seeds must list at least one training seed")

    # -- paths -------------------------------------------------------------------------------------
    def run_dir(self, e: Entry, seed: int) -> Path:
        return self.work / "train" / e.id / f"seed{seed}"

    def eval_json(self, e: Entry, seed: int, solver: str | None = None) -> Path:
        return self.work / "eval" / e.id / (f"seed{seed}" + (f"_{solver}" if solver else "") + ".json")

    def cross_path(self, kind: str, solver: str) -> Path:
        return Path(str(self.cfg.cross_model.path).format(kind=kind, solver=solver))

    def marker(self, key: str) -> Path:
        return self.work / "markers" / (key.replace("/", "__") + ".json")

    def cross_solvers(self, kind: str) -> list[str]:
        return list(self.cfg.cross_model.solvers) if kind in list(self.cfg.cross_model.kinds) else []

    # -- jobs --------------------------------------------------------------------------------------
    def _job(self, key, argv, after=(), result=None) -> Job:
        log = self.work / "logs" / (key.replace("/", "__") + ".log")
        return Job(key, [str(a) for a in argv], self.marker(key), log, list(after), result)

    def generate_jobs(self) -> list[Job]:
        """The default data files, then each other model's re-simulation of their test points."""
        kinds = sorted({e.kind for e in self.entries})
        jobs = []
        for kind in kinds:
            ds = self.cfg.datasets[kind]
            path = ds.path
            jobs.append(self._job(f"generate/{kind}", ["generate.py", f"dataset={ds.group}", f"dataset.path={path}",
                                                       "threads=1", "progress=false"]))
            for solver in self.cross_solvers(kind):
                jobs.append(self._job(f"generate/{kind}_{solver}", [
                    "-m", "spsll.studies.results.cross_data", f"kind={kind}", f"solver={solver}",
                    f"source={path}", f"out={self.cross_path(kind, solver)}"], after=[f"generate/{kind}"]))
        return jobs

    def train_jobs(self) -> list[Job]:
        jobs = []
        for e in self.entries:
            for s in seeds_of(e, self.seeds):
                d = self.run_dir(e, s)
                ds = self.cfg.datasets[e.kind]
                argv = ["train.py", *e.train, f"dataset={ds.group}", f"dataset.path={ds.path}", f"seed={s}",
                        "threads=1", f"logger.tracking_uri={self.uri}", "trainer.enable_progress_bar=false",
                        f"hydra.run.dir={d}"]
                jobs.append(self._job(f"train/{e.id}/seed{s}", argv, after=[f"generate/{e.kind}"],
                                      result=lambda d=d: _run_record(d)))
        return jobs

    def run_id(self, e: Entry, seed: int) -> str:
        return json.loads(self.marker(f"train/{e.id}/seed{seed}").read_text())["run_id"]

    def eval_jobs(self) -> list[Job]:
        jobs = []
        for e in self.entries:
            if e.report != "test":
                continue
            noise = self._noise_overrides(e)
            for s in seeds_of(e, self.seeds):
                train_key = f"train/{e.id}/seed{s}"
                targets = [(None, [*noise])] + [(solver, [f"test_data={self.cross_path(e.kind, solver)}"])
                                                for solver in (self.cross_solvers(e.kind) if e.inverse else [])]
                for solver, extra in targets:
                    out = self.eval_json(e, s, solver)
                    key = f"eval/{e.id}/seed{s}" + (f"_{solver}" if solver else "")
                    # after the run's own evaluation: both write to the run, one at a time
                    after = [train_key] + ([f"generate/{e.kind}_{solver}", f"eval/{e.id}/seed{s}"] if solver else [])
                    argv = ["-m", "spsll.studies.results.evaluate_run", f"marker={self.marker(train_key)}",
                            f"output={out}", f"tracking_uri={self.uri}",
                            f"workdir={self.work / 'eval' / e.id / 'hydra'}", "--", *e.evaluate, *extra]
                    jobs.append(self._job(key, argv, after=after, result=lambda out=out: {"evaluation": str(out)}))
        return jobs

    def _noise_overrides(self, e: Entry) -> list[str]:
        if not e.inverse:
            return []
        if e.kind == "dispersion":
            levels = list(self.cfg.noise.dispersion_ghz)
            return [f"noise_ghz=[{','.join(str(v) for v in levels)}]"] if levels else []
        levels = list(self.cfg.noise.domain_wall_mz)
        return [f"noise_mz=[{','.join(str(v) for v in levels)}]"] if levels else []

    def all_jobs(self) -> list[Job]:
        return self.generate_jobs() + self.train_jobs() + self.eval_jobs()


def _run_record(run_dir: Path) -> dict:
    """The MLflow run a training wrote (train.py's ``mlflow_run.json`` in its output directory)."""
    rec = json.loads((run_dir / "mlflow_run.json").read_text())
    return {"run_id": rec["run_id"], "run_dir": str(run_dir)}


def test_points(path: str | Path) -> np.ndarray:
    """(σ, τ) nm of the test split of a dataset file, in file order."""
    with h5py.File(path, "r") as f:
        split = f["split"][:]
        return np.stack([f["sigma_nm"][:][split == 2], f["tau_nm"][:][split == 2]], 1)
