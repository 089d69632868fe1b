"""What the studies share: where the configs and docs are, composing a study's config outside a
Hydra run, the command line a report prints, torch threads, and the JSON of numbers."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Sequence
from pathlib import Path

import torch
from omegaconf import DictConfig

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf"  # the Hydra config tree; the studies' configs are conf/studies/<name>.yaml
DOCS = ROOT / "docs"


def compose_study(name: str, overrides: Sequence[str] = ()) -> DictConfig:
    """The composed config of study ``name`` with command-line style ``overrides`` (tests, the API)."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name=f"studies/{name}", overrides=list(overrides))


def command_line(module: str, *, drop: Sequence[str] = ()) -> str:
    """``python -m <module>`` plus this Hydra run's overrides, without those of the keys in ``drop``
    (bookkeeping that does not change what is computed). Outside a Hydra run: no overrides."""
    from hydra.core.hydra_config import HydraConfig

    task = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    kept = [o for o in task if o.split("=", 1)[0].lstrip("+~") not in drop]
    return f"python -m {module}" + (" " + shlex.join(kept) if kept else "")


def set_threads(threads) -> None:
    """torch threads; None leaves torch's default."""
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be null or an integer >= 1, got {threads!r}")
    torch.set_num_threads(threads)


def physics_link(report: str | Path) -> str:
    """docs/physics.md relative to the directory of ``report`` (``physics.md`` for a report in docs/)."""
    return Path(os.path.relpath(DOCS / "physics.md", Path(report).resolve().parent)).as_posix()


def write_json(path: str | Path, data: dict) -> Path:
    """The numbers of a report (NaN written as NaN, which Python's json reads back)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
    return path


def read_json(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())
