"""The coercivity part of the results study (docs/results-protocol.md, section "Coercivity"): the study's entries
of ``task: coercivity`` and their shared settings (``coercivity:`` of conf/studies/results.yaml: the data files,
the VAE's candidate latent sizes, the morphing), and their jobs, which depend on each other across entries. A study
whose ``entries`` hold no coercivity entry has no coercivity jobs (no VAE, no morphing).

    generate/<data>                  the masks (microstructures) and the chains (hysteresis)
    train/mask_vae_latent<k>/seed0   one VAE per candidate latent size k, seed 0 (validation numbers only)
    train/mask_vae/seed0             the choice (:mod:`.select_vae`): the candidate with the smallest validation
                                     BCE per cell, or the smallest k within ``tolerance`` of it; its run *is* the
                                     seed-0 VAE of the chosen size (the same config and seed: not trained twice)
    train/mask_vae/seed<s>           the chosen size for the other seeds (``model.latent_dim`` read at run time)
    train/<entry>/seed<s>            networks per seed, baselines once; ``encoder: seed`` reads that seed's VAE,
                                     ``encoder: seed0`` the seed-0 VAE (``model.encoder`` = its run id, read from
                                     the VAE's train marker at run time by :mod:`.with_runs`)
    eval/<id>/seed<s>                evaluate.py on every reported run: the test split, once
    morphing/seed0                   ``python -m spsll.studies.morphing`` on the seed-0 VAE, regressor and GP

The chain study's :class:`~.plan.Plan` gives the paths, seeds and store; its jobs are untouched. ``only`` takes
``coercivity`` (the whole part) or any of its entry ids (that entry and the jobs it needs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from spsll.studies.results import parts
from spsll.studies.results.jobs import Job, run_record

PART = "coercivity"
VAE = "mask_vae"
DATA = ("microstructures", "hysteresis")           # the VAE's masks, the regressors' chains
ENCODERS = (None, "seed", "seed0")
STUDY_SETS = ("dataset", "dataset.path", "seed", "model.encoder", "model.latent_dim")  # the study's, not an entry's


@dataclass(frozen=True)
class CoercivityEntry:
    id: str
    label: str
    column: str              # the column of the per-target table (single-target networks share one)
    seeded: bool
    encoder: str | None      # None | seed | seed0
    train: tuple[str, ...]
    evaluate: tuple[str, ...]
    data: str = "hysteresis"
    report: str = "test"
    task: str = PART

    @classmethod
    def from_config(cls, d: dict) -> CoercivityEntry:
        unknown = set(d) - {"id", "task", "label", "column", "seeded", "encoder", "train", "evaluate"}
        if unknown:
            raise ValueError(f"coercivity entry {d.get('id')!r}: unknown keys {sorted(unknown)}")
        if d.get("task") != PART:
            raise ValueError(f"coercivity entry {d.get('id')!r}: task must be {PART}, got {d.get('task')!r}")
        eid = str(d.get("id") or "")
        if not eid or "/" in eid or eid == VAE or eid.startswith(f"{VAE}_latent"):
            raise ValueError(f"coercivity entry id {eid!r} must be a plain name other than {VAE}[_latent<k>]")
        _check_overrides(f"coercivity entry {eid}", d.get("train") or ())
        enc = d.get("encoder")
        if enc not in ENCODERS:
            raise ValueError(f"coercivity entry {eid}: encoder must be null, seed or seed0, got {enc!r}")
        label = str(d.get("label", eid))
        return cls(eid, label, str(d.get("column") or label), bool(d.get("seeded", True)), enc,
                   tuple(str(o) for o in d.get("train") or ()), tuple(str(o) for o in d.get("evaluate") or ()))


def _check_overrides(what: str, overrides) -> None:
    bad = [o for o in overrides if str(o).split("=", 1)[0].lstrip("+~") in STUDY_SETS]
    if bad:
        raise ValueError(f"{what}: {bad} are set by the study (data, seeds, the VAE's run and latent size); remove "
                         "them from its train overrides")


def part_config(cfg) -> dict | None:
    """``coercivity:`` of the study config as plain data, or None when the study has none."""
    return parts.part_config(cfg, PART)


def is_part_entry(d) -> bool:
    """An entry of the study's ``entries`` that belongs to this part (``task: coercivity``)."""
    return d.get("task") == PART


def part_entries(cfg) -> list[CoercivityEntry]:
    """The study's coercivity entries (in config order)."""
    return parts.part_entries(cfg, PART, CoercivityEntry.from_config, "data, vae, morphing")


def part_names(cfg) -> list[str]:
    """What ``only`` may name of this part: the part, the VAE and every entry id (none without its entries)."""
    entries = part_entries(cfg)
    if not entries:
        return []
    dims = (part_config(cfg).get("vae") or {}).get("latent_dims") or []
    return [PART, VAE] + [f"{VAE}_latent{k}" for k in dims] + [e.id for e in entries]


@dataclass(frozen=True)
class VAEEntry:
    """A VAE entry: the candidates (``mask_vae_latent<k>``, seed 0, validation only) and ``mask_vae``."""
    id: str
    label: str
    seeded: bool
    report: str
    latent_dim: int | None = None    # a candidate's size (None: the chosen one)
    data: str = "microstructures"
    task: str = PART
    column: str = ""


class CoercivityPlan:
    """The part's entries and jobs on the paths of the chain study's ``plan``."""

    def __init__(self, plan):
        self.plan = plan
        c = part_config(plan.cfg)
        self.entries = part_entries(plan.cfg)
        self.enabled = bool(self.entries)
        if not self.enabled:
            self.entries, self.vae_entries, self.selected = [], [], set()
            return
        unknown = set(c) - {"data", "vae", "morphing"}
        if unknown:
            raise ValueError(f"coercivity: unknown keys {sorted(unknown)}")
        self.data = self._data(c.get("data") or {})
        self.vae = self._vae(c.get("vae") or {})
        self.vae_entries = [VAEEntry(f"{VAE}_latent{k}", f"mask_vae, latent {k} (candidate)", False, "validation", k)
                            for k in self.vae["latent_dims"]]
        self.vae_entries.append(VAEEntry(VAE, "mask_vae (the chosen latent size)", True, "test"))
        ids = [e.id for e in self.vae_entries + self.entries]
        clash = sorted({i for i in ids if ids.count(i) > 1} | (set(ids) & {e.id for e in plan.all_entries}))
        if clash:
            raise ValueError(f"coercivity: entry ids {clash} are not unique across the study")
        self.morphing = self._morphing(c.get("morphing"))
        if 0 not in plan.seeds:
            raise ValueError(f"seeds must include 0 for the coercivity part (the seed of the VAE's latent-size "
                             f"choice, of the baselines and of the morphing), got {plan.seeds}")
        only = [str(o) for o in plan.cfg.get("only") or []]
        self.selected = set(ids) if not only or PART in only else set(ids) & set(only)

    # -- config ------------------------------------------------------------------------------------
    @staticmethod
    def _data(d: dict) -> dict[str, dict]:
        if set(d) != set(DATA):
            raise ValueError(f"coercivity.data must name {list(DATA)}, got {sorted(d)}")
        out = {}
        for key, v in d.items():
            if set(v) - {"group", "path", "settings"} or not {"group", "path"} <= set(v):
                raise ValueError(f"coercivity.data.{key} needs group and path (and optionally settings), "
                                 f"got {sorted(v)}")
            settings = [str(o) for o in v.get("settings") or ()]
            bad = [o for o in settings if "=" not in o or not o.startswith("dataset.") or o.startswith("dataset.path=")]
            if bad:
                raise ValueError(f"coercivity.data.{key}.settings: {bad} are not dataset.<key>=<value> overrides "
                                 f"(the file is coercivity.data.{key}.path)")
            out[key] = {"group": str(v["group"]), "path": str(v["path"]), "settings": settings}
        return out

    @staticmethod
    def _vae(v: dict) -> dict:
        unknown = set(v) - {"latent_dims", "tolerance", "train", "evaluate"}
        if unknown:
            raise ValueError(f"coercivity.vae: unknown keys {sorted(unknown)}")
        dims = v.get("latent_dims") or []
        if not dims or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in dims) \
                or len(set(dims)) != len(dims):
            raise ValueError(f"coercivity.vae.latent_dims must list distinct integers >= 1, got {dims!r}")
        tol = v.get("tolerance", 0.0)
        if isinstance(tol, bool) or not isinstance(tol, int | float) or not 0 <= tol < 1:
            raise ValueError(f"coercivity.vae.tolerance must be a number in [0, 1), got {tol!r}")
        _check_overrides("coercivity.vae", v.get("train") or ())
        return {"latent_dims": [int(k) for k in dims], "tolerance": float(tol),
                "train": [str(o) for o in v.get("train") or ()], "evaluate": [str(o) for o in v.get("evaluate") or ()]}

    def _morphing(self, m: dict | None) -> dict | None:
        if m is None:
            return None
        unknown = set(m) - {"regressor", "gp", "out", "settings"}
        if unknown:
            raise ValueError(f"coercivity.morphing: unknown keys {sorted(unknown)}")
        by_id = {e.id: e for e in self.entries}
        for key in ("regressor", "gp"):
            if m.get(key) is not None and m[key] not in by_id:
                raise ValueError(f"coercivity.morphing.{key}: {m[key]!r} is no coercivity entry ({sorted(by_id)})")
        if m.get("regressor") is None or not m.get("out"):
            raise ValueError("coercivity.morphing needs regressor (an entry id) and out (the report)")
        return {"regressor": str(m["regressor"]), "gp": m.get("gp"), "out": str(m["out"]),
                "settings": [str(o) for o in m.get("settings") or ()]}

    # -- paths -------------------------------------------------------------------------------------
    def overrides(self, data: str) -> list[str]:
        d = self.data[data]
        return [f"dataset={d['group']}", f"dataset.path={d['path']}", *d["settings"]]

    @property
    def selection_json(self) -> Path:
        return self.plan.work / "coercivity" / "vae_selection.json"

    @staticmethod
    def morphing_json(out: str | Path) -> Path:
        """The JSON ``python -m spsll.studies.morphing out=<out>`` writes beside its report."""
        out = Path(out)
        return out.parent / out.stem / "morphing.json"

    def train_marker(self, eid: str, seed: int) -> Path:
        return self.plan.marker(f"train/{eid}/seed{seed}")

    # -- jobs --------------------------------------------------------------------------------------
    def _train_argv(self, entry, seed: int, train: list[str], data: str, from_markers: list[str]) -> list[str]:
        d = self.plan.run_dir(entry, seed)
        argv = ["train.py", *train, *self.overrides(data), f"seed={seed}", "threads=1",
                f"logger.tracking_uri={self.plan.uri}", "trainer.enable_progress_bar=false", f"hydra.run.dir={d}"]
        return ["-m", "spsll.studies.results.with_runs", *from_markers, "--", *argv] if from_markers else argv

    def _train_job(self, entry, seed: int, train, data: str, after: list[str], from_markers=()) -> Job:
        d = self.plan.run_dir(entry, seed)
        return self.plan._job(f"train/{entry.id}/seed{seed}", self._train_argv(entry, seed, list(train), data,
                                                                              list(from_markers)),
                              after=after, result=lambda d=d: run_record(d))

    def _eval_job(self, entry, seed: int, evaluate) -> Job:
        train_key = f"train/{entry.id}/seed{seed}"
        out = self.plan.eval_json(entry, seed)
        argv = ["-m", "spsll.studies.results.evaluate_run", f"marker={self.plan.marker(train_key)}", f"output={out}",
                f"tracking_uri={self.plan.uri}", f"workdir={self.plan.work / 'eval' / entry.id / 'hydra'}", "--",
                *evaluate]
        return self.plan._job(f"eval/{entry.id}/seed{seed}", argv, after=[train_key],
                              result=lambda out=out: {"evaluation": str(out)})

    def seeds(self, entry) -> list[int]:
        return list(self.plan.seeds) if entry.seeded else [0]

    def all_jobs(self) -> list[Job]:
        """Every job of the part (whatever ``only`` says); :meth:`jobs` keeps those it needs."""
        if not self.enabled:
            return []
        jobs = [self.plan._job(f"generate/{key}", ["generate.py", *self.overrides(key), "threads=1", "progress=false"])
                for key in DATA]
        for cand in self.vae_entries[:-1]:
            jobs.append(self._train_job(cand, 0, [*self.vae["train"], f"model.latent_dim={cand.latent_dim}"],
                                        "microstructures", ["generate/microstructures"]))
        jobs.append(self._select_job())
        vae = self.vae_entries[-1]
        for s in self.seeds(vae)[1:]:
            jobs.append(self._train_job(vae, s, self.vae["train"], "microstructures", [f"train/{VAE}/seed0"],
                                        [f"model.latent_dim={self.train_marker(VAE, 0)}#latent_dim"]))
        jobs += [self._eval_job(vae, s, self.vae["evaluate"]) for s in self.seeds(vae)]
        for e in self.entries:
            for s in self.seeds(e):
                after, markers = ["generate/hysteresis"], []
                if e.encoder:
                    vae_seed = s if e.encoder == "seed" else 0
                    after.append(f"train/{VAE}/seed{vae_seed}")
                    markers.append(f"model.encoder={self.train_marker(VAE, vae_seed)}")
                jobs.append(self._train_job(e, s, e.train, "hysteresis", after, markers))
                jobs.append(self._eval_job(e, s, e.evaluate))
        if self.morphing:
            jobs.append(self._morphing_job())
        return jobs

    def _select_job(self) -> Job:
        cands = self.vae_entries[:-1]
        argv = ["-m", "spsll.studies.results.select_vae", f"out={self.selection_json}", f"tracking_uri={self.plan.uri}",
                f"tolerance={self.vae['tolerance']}",
                *[f"candidate={c.latent_dim}:{self.train_marker(c.id, 0)}" for c in cands]]
        path = self.selection_json
        return self.plan._job(f"train/{VAE}/seed0", argv, after=[f"train/{c.id}/seed0" for c in cands],
                              result=lambda: json.loads(path.read_text())["chosen"])

    def _morphing_job(self) -> Job:
        m = self.morphing
        runs = {"vae_run": VAE, "regressor_run": m["regressor"], **({"gp_run": m["gp"]} if m["gp"] else {})}
        out = m["out"]
        argv = ["-m", "spsll.studies.results.with_runs",
                *[f"{k}={self.train_marker(eid, 0)}" for k, eid in runs.items()], "--",
                "-m", "spsll.studies.morphing", f"tracking_uri={self.plan.uri}", f"out={out}", "threads=1",
                f"hydra.run.dir={self.plan.work / 'morphing' / 'hydra'}", *m["settings"]]
        path = self.morphing_json(out)
        return self.plan._job("morphing/seed0", argv, after=[f"train/{eid}/seed0" for eid in runs.values()],
                              result=lambda: {"report": out, "json": str(path)})

    def jobs(self) -> list[Job]:
        """The jobs ``only`` selects (everything without ``only`` or with ``coercivity``), and the jobs they
        need; the morphing runs with the whole part."""
        every = self.all_jobs()
        by_key = {j.key: j for j in every}
        only = [str(o) for o in self.plan.cfg.get("only") or []]
        whole = not only or PART in only
        wanted = [j.key for j in every if (j.key.split("/")[1] in self.selected and not j.key.startswith("generate/"))
                  or (whole and j.key.startswith("morphing/"))]
        keep: set[str] = set()
        while wanted:
            key = wanted.pop()
            if key not in keep:
                keep.add(key)
                wanted += by_key[key].after
        return [j for j in every if j.key in keep]
