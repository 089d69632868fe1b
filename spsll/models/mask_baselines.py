"""Closed-form baselines of the coercivity models (docs/coercivity.md#baselines): ridge regression
(``anchor_ridge``) and exact Gaussian-process regression (``anchor_gp``, :class:`spsll.models.gp.GaussianProcess`)
from a microstructure to the same targets as the networks (:mod:`spsll.models.anchors`: the seven anchors and
H_c, in H_K or Ms).

Inputs (``inputs``): ``latent``, the latent mean of a trained mask VAE (``encoder``: its checkpoint; the
encoder's weights are stored in the baseline's checkpoint), or ``features``, the five hand features
(σ̂, τ̂, the longest defect run, the defect count, the defect fraction; docs/data.md#hysteresis).

* ridge: per target j, w_j = argmin (1/n)‖Z w − (y_j − ȳ_j)‖² + λ_j‖w‖² on the inputs standardised with the
  train split's statistics; λ_j is chosen per target from ``lambdas`` by its validation MAE (one
  eigendecomposition of ZᵀZ/n serves the grid);
* GP: one exact GP per target, ARD RBF kernel + noise, its hyper-parameters by maximising the marginal
  likelihood on the train split (no validation choice: the validation split only scores it); it also states
  a predictive std per target (``targets_std``).

As for the networks, **unconverged samples** (``converged`` false) are left out of the fit and of every
metric. ``train.py model=anchor_ridge|anchor_gp`` fits them (spsll/training/baseline.py) and ``evaluate.py``
scores them like the networks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from spsll.models.anchors import REQUIRED_KEYS, resolve_targets, target_matrix, target_statistics
from spsll.models.baselines import _grid, read_baseline_checkpoint
from spsll.models.common import STD_FLOOR, check_data_info
from spsll.models.gp import GaussianProcess
from spsll.models.mask_vae import MaskEncoder, frozen_encoder

CHECKPOINT_FORMAT = "spsll-mask-baseline-1"
INPUTS = ("latent", "features")
F64 = torch.float64
SCALARS = {"anchor_ridge": {"lambdas": (False, 0.0)}, "anchor_gp": {}}
OTHERS = {"anchor_ridge": (), "anchor_gp": ("max_iter",)}


def check_hyperparameters(name: str, task: str, hparams: Mapping[str, Any], prefix: str = "") -> dict:
    """``hparams`` of mask baseline ``name`` on a ``task`` dataset, checked (a ValueError names
    ``<prefix><key>``); train.py's check before any data is read, and the constructors'."""
    if name not in SCALARS:
        raise ValueError(f"unknown mask baseline '{name}'; allowed: {', '.join(sorted(SCALARS))}")
    allowed = ("inputs", "encoder", "encoder_config", "targets", "direction", *SCALARS[name], *OTHERS[name])
    unknown = [k for k in hparams if k not in allowed]
    if unknown:
        raise ValueError(f"model {name} has no hyper-parameter(s) {unknown}; allowed: {sorted(allowed)}")
    if task != "hysteresis":
        raise ValueError(f"{name} predicts the anchors of hysteresis curves and needs dataset=hysteresis (or a "
                         f"variant of it), got a {task} dataset")
    out = dict(hparams)
    if out.get("direction", "forward") != "forward":
        raise ValueError(f"{prefix}direction must be forward (microstructure → curve), got {out['direction']!r}")
    if out.get("inputs", "features") not in INPUTS:
        raise ValueError(f"{prefix}inputs must be one of {list(INPUTS)}, got {out.get('inputs')!r}")
    if out.get("inputs") == "latent" and not out.get("encoder") and not out.get("encoder_config"):
        raise ValueError(f"{prefix}encoder must name a trained mask_vae (a .ckpt or an MLflow run id) with "
                         f"{prefix}inputs=latent")
    if out.get("inputs", "features") == "features" and out.get("encoder"):
        raise ValueError(f"{prefix}encoder applies to {prefix}inputs=latent, not to the hand features")
    for key, (integer, minimum) in SCALARS[name].items():
        if key in out:
            out[key] = _grid(out[key], prefix + key, integer, minimum)
    if "max_iter" in out and (isinstance(out["max_iter"], bool) or not isinstance(out["max_iter"], int)
                              or out["max_iter"] < 1):
        raise ValueError(f"{prefix}max_iter must be an integer >= 1, got {out['max_iter']!r}")
    return out


class MaskBaseline(nn.Module):
    """Inputs, targets, metrics and the checkpoint of the mask baselines; subclasses fit and predict."""

    name = ""
    task = "hysteresis"
    direction = "forward"
    score_key = "mae_standardised"  # the validation score train.py returns

    def __init__(self, data_info: Mapping[str, Any], inputs: str = "features", encoder: str | None = None,
                 encoder_config: Mapping[str, Any] | None = None, targets: str | Sequence[str] = "all",
                 direction: str = "forward"):
        super().__init__()
        check_hyperparameters(self.name, self.task, {"inputs": inputs, "encoder": encoder,
                                                     "encoder_config": encoder_config, "direction": direction})
        self.data_info = check_data_info(data_info, (*REQUIRED_KEYS, "features"), self.name)
        names = list(self.data_info["target_names"])
        self.target_names = resolve_targets(targets, names, self.name)
        self.target_index = [names.index(t) for t in self.target_names]
        self.target_std = target_statistics(self.data_info, self.target_index)[1].to(F64)
        self.inputs_kind, self.encoder_source, self.targets = inputs, encoder, targets
        self.encoder: MaskEncoder | None = None
        if inputs == "latent":
            self.encoder = frozen_encoder(encoder, encoder_config, int(self.data_info["n_cells"]), self.name)
        self.selected: dict[str, float] = {}
        self.selection: list[dict] = []
        self.fitted = False

    def hyper_parameters(self) -> dict:
        return {"inputs": self.inputs_kind, "encoder": self.encoder_source, "targets": self.targets,
                "encoder_config": None if self.encoder is None else dict(self.encoder.config)}

    # -- data ---------------------------------------------------------------------------------------
    @torch.no_grad()
    def inputs(self, batch: Mapping[str, Tensor]) -> Tensor:
        """(B, F) float64: the latent mean of the masks, or the hand features."""
        if self.encoder is not None:
            return self.encoder(batch["mask"].float())[0].to(F64)
        return batch["features"].to(F64)

    def outputs(self, batch: Mapping[str, Tensor]) -> Tensor:
        return target_matrix(batch)[:, self.target_index].to(F64)

    @staticmethod
    def converged(batch: Mapping[str, Tensor]) -> Tensor:
        return batch["converged"].bool()

    # -- to be provided by subclasses -----------------------------------------------------------------
    def _fit(self, x: Tensor, y: Tensor, x_val: Tensor, y_val: Tensor) -> None:  # pragma: no cover
        raise NotImplementedError

    def _predict(self, x: Tensor) -> tuple[Tensor, Tensor | None]:  # pragma: no cover
        raise NotImplementedError

    # -- fit and score --------------------------------------------------------------------------------
    def fit(self, train: Mapping[str, Tensor], val: Mapping[str, Tensor]) -> dict:
        """Fit on the converged samples of ``train``, choose on those of ``val`` (each a whole split as one
        batch); returns the chosen hyper-parameters (``self.selection``: every candidate's score)."""
        ok, ok_val = self.converged(train), self.converged(val)
        if int(ok.sum()) < 3 or int(ok_val.sum()) < 1:
            raise ValueError(f"{self.name}: needs >= 3 converged train samples and >= 1 converged validation sample, "
                             f"got {int(ok.sum())} and {int(ok_val.sum())}")
        self._fit(self.inputs(train)[ok], self.outputs(train)[ok], self.inputs(val)[ok_val], self.outputs(val)[ok_val])
        self.fitted = True
        return dict(self.selected)

    def metrics(self, pred: Tensor, true: Tensor) -> dict[str, float]:
        """mae_<target> in H_K or Ms, and mae_standardised (their mean in units of the train std)."""
        mae = (pred - true).abs().mean(0)
        out = {f"mae_{n}": float(mae[j]) for j, n in enumerate(self.target_names)}
        out["mae_standardised"] = float((mae / self.target_std).mean())
        return out

    def evaluate_split(self, batch: Mapping[str, Tensor]) -> dict[str, float]:
        ok = self.converged(batch)
        return self.metrics(self._predict(self.inputs(batch)[ok])[0], self.outputs(batch)[ok])

    @torch.no_grad()
    def predict_physical(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """{"targets": (B, T) in H_K or Ms, columns ``target_names``} (+ "targets_std" for the GP), float32."""
        if not self.fitted:
            raise RuntimeError(f"{self.name} baseline is not fitted; call fit(train, val) or load a checkpoint")
        mean, std = self._predict(self.inputs(batch))
        out = {"targets": mean.float()}
        if std is not None:
            out["targets_std"] = std.float()
        return out

    # -- serving (spsll/tracking/registry.py) ---------------------------------------------------------
    def serving_batch(self, x: Tensor) -> dict[str, Tensor]:
        """One tensor in: masks (B, N) with ``inputs: latent``, the five hand features (B, 5) otherwise."""
        return {"mask": x} if self.encoder is not None else {"features": x}

    def serving_output(self, out: Mapping[str, Tensor]) -> Tensor:
        return out["targets"].float()

    def example_input(self) -> Tensor:
        if self.encoder is None:
            return torch.tensor([self.data_info["features_mean"]], dtype=torch.float32)
        return (torch.arange(int(self.data_info["n_cells"])) % 7 == 0).float()[None]

    # -- checkpoint -----------------------------------------------------------------------------------
    def fitted_state(self) -> dict[str, Tensor]:  # pragma: no cover
        raise NotImplementedError

    def load_fitted_state(self, state: Mapping[str, Tensor]) -> None:  # pragma: no cover
        raise NotImplementedError

    def checkpoint(self) -> dict:
        """A plain dict of tensors and numbers (``torch.load(weights_only=True)`` reads it)."""
        return {"format": CHECKPOINT_FORMAT, "baseline": self.name, "hyper_parameters": self.hyper_parameters(),
                "selected": dict(self.selected), "selection": list(self.selection), "data_info": dict(self.data_info),
                "encoder": None if self.encoder is None else
                {k: v.clone() for k, v in self.encoder.state_dict().items()},
                "fitted": {k: v.detach().cpu().clone() for k, v in self.fitted_state().items()}}

    def save(self, path) -> None:
        torch.save(self.checkpoint(), str(path))

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, map_location="cpu", **ignored):
        ck = read_baseline_checkpoint(checkpoint_path, map_location, CHECKPOINT_FORMAT, cls.name)
        hp = {k: v for k, v in ck["hyper_parameters"].items() if k in ("inputs", "encoder", "encoder_config",
                                                                        "targets", *SCALARS[cls.name],
                                                                        *OTHERS[cls.name])}
        model = cls(ck["data_info"], **hp)
        if model.encoder is not None:
            model.encoder.load_state_dict(ck["encoder"])
        model.load_fitted_state(ck["fitted"])
        model.selected, model.selection, model.fitted = dict(ck["selected"]), list(ck["selection"]), True
        return model


class AnchorRidge(MaskBaseline):
    """Ridge regression per target, λ per target chosen on the validation split (module docstring)."""

    name = "anchor_ridge"

    def __init__(self, data_info: Mapping[str, Any], inputs: str = "features", encoder: str | None = None,
                 encoder_config: Mapping[str, Any] | None = None, targets: str | Sequence[str] = "all",
                 direction: str = "forward", lambdas: Sequence[float] = tuple(10.0**e for e in range(-6, 4))):
        super().__init__(data_info, inputs, encoder, encoder_config, targets, direction)
        self.lambdas = check_hyperparameters(self.name, self.task, {"lambdas": lambdas})["lambdas"]

    def hyper_parameters(self) -> dict:
        return {**super().hyper_parameters(), "lambdas": list(self.lambdas)}

    def _fit(self, x, y, x_val, y_val) -> None:
        mean, std = x.mean(0), x.std(0, unbiased=False)
        self.input_mean = mean
        self.input_std = std.clamp_min(STD_FLOOR * float(std.max()) if float(std.max()) > 0 else 1.0)
        z, n = (x - self.input_mean) / self.input_std, x.shape[0]
        self.bias = y.mean(0)
        evals, evecs = torch.linalg.eigh(z.T @ z / n)
        proj = evecs.T @ (z.T @ (y - self.bias) / n)
        z_val = (x_val - self.input_mean) / self.input_std
        weights, scores = [], []
        for lam in self.lambdas:
            w = evecs @ (proj / (evals.clamp_min(0.0) + lam)[:, None])  # (F, T): every target at this λ
            weights.append(w)
            scores.append((z_val @ w + self.bias - y_val).abs().mean(0))
        scores_t = torch.stack(scores)  # (L, T)
        best = scores_t.argmin(0)  # the first λ in grid order on a tie
        self.weight = torch.stack([weights[int(b)][:, j] for j, b in enumerate(best)], 1)
        self.selected = {f"lambda_{t}": self.lambdas[int(b)] for t, b in zip(self.target_names, best, strict=True)}
        self.selection = [{"lambda": lam, **{f"val_mae_{t}": float(scores_t[i, j])
                                             for j, t in enumerate(self.target_names)}}
                          for i, lam in enumerate(self.lambdas)]

    def _predict(self, x):
        return (x - self.input_mean) / self.input_std @ self.weight + self.bias, None

    def fitted_state(self):
        return {"input_mean": self.input_mean, "input_std": self.input_std, "weight": self.weight, "bias": self.bias}

    def load_fitted_state(self, state):
        for key in ("input_mean", "input_std", "weight", "bias"):
            setattr(self, key, state[key].to(F64))


class AnchorGP(MaskBaseline):
    """Exact GP per target (:class:`spsll.models.gp.GaussianProcess`), hyper-parameters by marginal likelihood."""

    name = "anchor_gp"

    def __init__(self, data_info: Mapping[str, Any], inputs: str = "features", encoder: str | None = None,
                 encoder_config: Mapping[str, Any] | None = None, targets: str | Sequence[str] = "all",
                 direction: str = "forward", max_iter: int = 100):
        super().__init__(data_info, inputs, encoder, encoder_config, targets, direction)
        self.max_iter = check_hyperparameters(self.name, self.task, {"max_iter": max_iter})["max_iter"]
        self.gp: GaussianProcess | None = None

    def hyper_parameters(self) -> dict:
        return {**super().hyper_parameters(), "max_iter": self.max_iter}

    def _fit(self, x, y, x_val, y_val) -> None:
        self.gp = GaussianProcess(max_iter=self.max_iter).fit(x.numpy(), y.numpy())
        ell, noise = self.gp.length_scales, self.gp.noise_std
        self.selected = {}  # nothing is chosen on the validation split
        self.selection = [{"target": t, "noise_std": float(noise[j]), "length_scales": ell[j].tolist()}
                          for j, t in enumerate(self.target_names)]

    def _predict(self, x):
        mean, std = self.gp.predict(x.numpy())
        return torch.from_numpy(mean), torch.from_numpy(std)

    def fitted_state(self):
        return {k: torch.from_numpy(np.asarray(v)) for k, v in self.gp.state_dict().items()}

    def load_fitted_state(self, state):
        self.gp = GaussianProcess.from_state_dict({k: v.numpy() for k, v in state.items()})


MASK_BASELINES: dict[str, type[MaskBaseline]] = {"anchor_ridge": AnchorRidge, "anchor_gp": AnchorGP}


def build_mask_baseline(name: str, data_info: Mapping[str, Any], **kwargs: Any) -> MaskBaseline:
    """The (unfitted) mask baseline registered as ``name``."""
    if name not in MASK_BASELINES:
        raise ValueError(f"unknown mask baseline '{name}'; allowed: {', '.join(sorted(MASK_BASELINES))}")
    return MASK_BASELINES[name](data_info=dict(data_info), **kwargs)

