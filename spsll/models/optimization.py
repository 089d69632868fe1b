"""Optimizer and learning-rate scheduler of every model, from a plain spec.

A spec is the resolved ``optimizer`` / ``scheduler`` config group (``conf/optimizer/``,
``conf/scheduler/``): ``{"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-3, ...}``,
the class and its arguments except the first (the parameters, the optimizer). The models receive
specs, not ``functools.partial`` objects, so that their hyper-parameters (saved in every checkpoint)
stay plain data and the models need no Hydra; :func:`build` is the few lines of ``instantiate`` they
use. An empty or missing scheduler spec means a constant learning rate.

Every scheduler steps once per epoch and watches the monitored metric (``val/loss``; only
ReduceLROnPlateau reads it): the settings all three models trained with before the specs existed.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any

import torch

ADAM_TARGET = "torch.optim.Adam"
PLATEAU_TARGET = "torch.optim.lr_scheduler.ReduceLROnPlateau"
COSINE_TARGET = "torch.optim.lr_scheduler.CosineAnnealingLR"


def adam(lr: float = 1e-3, weight_decay: float = 0.0) -> dict:
    """Spec of Adam (the paper's optimizer; ``conf/optimizer/adam.yaml``)."""
    return {"_target_": ADAM_TARGET, "_partial_": True, "lr": lr, "weight_decay": weight_decay}


def plateau(factor: float = 0.5, patience: int = 5) -> dict:
    """Spec of ReduceLROnPlateau on a minimised metric (``conf/scheduler/plateau.yaml``)."""
    return {"_target_": PLATEAU_TARGET, "_partial_": True, "mode": "min", "factor": factor, "patience": patience}


def cosine(t_max: int | None) -> dict:
    """Spec of a cosine decay to 0 over ``t_max`` epochs (``conf/scheduler/cosine.yaml``)."""
    return {"_target_": COSINE_TARGET, "_partial_": True, "T_max": t_max}


def plain_specs(optimizer: Mapping[str, Any] | None, scheduler: Mapping[str, Any] | None) -> tuple[dict, dict | None]:
    """Plain-dict copies of a model's specs (what its checkpoints save); no optimizer: Adam (the paper's)."""
    return (dict(optimizer) if optimizer is not None else adam()), (dict(scheduler) if scheduler else None)


def check_spec(spec: Mapping[str, Any] | None, what: str, model: str, optional: bool) -> dict | None:
    """A plain-dict copy of a spec; its class is imported only when it is built (training)."""
    if not spec:
        if optional:
            return None
        raise ValueError(f"{model}: an {what} spec is required, e.g. {adam()}")
    if not isinstance(spec, Mapping) or not isinstance(spec.get("_target_"), str):
        raise ValueError(f"{model}: the {what} spec must be a mapping with a '_target_' class path, got {spec!r}")
    if spec.get("_partial_", True) is not True:
        raise ValueError(f"{model}: the {what} spec must be partial (_partial_: true; its first argument is "
                         f"given when it is built), got {spec!r}")
    return dict(spec)


def import_target(path: str) -> type:
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as err:
        raise ValueError(f"cannot import '{path}' ({err})") from err


def arguments(spec: Mapping[str, Any]) -> dict:
    """The constructor arguments of a spec (everything but its ``_target_``/``_partial_`` keys)."""
    return {k: v for k, v in spec.items() if not str(k).startswith("_")}


def build(spec: Mapping[str, Any], first: Any) -> Any:
    """``_target_(first, **arguments)``."""
    return import_target(spec["_target_"])(first, **arguments(spec))


def configure(parameters: Iterable[torch.nn.Parameter], optimizer: Mapping[str, Any],
              scheduler: Mapping[str, Any] | None, monitor: str):
    """What Lightning's ``configure_optimizers`` returns for these specs."""
    opt = build(optimizer, parameters)
    if not scheduler:
        return opt
    sched = build(scheduler, opt)
    return {"optimizer": opt,
            "lr_scheduler": {"scheduler": sched, "monitor": monitor, "interval": "epoch", "frequency": 1}}


# -- checkpoints written before the specs ------------------------------------------------------------
# Their hyper-parameters hold the optimizer as flat keys: lr and weight_decay (every model, Adam),
# lr_schedule "constant" | "cosine" (inverse_cnn; cosine over the training's max_epochs) and factor,
# patience (width_regressor, ReduceLROnPlateau). The model classes no longer accept them.
LEGACY_KEYS = ("lr", "weight_decay", "lr_schedule", "factor", "patience")


def upgrade_legacy_hparams(hparams: Mapping[str, Any], model: str,
                           scheduler_states: list[Mapping[str, Any]] | None = None) -> dict:
    """Hyper-parameters of an older checkpoint with its flat optimizer keys turned into specs.

    The cosine decay's length is not among those keys; it is read from the checkpoint's saved
    scheduler state (``scheduler_states``, Lightning's ``lr_schedulers``) and stays None in a
    checkpoint without one (only training on from the model needs it). Hyper-parameters written
    with specs are returned unchanged.
    """
    hp = dict(hparams)
    if "optimizer" in hp or not any(k in hp for k in LEGACY_KEYS):
        return hp
    old = {k: hp.pop(k) for k in LEGACY_KEYS if k in hp}
    hp["optimizer"] = adam(float(old.get("lr", 1e-3)), float(old.get("weight_decay", 0.0)))
    if model == "width_regressor":
        hp["scheduler"] = plateau(float(old.get("factor", 0.5)), int(old.get("patience", 5)))
    elif old.get("lr_schedule", "constant") == "cosine":
        saved = (scheduler_states or [{}])[0]
        hp["scheduler"] = cosine(saved.get("T_max"))
    else:
        hp["scheduler"] = None
    return hp
