"""The study's data: its kinds (``datasets``: a dataset config group, its file and the solver that makes
it) and the other models' re-simulations of their test points (``cross_model``).

A kind's key names its jobs (``generate/<key>``, ``generate/<key>_<solver>``) and the cross-model files
(``cross_model.path`` with ``{kind}`` = the key). Kinds of the same dataset group and seed hold the same
test points whatever their solver, so one may score on another's cross-model files
(``cross_model.per_kind.<key>.shared_with``): the explicit-vacancy films are made once for both readings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from omegaconf import OmegaConf

from spsll.studies.common import CONF

KINDS = ("dispersion", "domain_wall")


def group_config(group: str) -> dict:
    """``conf/dataset/<group>.yaml`` merged over its defaults, as Hydra composes it (``_self_`` last
    unless placed)."""
    path = CONF / "dataset" / f"{group}.yaml"
    if not path.is_file():
        raise ValueError(f"unknown dataset config group {group!r}: no {path}")
    own = yaml.safe_load(path.read_text()) or {}
    defaults = list(own.pop("defaults", None) or [])
    if "_self_" not in defaults:
        defaults.append("_self_")
    merged = OmegaConf.create({})
    for item in defaults:
        if not isinstance(item, str):
            raise ValueError(f"{path}: only plain defaults (other dataset groups, _self_) are read, got {item!r}")
        merged = OmegaConf.merge(merged, own if item == "_self_" else group_config(item))
    return OmegaConf.to_container(merged)


@dataclass(frozen=True)
class DataKind:
    key: str               # datasets.<key>
    group: str             # conf/dataset/<group>.yaml
    path: str              # the file every training of this kind reads
    solver: str | None     # conf/solver/<solver>.yaml; None: generate.py's and train.py's default (spsll)
    kind: str              # dispersion | domain_wall, from the group
    n_rows: int            # rows of the film (1: a chain)
    settings: tuple[str, ...] = ()  # dataset.<key>=... / solver.<key>=... on top of the group and solver

    @property
    def dataset_settings(self) -> tuple[str, ...]:
        return tuple(sorted(o for o in self.settings if o.startswith("dataset.")))

    @property
    def film(self) -> bool:
        return self.n_rows > 1

    def overrides(self) -> list[str]:
        """generate.py / train.py overrides that select this data (the same for both: train.py refuses a
        file whose generation settings differ from its config)."""
        return ([f"dataset={self.group}", f"dataset.path={self.path}"] + ([f"solver={self.solver}"] if self.solver
                                                                          else []) + list(self.settings))


def data_kinds(cfg) -> dict[str, DataKind]:
    out = {}
    for key, d in OmegaConf.to_container(cfg.datasets, resolve=True).items():
        unknown = set(d) - {"group", "path", "solver", "settings"}
        if unknown or not {"group", "path"} <= set(d):
            raise ValueError(f"datasets.{key} needs group and path (and optionally solver, settings), got {sorted(d)}")
        solver = d.get("solver")
        if solver is not None and not (CONF / "solver" / f"{solver}.yaml").is_file():
            raise ValueError(f"datasets.{key}.solver: unknown solver {solver!r} (conf/solver/)")
        settings = tuple(str(o) for o in d.get("settings") or ())
        bad = [o for o in settings if "=" not in o or not o.startswith(("dataset.", "solver."))
               or o.split("=", 1)[0] == "dataset.path"]
        if bad:
            raise ValueError(f"datasets.{key}.settings: {bad} are not dataset.<key>=<value> or solver.<key>=<value> "
                             f"overrides (the file is datasets.{key}.path)")
        group = group_config(str(d["group"]))
        if group.get("kind") not in KINDS:
            raise ValueError(f"datasets.{key}.group {d['group']!r} is no dataset of kind {' or '.join(KINDS)}")
        group = OmegaConf.to_container(OmegaConf.merge(
            group, OmegaConf.from_dotlist([o.removeprefix("dataset.") for o in settings if o.startswith("dataset.")])))
        rows = int((group.get("measurement") or {}).get("n_rows", 1))
        out[key] = DataKind(str(key), str(d["group"]), str(d["path"]), solver, group["kind"], rows, settings)
    return out


@dataclass(frozen=True)
class CrossModel:
    """The other models' data a kind is scored on."""
    solvers: tuple[str, ...] = ()
    shared_with: str = ""                   # the kind whose test points are re-simulated (its own key by default)
    max_samples: int | None = None          # only the first n test points (null: all)
    settings: dict = field(default_factory=dict)  # per solver: {key: value} on top of conf/solver/<solver>.yaml
    chunk_size: int | None = None           # samples per written chunk (null: the source's): resumable costly runs

    def arguments(self, solver: str) -> list[str]:
        """cross_data's arguments beyond kind/solver/source/out (none for a kind without settings)."""
        args = [] if self.max_samples is None else [f"max_samples={self.max_samples}"]
        args += [] if self.chunk_size is None else [f"chunk_size={self.chunk_size}"]
        return args + [f"solver.{k}={v}" for k, v in (self.settings.get(solver) or {}).items()]


def cross_models(cfg, kinds: dict[str, DataKind]) -> dict[str, CrossModel]:
    """Per kind that has any: ``cross_model.kinds`` get ``cross_model.solvers`` on every test point;
    ``cross_model.per_kind.<key>`` sets a kind's own solvers, cap, solver settings or ``shared_with``."""
    cm = cfg.cross_model
    default = tuple(str(s) for s in cm.solvers)
    out = {str(k): CrossModel(default, str(k)) for k in cm.kinds}
    per_kind = OmegaConf.to_container(cm.per_kind, resolve=True) if cm.get("per_kind") else {}
    for key, d in per_kind.items():
        unknown = set(d) - {"solvers", "shared_with", "max_samples", "settings", "chunk_size"}
        if unknown:
            raise ValueError(f"cross_model.per_kind.{key}: unknown keys {sorted(unknown)}")
        if "shared_with" in d and len(d) > 1:
            raise ValueError(f"cross_model.per_kind.{key}: shared_with takes the other kind's settings; "
                             f"remove {sorted(set(d) - {'shared_with'})}")
        cap = d.get("max_samples")
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ValueError(f"cross_model.per_kind.{key}.max_samples must be null or an integer >= 1, got {cap!r}")
        chunk = d.get("chunk_size")
        if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
            raise ValueError(f"cross_model.per_kind.{key}.chunk_size must be null or an integer >= 1, got {chunk!r}")
        solvers = tuple(str(s) for s in d.get("solvers", default))
        settings = d.get("settings") or {}
        if set(settings) - set(solvers):
            raise ValueError(f"cross_model.per_kind.{key}.settings names solvers {sorted(set(settings) - set(solvers))}"
                             f" it does not re-simulate with (solvers: {list(solvers)})")
        out[str(key)] = CrossModel(solvers, str(key), cap, settings, chunk)
    for key, d in per_kind.items():
        if "shared_with" in d:
            other = str(d["shared_with"])
            if other not in out or out[other].shared_with != other:
                raise ValueError(f"cross_model.per_kind.{key}.shared_with: {other!r} makes no cross-model data "
                                 "of its own")
            o = out[other]
            out[str(key)] = CrossModel(o.solvers, other, o.max_samples, o.settings, o.chunk_size)
    for key, c in out.items():
        if key not in kinds:
            raise ValueError(f"cross_model: unknown kind {key!r}; datasets: {sorted(kinds)}")
        a, b = kinds[key], kinds[c.shared_with]
        if (a.group, a.dataset_settings) != (b.group, b.dataset_settings):
            raise ValueError(f"cross_model.per_kind.{key}.shared_with: {c.shared_with} is dataset group {b.group!r} "
                             f"{list(b.dataset_settings)}, {key} is {a.group!r} {list(a.dataset_settings)}: only kinds "
                             "of one group and dataset settings share their test points")
    return out


def cross_path(cfg, shared_with: str, solver: str) -> Path:
    return Path(str(cfg.cross_model.path).format(kind=shared_with, solver=solver))
