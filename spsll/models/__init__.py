"""Neural-network models (docs/physics.md#models): a registry of the LightningModules trained by train.py.

Each class has ``task`` ("dispersion" or "domain_wall": the dataset kind it trains on),
``monitor = "val/loss"`` and ``monitor_mode = "min"``, takes ``data_info`` (train-split statistics
and the material constants, plain Python values) plus its hyper-parameters as keyword arguments
(among them the ``optimizer`` and ``scheduler`` specs: :mod:`spsll.models.optimization`), and
implements ``predict_physical(batch)`` (physical units) and ``val_outputs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytorch_lightning as pl

from spsll.models.baselines import BASELINES, KNNBaseline, RidgeBaseline, build_baseline
from spsll.models.common import MONITOR, MONITOR_MODE, phi_and_T
from spsll.models.inverse import InverseCNNModel
from spsll.models.tfc_pinn import TFCPINNModel, physics_residuals
from spsll.models.width import WidthRegressorModel

MODELS: dict[str, type[pl.LightningModule]] = {
    "inverse_cnn": InverseCNNModel,
    "tfc_pinn": TFCPINNModel,
    "width_regressor": WidthRegressorModel,
}
# BASELINES: the closed-form baselines (ridge, knn; docs/physics.md#baselines), fitted by train.py on the
# same splits and scored by evaluate.py like the networks; not LightningModules, so kept out of MODELS.


def build_model(name: str, data_info: Mapping[str, Any], **kwargs: Any) -> pl.LightningModule:
    """Instantiate the model registered as ``name`` with ``data_info`` and hyper-parameters."""
    if name not in MODELS:
        raise ValueError(f"unknown model '{name}'; allowed: {', '.join(sorted(MODELS))}")
    return MODELS[name](data_info=dict(data_info), **kwargs)


__all__ = ["BASELINES", "MODELS", "MONITOR", "MONITOR_MODE", "InverseCNNModel", "KNNBaseline", "RidgeBaseline",
           "TFCPINNModel", "WidthRegressorModel", "build_baseline", "build_model", "phi_and_T", "physics_residuals"]
