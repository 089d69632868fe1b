"""Boundary validation of the composed training config (before any data or model is touched), and
the model's constructor arguments that the config makes.

Hydra refuses unknown group options (``model=nope``, ``scheduler=nope``); this refuses values that
compose but make no sense, with the key in the message. Model hyper-parameters are typed by the
model's own signature, the optimizer's and scheduler's arguments by their class's: an unknown key is
refused here rather than deep inside a constructor or at the first training step.
"""

from __future__ import annotations

import inspect

import torch
from omegaconf import DictConfig, OmegaConf

from spsll.models import MODELS
from spsll.models.baselines import check_hyperparameters
from spsll.models.common import INPUT_NORMS
from spsll.models.mask_baselines import MASK_BASELINES
from spsll.models.mask_baselines import check_hyperparameters as check_mask_hyperparameters
from spsll.models.optimization import LEGACY_KEYS, arguments, import_target
from spsll.models.skyrmion_baselines import SKYRMION_BASELINES
from spsll.models.skyrmion_baselines import check_hyperparameters as check_skyrmion_hyperparameters
from spsll.models.uncertainty import UNCERTAINTIES

NOT_MODEL_KWARGS = ("name",)  # the registry key; every other key of the model group is a constructor argument
OPTIMIZATION_GROUPS = ("optimizer", "scheduler")  # passed to the model as specs (spsll/models/optimization.py)


def model_kwargs(cfg: DictConfig) -> dict:
    """The model's keyword arguments: its group less the name, and the optimizer and scheduler specs
    (an empty scheduler group, ``scheduler=none``: a constant learning rate)."""
    kwargs = {k: v for k, v in OmegaConf.to_container(cfg.model, resolve=True).items() if k not in NOT_MODEL_KWARGS}
    kwargs["optimizer"] = OmegaConf.to_container(cfg.optimizer, resolve=True)
    kwargs["scheduler"] = OmegaConf.to_container(cfg.scheduler, resolve=True) or None
    return kwargs


def _get(cfg, key):
    v = cfg
    for part in key.split("."):
        v = v.get(part) if hasattr(v, "get") else None
    return v


def _int(cfg, key, minimum):
    v = _get(cfg, key)
    if v is None:
        return
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise ValueError(f"{key} must be an integer >= {minimum}, got {v!r}")


def _number(cfg, key, above=None, at_least=None, below=None):
    v = _get(cfg, key)
    if v is None:
        return
    ok = isinstance(v, (int, float)) and not isinstance(v, bool)
    ok = ok and (above is None or v > above) and (at_least is None or v >= at_least) and (below is None or v < below)
    if not ok:
        bounds = " and ".join(f"{op} {b}" for op, b in ((">", above), (">=", at_least), ("<", below)) if b is not None)
        raise ValueError(f"{key} must be a number {bounds}, got {v!r}")


def _check_spec(cfg: DictConfig, group: str, base: type, example: str) -> None:
    """``optimizer`` / ``scheduler``: an importable class of the right kind, called with known arguments."""
    spec = cfg.get(group)
    if not spec:
        if group == "optimizer":
            raise ValueError("the optimizer group is empty; choose one (optimizer=adam)")
        return
    target = spec.get("_target_")
    if not isinstance(target, str):
        raise ValueError(f"{group}._target_ must name a class, e.g. {example}; got {target!r}")
    try:
        cls = import_target(target)
    except ValueError as err:
        raise ValueError(f"{group}._target_: {err}") from err
    if not (inspect.isclass(cls) and issubclass(cls, base)):
        raise ValueError(f"{group}._target_ must be a {base.__module__}.{base.__name__} class, e.g. {example}; "
                         f"got {target}")
    if spec.get("_partial_") is not True:
        raise ValueError(f"{group}._partial_ must be true (the model passes the first argument), got "
                         f"{spec.get('_partial_')!r}")
    params = inspect.signature(cls.__init__).parameters
    unknown = [k for k in arguments(spec) if k not in params]
    if unknown:
        allowed = sorted(list(params)[2:])  # less self and the parameters / the optimizer
        raise ValueError(f"{group} {target} has no argument(s) {unknown}; allowed: {allowed}")


def _check_optimization(cfg: DictConfig) -> None:
    _check_spec(cfg, "optimizer", torch.optim.Optimizer, "torch.optim.Adam")
    _number(cfg, "optimizer.lr", above=0)
    _number(cfg, "optimizer.weight_decay", at_least=0)
    _check_spec(cfg, "scheduler", torch.optim.lr_scheduler.LRScheduler,
                "torch.optim.lr_scheduler.CosineAnnealingLR (or scheduler=none|cosine|plateau)")
    if cfg.get("scheduler") and "T_max" in cfg.scheduler and cfg.scheduler.T_max is None:  # trainer.max_epochs=null
        raise ValueError("scheduler.T_max (the cosine decay's length in epochs, trainer.max_epochs by default) must be "
                         "an integer >= 1, got None")
    _int(cfg, "scheduler.T_max", 1)
    _int(cfg, "scheduler.patience", 0)
    _number(cfg, "scheduler.factor", above=0, below=1)


def _check_model(cfg: DictConfig, name: str) -> None:
    dropout = cfg.model.get("dropout")
    if dropout is not None and not (0 <= float(dropout) < 1):
        raise ValueError(f"model.dropout must be in [0, 1), got {dropout!r}")
    norm = cfg.model.get("input_norm")
    if norm is not None and norm not in INPUT_NORMS:
        raise ValueError(f"model.input_norm must be one of {list(INPUT_NORMS)}, got {norm!r}")
    unc = cfg.model.get("uncertainty")
    if unc is not None and unc not in UNCERTAINTIES:
        raise ValueError(f"model.uncertainty must be one of {list(UNCERTAINTIES)}, got {unc!r}")
    _number(cfg, "model.uncertainty_weight", above=0)
    params = inspect.signature(MODELS[name].__init__).parameters
    unknown = [k for k in cfg.model if k not in NOT_MODEL_KWARGS and (k not in params or k in OPTIMIZATION_GROUPS)]
    if unknown:
        allowed = sorted(k for k in params if k not in ("self", "data_info", *OPTIMIZATION_GROUPS))
        hint = ""
        if set(unknown) & {*LEGACY_KEYS, *OPTIMIZATION_GROUPS}:
            hint = ("; the learning rate and its schedule are set by the optimizer and scheduler groups "
                    "(optimizer.lr=..., scheduler=none|cosine|plateau)")
        raise ValueError(f"model {name} has no hyper-parameter(s) {unknown}; allowed: {allowed}{hint}")


def validate_train_config(cfg: DictConfig) -> None:
    name = cfg.model.get("name")
    if name not in MODELS:
        raise ValueError(f"model.name must be one of {sorted(MODELS)}, got {name!r}")
    for key, minimum in (("seed", 0), ("dataset_seed", 0), ("data.batch_size", 1), ("data.num_workers", 0),
                         ("trainer.max_epochs", 1), ("early_stopping.patience", 1)):
        _int(cfg, key, minimum)
    _check_optimization(cfg)
    _check_model(cfg, name)
    if "encoder" in cfg.model and not cfg.model.get("encoder") and not cfg.model.get("encoder_config"):
        raise ValueError(f"model.encoder must name a trained mask_vae (a .ckpt path or an MLflow run id) for model "
                         f"{name}, e.g. model.encoder=outputs/train/<run>/checkpoints/best-epoch014.ckpt")
    if cfg.logger.get("name") not in ("mlflow", "none"):
        raise ValueError(f"logger.name must be mlflow or none, got {cfg.logger.get('name')!r}")


def baseline_kwargs(cfg: DictConfig) -> dict:
    """A closed-form baseline's keyword arguments (spsll/models/baselines.py): its model group less the name
    (it has no optimizer or scheduler)."""
    return {k: v for k, v in OmegaConf.to_container(cfg.model, resolve=True).items() if k not in NOT_MODEL_KWARGS}


def validate_baseline_config(cfg: DictConfig) -> None:
    """:func:`validate_train_config` for a closed-form baseline: the settings it uses (seeds, data, logger)
    and its hyper-parameters, keys and values, against the dataset kind (no optimizer, scheduler or
    trainer: a baseline is fitted, not trained)."""
    for key, minimum in (("seed", 0), ("dataset_seed", 0), ("data.batch_size", 1), ("data.num_workers", 0)):
        _int(cfg, key, minimum)
    name = str(cfg.model.get("name"))
    check = check_mask_hyperparameters if name in MASK_BASELINES else \
        check_skyrmion_hyperparameters if name in SKYRMION_BASELINES else check_hyperparameters
    check(name, str(cfg.dataset.get("kind")), baseline_kwargs(cfg), "model.")
    if cfg.logger.get("name") not in ("mlflow", "none"):
        raise ValueError(f"logger.name must be mlflow or none, got {cfg.logger.get('name')!r}")
