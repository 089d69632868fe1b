"""Neural-network models (docs/physics.md#models): a registry of the LightningModules trained by train.py.

Each class has ``task`` ("dispersion", "domain_wall", for the coercivity models of docs/coercivity.md#models
"microstructures" and "hysteresis", for the skyrmion models of docs/skyrmion-models.md "skyrmion": the dataset
kind it trains on),
``monitor = "val/loss"`` and ``monitor_mode = "min"``, takes ``data_info`` (train-split statistics
and the material constants, plain Python values) plus its hyper-parameters as keyword arguments
(among them the ``optimizer`` and ``scheduler`` specs: :mod:`spsll.models.optimization`), and
implements ``predict_physical(batch)`` (physical units) and ``val_outputs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytorch_lightning as pl

from spsll.models.anchors import AnchorCNNModel, AnchorRegressorModel
from spsll.models.baselines import BASELINES as _BASELINES
from spsll.models.baselines import KNNBaseline, RidgeBaseline, build_baseline
from spsll.models.common import MONITOR, MONITOR_MODE, phi_and_T
from spsll.models.inverse import InverseCNNModel
from spsll.models.mask_baselines import MASK_BASELINES
from spsll.models.mask_vae import MaskVAEModel
from spsll.models.skyrmion_baselines import SKYRMION_BASELINES
from spsll.models.skyrmion_forward import SkyrmionForwardModel
from spsll.models.skyrmion_inverse import SkyrmionInverseModel
from spsll.models.tfc_pinn import TFCPINNModel, physics_residuals
from spsll.models.width import WidthRegressorModel

MODELS: dict[str, type[pl.LightningModule]] = {
    "inverse_cnn": InverseCNNModel,
    "tfc_pinn": TFCPINNModel,
    "width_regressor": WidthRegressorModel,
    "mask_vae": MaskVAEModel,
    "anchor_regressor": AnchorRegressorModel,
    "anchor_cnn": AnchorCNNModel,
    "skyrmion_forward": SkyrmionForwardModel,
    "skyrmion_inverse": SkyrmionInverseModel,
}
# BASELINES: the closed-form baselines (ridge, knn; docs/physics.md#baselines; anchor_ridge, anchor_gp of the
# coercivity models, docs/coercivity.md#baselines; skyrmion_forward_ridge, skyrmion_inverse_ridge,
# docs/skyrmion-models.md#baselines), fitted by train.py on the same splits and scored by evaluate.py like the
# networks; not LightningModules, so kept out of MODELS.
BASELINES = {**_BASELINES, **MASK_BASELINES, **SKYRMION_BASELINES}


def build_model(name: str, data_info: Mapping[str, Any], **kwargs: Any) -> pl.LightningModule:
    """Instantiate the model registered as ``name`` with ``data_info`` and hyper-parameters."""
    if name not in MODELS:
        raise ValueError(f"unknown model '{name}'; allowed: {', '.join(sorted(MODELS))}")
    return MODELS[name](data_info=dict(data_info), **kwargs)


__all__ = ["BASELINES", "MASK_BASELINES", "MODELS", "MONITOR", "MONITOR_MODE", "InverseCNNModel", "KNNBaseline",
           "RidgeBaseline",
           "TFCPINNModel", "WidthRegressorModel", "build_baseline", "build_model", "phi_and_T", "physics_residuals"]
