"""Boundary validation of the composed training config (before any data or model is touched).

Hydra refuses unknown group options (``model=nope``); this refuses values that compose but make no
sense, with the key in the message. Model hyper-parameters are typed by the model's own
signature: an unknown key is refused here rather than deep inside a constructor.
"""

from __future__ import annotations

import inspect

from omegaconf import DictConfig

from spsll.models import MODELS
from spsll.models.common import INPUT_NORMS
from spsll.models.uncertainty import UNCERTAINTIES

NOT_MODEL_KWARGS = ("name", "early_stopping_patience")


def _int(cfg, key, minimum):
    v = cfg
    for part in key.split("."):
        v = v.get(part) if hasattr(v, "get") else None
    if v is None:
        return
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise ValueError(f"{key} must be an integer >= {minimum}, got {v!r}")


def validate_train_config(cfg: DictConfig) -> None:
    name = cfg.model.get("name")
    if name not in MODELS:
        raise ValueError(f"model.name must be one of {sorted(MODELS)}, got {name!r}")
    for key, minimum in (("seed", 0), ("dataset_seed", 0), ("data.batch_size", 1), ("data.num_workers", 0),
                         ("trainer.max_epochs", 1), ("model.early_stopping_patience", 1)):
        _int(cfg, key, minimum)
    lr = cfg.model.get("lr")
    if lr is not None and not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"model.lr must be a number > 0, got {lr!r}")
    dropout = cfg.model.get("dropout")
    if dropout is not None and not (0 <= float(dropout) < 1):
        raise ValueError(f"model.dropout must be in [0, 1), got {dropout!r}")
    norm = cfg.model.get("input_norm")
    if norm is not None and norm not in INPUT_NORMS:
        raise ValueError(f"model.input_norm must be one of {list(INPUT_NORMS)}, got {norm!r}")
    unc = cfg.model.get("uncertainty")
    if unc is not None and unc not in UNCERTAINTIES:
        raise ValueError(f"model.uncertainty must be one of {list(UNCERTAINTIES)}, got {unc!r}")
    for key in ("uncertainty_weight",):
        v = cfg.model.get(key)
        if v is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0):
            raise ValueError(f"model.{key} must be a number > 0, got {v!r}")
    params = inspect.signature(MODELS[name].__init__).parameters
    unknown = [k for k in cfg.model if k not in NOT_MODEL_KWARGS and k not in params]
    if unknown:
        allowed = sorted(k for k in params if k not in ("self", "data_info"))
        raise ValueError(f"model {name} has no hyper-parameter(s) {unknown}; allowed: {allowed}")
    if cfg.logger.get("name") not in ("mlflow", "none"):
        raise ValueError(f"logger.name must be mlflow or none, got {cfg.logger.get('name')!r}")
