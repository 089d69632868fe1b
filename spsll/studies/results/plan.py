"""The study's jobs from its config: cross-model test data, one training per entry and seed, and the
evaluations of each run (the test split with noise; each other model's data).

Entry ids name the directories: ``<work_dir>/train/<id>/seed<s>`` holds the Hydra run directory of the
training (its ``mlflow_run.json`` gives the run id), ``<work_dir>/eval/<id>/seed<s>[_<solver>].json``
the evaluation summaries, ``<work_dir>/markers/`` the markers of finished jobs. An entry reads the data
of its ``data`` kind (:mod:`.kinds`; default: the chain dataset of its task). The coercivity part
(``coercivity:``), whose jobs depend on each other across entries, is planned by :mod:`.coercivity_plan` on
the same paths, and so is the textures part (``textures:``, the skyrmion models) by :mod:`.textures_plan`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from spsll.studies.results import textures_plan
from spsll.studies.results.coercivity_plan import is_part_entry, part_names
from spsll.studies.results.jobs import Job, run_record
from spsll.studies.results.kinds import cross_models, cross_path, data_kinds

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
    data: str = ""           # the datasets key it trains and is scored on ("": its task's chain dataset)

    def __post_init__(self):
        if not self.data:
            object.__setattr__(self, "data", TASKS.get(self.task, ""))

    @property
    def kind(self) -> str:
        """dispersion | domain_wall: what its model reads."""
        return TASKS[self.task]

    @property
    def inverse(self) -> bool:
        return self.task != "forward"

    @classmethod
    def from_config(cls, d: dict) -> Entry:
        unknown = set(d) - {"id", "task", "label", "seeded", "report", "train", "evaluate", "data"}
        if unknown:
            raise ValueError(f"results entry {d.get('id')!r}: unknown keys {sorted(unknown)}")
        if any(str(o).split("=", 1)[0] in ("dataset", "dataset.path", "seed", "solver") for o in d.get("train") or ()):
            raise ValueError(f"results entry {d.get('id')!r}: its dataset and seed come from the study "
                             "(data, datasets, seeds), and so does its solver; remove dataset=/dataset.path=/solver=/"
                             "seed= from its train overrides")
        e = cls(str(d["id"]), str(d["task"]), str(d.get("label", d["id"])), bool(d.get("seeded", True)),
                str(d.get("report", "test")), tuple(d.get("train") or ()), tuple(d.get("evaluate") or ()),
                str(d.get("data") or ""))
        if e.task not in TASKS:
            raise ValueError(f"results entry {e.id}: task must be one of {sorted(TASKS)}, got {e.task!r}")
        if e.report not in REPORTS:
            raise ValueError(f"results entry {e.id}: report must be one of {REPORTS}, got {e.report!r}")
        if "/" in e.id or not e.id:
            raise ValueError(f"results entry id {e.id!r} must be a plain name")
        return e


def entries_of(cfg, *, selected: bool = True) -> list[Entry]:
    """The entries of the config (``selected``: only those ``only`` names, by id or by data kind, when given),
    without those of the coercivity and textures parts (``task: coercivity``, ``task: textures``:
    :mod:`.coercivity_plan` and :mod:`.textures_plan` plan them; ``only`` may name them)."""
    entries = [Entry.from_config(dict(d)) for d in cfg.entries
               if not is_part_entry(d) and not textures_plan.is_part_entry(d)]
    ids = [str(d.get("id")) for d in cfg.entries]
    if len(set(ids)) != len(ids):
        raise ValueError(f"results entry ids must be unique, got {ids}")
    kinds = [str(k) for k in cfg.datasets]
    if set(ids) & set(kinds):
        raise ValueError(f"results entry ids {sorted(set(ids) & set(kinds))} are also datasets kinds: `only` could "
                         "not tell them apart")
    only = [str(o) for o in cfg.get("only") or []]
    part = part_names(cfg)  # the coercivity part's (spsll/studies/results/coercivity_plan.py): its own jobs
    textures = textures_plan.part_names(cfg)  # likewise the textures part's (textures_plan.py)
    unknown = [o for o in only if o not in ids and o not in kinds and o not in part and o not in textures]
    if unknown:
        raise ValueError(f"only: unknown entry ids or data kinds {unknown}; entries: {ids}; kinds: {kinds}"
                         + (f"; coercivity: {part}" if part else "") + (f"; textures: {textures}" if textures else ""))
    return [e for e in entries if not selected or not only or e.id in only or e.data in only]


def seeds_of(entry: Entry, seeds) -> list[int]:
    return [int(s) for s in seeds] if entry.seeded else [0]


class Plan:
    """Paths and jobs of one study invocation: ``entries`` are run (those of ``only``), ``all_entries``
    are collected into the report (what earlier invocations finished stays in it)."""

    def __init__(self, cfg, tracking_uri: str):
        self.cfg = cfg
        self.work = Path(cfg.work_dir)
        self.uri = tracking_uri
        self.all_entries = entries_of(cfg, selected=False)
        self.entries = entries_of(cfg)
        self.seeds = [int(s) for s in cfg.seeds]
        if not self.seeds:
            raise ValueError("seeds must list at least one training seed")
        self.kinds = data_kinds(cfg)
        self.cross = cross_models(cfg, self.kinds)
        for e in self.all_entries:
            if e.data not in self.kinds:
                raise ValueError(f"results entry {e.id}: data {e.data!r} is not in datasets ({sorted(self.kinds)})")
            if self.kinds[e.data].kind != e.kind:
                raise ValueError(f"results entry {e.id}: task {e.task} reads {e.kind} data, but datasets.{e.data} "
                                 f"(group {self.kinds[e.data].group}) is {self.kinds[e.data].kind} data")

    # -- paths -------------------------------------------------------------------------------------
    def run_dir(self, e: Entry, seed: int) -> Path:
        return self.work / "train" / e.id / f"seed{seed}"

    def eval_json(self, e: Entry, seed: int, solver: str | None = None) -> Path:
        return self.work / "eval" / e.id / (f"seed{seed}" + (f"_{solver}" if solver else "") + ".json")

    def cross_path(self, data: str, solver: str) -> Path:
        """The file of ``data``'s test points under ``solver`` (the shared kind's, for one that shares)."""
        return cross_path(self.cfg, self.cross[data].shared_with, solver)

    def marker(self, key: str) -> Path:
        return self.work / "markers" / (key.replace("/", "__") + ".json")

    def cross_solvers(self, data: str) -> list[str]:
        return list(self.cross[data].solvers) if data in self.cross else []

    def cross_job(self, data: str, solver: str) -> str:
        return f"generate/{self.cross[data].shared_with}_{solver}"

    # -- jobs --------------------------------------------------------------------------------------
    def _job(self, key, argv, after=(), result=None) -> Job:
        log = self.work / "logs" / (key.replace("/", "__") + ".log")
        return Job(key, [str(a) for a in argv], self.marker(key), log, list(after), result)

    def generate_jobs(self) -> list[Job]:
        """The entries' data files, then each other model's re-simulation of their test points (once per
        kind whose test points others share)."""
        used = {e.data for e in self.entries}
        keys = sorted(used | {self.cross[d].shared_with for d in used if d in self.cross})
        jobs = []
        for key in keys:
            dk = self.kinds[key]
            jobs.append(self._job(f"generate/{key}", ["generate.py", *dk.overrides(), "threads=1", "progress=false"]))
            if key not in self.cross or self.cross[key].shared_with != key:
                continue
            for solver in self.cross_solvers(key):
                jobs.append(self._job(self.cross_job(key, solver), [
                    "-m", "spsll.studies.results.cross_data", f"kind={dk.kind}", f"solver={solver}",
                    f"source={dk.path}", f"out={self.cross_path(key, solver)}", *self.cross[key].arguments(solver)],
                    after=[f"generate/{key}"]))
        return jobs

    def train_jobs(self) -> list[Job]:
        jobs = []
        for e in self.entries:
            for s in seeds_of(e, self.seeds):
                d = self.run_dir(e, s)
                argv = ["train.py", *e.train, *self.kinds[e.data].overrides(), f"seed={s}",
                        "threads=1", f"logger.tracking_uri={self.uri}", "trainer.enable_progress_bar=false",
                        f"hydra.run.dir={d}"]
                jobs.append(self._job(f"train/{e.id}/seed{s}", argv, after=[f"generate/{e.data}"],
                                      result=lambda d=d: run_record(d)))
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
                targets = [(None, [*noise])] + [(solver, [f"test_data={self.cross_path(e.data, solver)}"])
                                                for solver in (self.cross_solvers(e.data) if e.inverse else [])]
                for solver, extra in targets:
                    out = self.eval_json(e, s, solver)
                    key = f"eval/{e.id}/seed{s}" + (f"_{solver}" if solver else "")
                    # after the run's own evaluation: both write to the run, one at a time
                    after = [train_key] + ([self.cross_job(e.data, solver), f"eval/{e.id}/seed{s}"] if solver else [])
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


def test_points(path: str | Path) -> np.ndarray:
    """(σ, τ) nm of the test split of a dataset file, in file order; for a skyrmion file (σ, τ, B) with B in T,
    the third coordinate of its plan (its explicit points are [σ, τ, B])."""
    with h5py.File(path, "r") as f:
        test = f["split"][:] == 2
        columns = ["sigma_nm", "tau_nm"] + (["B_T"] if f.attrs.get("kind") == "skyrmion" else [])
        return np.stack([f[c][:][test] for c in columns], 1)
