"""The textures part of the results study (docs/results-protocol.md, section "Textures"): the study's entries of
``task: textures`` (the skyrmion models of docs/skyrmion-models.md) and their shared settings (``textures:`` of
conf/studies/results.yaml: the data file, its test points re-simulated by another solver, the m_z noise levels).
A study whose ``entries`` hold no textures entry has no textures jobs.

    generate/skyrmion                the skyrmion file every entry trains on (found done when it exists)
    generate/skyrmion_<solver>       its first ``max_samples`` test points (σ, τ, B) re-simulated under <solver>
                                     (:mod:`.cross_data`; rtn_ensemble: one explicit mosaic film per sample),
                                     in chunks of ``chunk_size`` samples: a stopped run resumes with little lost
    train/<entry>/seed<s>            networks per seed, baselines (``seeded: false``) once
    eval/<entry>/seed<s>             evaluate.py on the test split; inverse entries also at each ``noise_mz`` level
    eval/<entry>/seed<s>_<solver>    evaluate.py on the re-simulated points (``test_data=``), after the one above
                                     (both write to the run, one at a time)

The chain study's :class:`~.plan.Plan` gives the paths, seeds and store; its jobs are untouched. ``only`` takes
``textures`` (the whole part) or any of its entry ids (that entry and the jobs it needs).
"""

from __future__ import annotations

from dataclasses import dataclass

from spsll.studies.common import CONF
from spsll.studies.results import parts
from spsll.studies.results.jobs import Job, run_record
from spsll.studies.results.kinds import CrossModel

PART = "textures"
DATA = "skyrmion"                                  # the data key: generate/skyrmion, generate/skyrmion_<solver>
DIRECTIONS = ("forward", "inverse")
STUDY_SETS = ("dataset", "dataset.path", "seed", "solver")  # the study's, not an entry's


@dataclass(frozen=True)
class TexturesEntry:
    id: str
    label: str
    direction: str           # forward: (σ, τ, B) -> survival, radius | inverse: a survivor's image -> (σ, τ)
    seeded: bool
    train: tuple[str, ...]
    evaluate: tuple[str, ...]
    data: str = DATA
    report: str = "test"
    task: str = PART

    @classmethod
    def from_config(cls, d: dict) -> TexturesEntry:
        unknown = set(d) - {"id", "task", "label", "direction", "seeded", "train", "evaluate"}
        if unknown:
            raise ValueError(f"textures entry {d.get('id')!r}: unknown keys {sorted(unknown)}")
        if d.get("task") != PART:
            raise ValueError(f"textures entry {d.get('id')!r}: task must be {PART}, got {d.get('task')!r}")
        eid = str(d.get("id") or "")
        if not eid or "/" in eid or eid == PART:
            raise ValueError(f"textures entry id {eid!r} must be a plain name other than {PART}")
        if d.get("direction") not in DIRECTIONS:
            raise ValueError(f"textures entry {eid}: direction must be forward or inverse, got {d.get('direction')!r}")
        bad = [o for o in d.get("train") or () if str(o).split("=", 1)[0].lstrip("+~") in STUDY_SETS]
        if bad:
            raise ValueError(f"textures entry {eid}: {bad} are set by the study (textures.data, seeds; the solver "
                             "is the data's); remove them from its train overrides")
        return cls(eid, str(d.get("label", eid)), str(d["direction"]), bool(d.get("seeded", True)),
                   tuple(str(o) for o in d.get("train") or ()), tuple(str(o) for o in d.get("evaluate") or ()))


def part_config(cfg) -> dict | None:
    """``textures:`` of the study config as plain data, or None when the study has none."""
    return parts.part_config(cfg, PART)


def is_part_entry(d) -> bool:
    """An entry of the study's ``entries`` that belongs to this part (``task: textures``)."""
    return d.get("task") == PART


def part_entries(cfg) -> list[TexturesEntry]:
    """The study's textures entries (in config order)."""
    return parts.part_entries(cfg, PART, TexturesEntry.from_config, "data, cross_model, noise_mz")


def part_names(cfg) -> list[str]:
    """What ``only`` may name of this part: the part and every entry id (none without its entries)."""
    entries = part_entries(cfg)
    return [PART] + [e.id for e in entries] if entries else []


def _positive_or_none(what: str, value) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{what} must be null or an integer >= 1, got {value!r}")
    return value


class TexturesPlan:
    """The part's entries and jobs on the paths of the chain study's ``plan``."""

    def __init__(self, plan):
        self.plan = plan
        self.entries = part_entries(plan.cfg)
        self.enabled = bool(self.entries)
        if not self.enabled:
            self.selected: set[str] = set()
            return
        c = part_config(plan.cfg)
        unknown = set(c) - {"data", "cross_model", "noise_mz"}
        if unknown:
            raise ValueError(f"textures: unknown keys {sorted(unknown)}")
        self.data = self._data(c.get("data") or {})
        self.cross, self.cross_template = self._cross(c.get("cross_model") or {})
        self.noise_mz = self._noise(c.get("noise_mz") or [])
        ids = [e.id for e in self.entries]
        clash = sorted(set(ids) & {e.id for e in plan.all_entries})
        if clash:
            raise ValueError(f"textures: entry ids {clash} are not unique across the study")
        only = [str(o) for o in plan.cfg.get("only") or []]
        self.selected = set(ids) if not only or PART in only else set(ids) & set(only)

    # -- config ------------------------------------------------------------------------------------
    @staticmethod
    def _data(d: dict) -> dict:
        if set(d) - {"group", "path", "settings"} or not {"group", "path"} <= set(d):
            raise ValueError(f"textures.data needs group and path (and optionally settings), got {sorted(d)}")
        if not (CONF / "dataset" / f"{d['group']}.yaml").is_file():
            raise ValueError(f"textures.data.group: unknown dataset config group {d['group']!r} (conf/dataset/)")
        settings = [str(o) for o in d.get("settings") or ()]
        bad = [o for o in settings if "=" not in o or not o.startswith("dataset.") or o.startswith("dataset.path=")]
        if bad:
            raise ValueError(f"textures.data.settings: {bad} are not dataset.<key>=<value> overrides (the file is "
                             "textures.data.path)")
        return {"group": str(d["group"]), "path": str(d["path"]), "settings": settings}

    @staticmethod
    def _cross(d: dict) -> tuple[CrossModel, str]:
        unknown = set(d) - {"solvers", "max_samples", "chunk_size", "path", "settings"}
        if unknown:
            raise ValueError(f"textures.cross_model: unknown keys {sorted(unknown)}")
        solvers = tuple(str(s) for s in d.get("solvers") or ())
        missing = [s for s in solvers if not (CONF / "solver" / f"{s}.yaml").is_file()]
        if missing:
            raise ValueError(f"textures.cross_model.solvers: unknown solvers {missing} (conf/solver/)")
        path = str(d.get("path") or "")
        if solvers and "{solver}" not in path:
            raise ValueError(f"textures.cross_model.path must name the file per solver with {{solver}}, got {path!r}")
        settings = d.get("settings") or {}
        if set(settings) - set(solvers):
            raise ValueError(f"textures.cross_model.settings names solvers {sorted(set(settings) - set(solvers))} it "
                             f"does not re-simulate with (solvers: {list(solvers)})")
        cap = _positive_or_none("textures.cross_model.max_samples", d.get("max_samples"))
        chunk = _positive_or_none("textures.cross_model.chunk_size", d.get("chunk_size"))
        return CrossModel(solvers, DATA, cap, settings, chunk), path

    @staticmethod
    def _noise(levels) -> list[float]:
        out = []
        for v in levels:
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < float(v) < 1:
                raise ValueError(f"textures.noise_mz levels must be numbers in (0, 1) (m_z per cell), got {v!r}")
            out.append(float(v))
        if len(set(out)) != len(out):
            raise ValueError(f"textures.noise_mz lists a level twice: {out}")
        return out

    # -- paths -------------------------------------------------------------------------------------
    def overrides(self) -> list[str]:
        """generate.py / train.py overrides that select the data (the same for both: train.py refuses a file whose
        generation settings differ from its config)."""
        return [f"dataset={self.data['group']}", f"dataset.path={self.data['path']}", *self.data["settings"]]

    def cross_path(self, solver: str) -> str:
        return self.cross_template.format(solver=solver)

    def seeds(self, entry) -> list[int]:
        return list(self.plan.seeds) if entry.seeded else [0]

    # -- jobs --------------------------------------------------------------------------------------
    def all_jobs(self) -> list[Job]:
        """Every job of the part (whatever ``only`` says); :meth:`jobs` keeps those it needs."""
        if not self.enabled:
            return []
        p = self.plan
        jobs = [p._job(f"generate/{DATA}", ["generate.py", *self.overrides(), "threads=1", "progress=false"])]
        for solver in self.cross.solvers:
            jobs.append(p._job(f"generate/{DATA}_{solver}", [
                "-m", "spsll.studies.results.cross_data", f"kind={DATA}", f"solver={solver}",
                f"source={self.data['path']}", f"out={self.cross_path(solver)}", *self.cross.arguments(solver)],
                after=[f"generate/{DATA}"]))
        noise = [f"noise_mz=[{','.join(f'{v:g}' for v in self.noise_mz)}]"] if self.noise_mz else []
        for e in self.entries:
            for s in self.seeds(e):
                train_key, d = f"train/{e.id}/seed{s}", p.run_dir(e, s)
                argv = ["train.py", *e.train, *self.overrides(), f"seed={s}", "threads=1",
                        f"logger.tracking_uri={p.uri}", "trainer.enable_progress_bar=false", f"hydra.run.dir={d}"]
                jobs.append(p._job(train_key, argv, after=[f"generate/{DATA}"], result=lambda d=d: run_record(d)))
                targets = [(None, noise if e.direction == "inverse" else [])]
                targets += [(solver, [f"test_data={self.cross_path(solver)}"]) for solver in self.cross.solvers]
                for solver, extra in targets:
                    out = p.eval_json(e, s, solver)
                    key = f"eval/{e.id}/seed{s}" + (f"_{solver}" if solver else "")
                    after = [train_key] + ([f"generate/{DATA}_{solver}", f"eval/{e.id}/seed{s}"] if solver else [])
                    argv = ["-m", "spsll.studies.results.evaluate_run", f"marker={p.marker(train_key)}",
                            f"output={out}", f"tracking_uri={p.uri}", f"workdir={p.work / 'eval' / e.id / 'hydra'}",
                            "--", *e.evaluate, *extra]
                    jobs.append(p._job(key, argv, after=after, result=lambda out=out: {"evaluation": str(out)}))
        return jobs

    def jobs(self) -> list[Job]:
        """The jobs ``only`` selects (everything without ``only`` or with ``textures``), and the jobs they need."""
        every = self.all_jobs()
        by_key = {j.key: j for j in every}
        wanted = [j.key for j in every if not j.key.startswith("generate/") and j.key.split("/")[1] in self.selected]
        keep: set[str] = set()
        while wanted:
            key = wanted.pop()
            if key not in keep:
                keep.add(key)
                wanted += by_key[key].after
        return [j for j in every if j.key in keep]
