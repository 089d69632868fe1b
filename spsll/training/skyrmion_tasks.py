"""What train.py and evaluate.py need for the skyrmion models (docs/skyrmion-models.md): the DataModule of a
model's rows.

The forward models (``skyrmion_forward``, ``skyrmion_forward_ridge``) read every sample of a split and leave
the unconverged ones out of their losses and metrics themselves; the inverse models (``skyrmion_inverse``,
``skyrmion_inverse_ridge``) read the survivors only (a collapsed texture is a uniform film: no information
on (σ, τ)), and their train statistics are the survivors'. Each model class states which (``rows``).
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from spsll.data.skyrmion_datamodule import SkyrmionDataModule
from spsll.models import BASELINES, MODELS

KIND = "skyrmion"


def rows_of(name: str) -> str:
    """``all`` or ``survivors``: the rows model ``name`` reads."""
    classes = {**MODELS, **BASELINES}
    if name not in classes or getattr(classes[name], "task", None) != KIND:
        raise ValueError(f"model {name!r} is not a skyrmion model; the skyrmion models are "
                         f"{sorted(n for n, c in classes.items() if getattr(c, 'task', None) == KIND)}")
    return str(classes[name].rows)


def datamodule(cfg: DictConfig, path: Path) -> SkyrmionDataModule:
    """The training DataModule of ``cfg.model.name`` on the skyrmion file ``path``."""
    return SkyrmionDataModule(path, batch_size=int(cfg.data.batch_size), num_workers=int(cfg.data.num_workers),
                              in_memory=bool(cfg.data.get("in_memory", True)), seed=int(cfg.seed),
                              rows=rows_of(str(cfg.model.name)))
