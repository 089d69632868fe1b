"""The MLflow model registry: every trained model logged in MLflow's PyTorch flavour, with a
signature, under one registered name per task.

What is served is a :class:`PhysicalPredictor`: one float32 tensor in, physical numbers out, so that
``mlflow.pyfunc.load_model("models:/<name>/<version>").predict(x)`` needs nothing from this package's
internals:

=========================== ======================================= =====================================
registered name             input (B, ·)                            output (B, ·)
=========================== ======================================= =====================================
``spsll_forward_dispersion``  [σ, τ] in nm                            peak frequency at each k (THz)
``spsll_inverse_dispersion``  peak frequency at each k (THz)          [σ, τ, φ, T] (nm, nm, 1, nm)
``spsll_inverse_domain_wall`` m_z at each x, then the width (nm)      [σ, τ, φ, T]
``spsll_encoder_microstructures`` defect mask (0/1 per cell)          the VAE's latent mean
``spsll_forward_hysteresis``  defect mask (0/1 per cell)              the model's targets (H_K, Ms)
``spsll_forward_skyrmion``    [σ (nm), τ (nm), B (T)]                  [survival probability, radius (nm)]
``spsll_inverse_skyrmion``    m_z crop flattened (x, y), R (nm), B (T) [σ, τ, φ, T]
=========================== ======================================= =====================================

The mask models (docs/coercivity.md#models) and the skyrmion models (docs/skyrmion-models.md) state their own
layout: ``serving_batch``, ``serving_output`` and ``example_input`` methods.

``python -m spsll.predict ... model_uri=models:/<name>/<version>`` resolves the version to the run that
logged it (:func:`run_of_model_uri`) and predicts with that run's checkpoint and calibration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
from torch import Tensor, nn

FLAVOUR_PATH = "model"  # the logged model's name inside its run
NAMES = {("forward", "dispersion"): "spsll_forward_dispersion",
         ("inverse", "dispersion"): "spsll_inverse_dispersion",
         ("inverse", "domain_wall"): "spsll_inverse_domain_wall",
         ("encoder", "microstructures"): "spsll_encoder_microstructures",
         ("forward", "hysteresis"): "spsll_forward_hysteresis",
         ("forward", "skyrmion"): "spsll_forward_skyrmion",
         ("inverse", "skyrmion"): "spsll_inverse_skyrmion"}
MODEL_URI = re.compile(r"^models:/(?P<name>[^/]+)/(?P<version>\d+|latest)$")


class RegistryError(RuntimeError):
    """A registered model reference that does not resolve."""


def direction_of(model) -> str:
    """"forward" for (σ, τ) → observable models, "inverse" otherwise."""
    return str(getattr(model, "direction", None) or ("forward" if model.__class__.__name__ == "TFCPINNModel"
                                                       else "inverse"))


def registered_name(model) -> str:
    return NAMES[(direction_of(model), model.task)]


class PhysicalPredictor(nn.Module):
    """A trained model behind one tensor: see the module docstring for the layouts."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model.eval()
        self.direction = direction_of(model)
        self.task = str(model.task)

    def batch(self, x: Tensor) -> Mapping[str, Tensor]:
        if hasattr(self.model, "serving_batch"):
            return self.model.serving_batch(x)
        if self.direction == "forward":
            return {"params": x}
        if self.task == "dispersion":
            return {"dispersion": x}
        return {"mz": x[:, :-1], "width_nm": x[:, -1]}

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        out = self.model.predict_physical(self.batch(x.float()))
        if hasattr(self.model, "serving_output"):
            return self.model.serving_output(out)
        if self.direction == "forward":
            return out["dispersion_thz"].float()
        p = out["params_nm"].float()
        return torch.stack([p[:, 0], p[:, 1], out["phi"].float(), out["T_nm"].float()], 1)


def example_input(model) -> Tensor:
    """A small input of the right layout, from the model's own train-split statistics."""
    if hasattr(model, "example_input"):
        return model.example_input()
    info = model.data_info
    if direction_of(model) == "forward":
        return torch.tensor([info["params_mean"]], dtype=torch.float32)
    if model.task == "dispersion":
        mean = info.get("dispersion_mean_k") or [info["dispersion_mean"]] * len(info["k_rad_per_nm"])
        return torch.tensor([mean], dtype=torch.float32)
    n = int(info["mz_length"])
    mz = info.get("mz_mean_x") or [0.0] * n
    return torch.tensor([[*mz, info["width_mean"]]], dtype=torch.float32)


def log_registered(model, run_id: str, uri: str) -> str:
    """Log ``model`` (a loaded checkpoint, not attached to a trainer) to run ``run_id`` in the PyTorch
    flavour with its signature and register it; returns ``models:/<name>/<version>``."""
    import mlflow
    import mlflow.pytorch
    from mlflow.models import infer_signature

    served = PhysicalPredictor(model)
    x = example_input(model)
    y = served(x)
    signature = infer_signature(x.numpy(), y.numpy())
    name = registered_name(model)
    pip = [f"torch=={torch.__version__.split('+')[0]}", f"mlflow=={mlflow.__version__}"]
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    with mlflow.start_run(run_id=run_id):
        info = mlflow.pytorch.log_model(served, name=FLAVOUR_PATH, signature=signature, input_example=x.numpy(),
                                        registered_model_name=name, pip_requirements=pip, serialization_format="pickle",
                                        await_registration_for=60)
    version = info.registered_model_version
    return f"models:/{name}/{version}"


def run_of_model_uri(model_uri: str, uri: str) -> str:
    """The run id behind ``models:/<name>/<version>`` (or ``latest``)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    m = MODEL_URI.match(model_uri)
    if not m:
        raise RegistryError(f"model must look like models:/<name>/<version>, got {model_uri!r} "
                            f"(registered names: {', '.join(sorted(NAMES.values()))})")
    client = mlflow.MlflowClient(uri, registry_uri=uri)
    name, version = m["name"], m["version"]
    try:
        if version == "latest":
            versions = client.search_model_versions(f"name='{name}'")
            if not versions:
                raise RegistryError(f"no versions of registered model {name!r} in {uri}")
            mv = max(versions, key=lambda v: int(v.version))
        else:
            mv = client.get_model_version(name, version)
    except MlflowException as err:
        raise RegistryError(f"no registered model {name!r} version {version} in {uri} ({err}); SPS-LL registers "
                            f"its models as {', '.join(sorted(NAMES.values()))}") from err
    if not mv.run_id:
        raise RegistryError(f"{model_uri} was not logged from a training run; cannot find its checkpoint")
    return mv.run_id
