"""Closed-form baselines (docs/physics.md#baselines): ridge regression and k nearest neighbours.

They are fitted by ``train.py model=ridge|knn`` on the same train split as the networks, their one
hyper-parameter is chosen on the validation split, and ``evaluate.py`` scores them on the test split
with the networks' metrics. A baseline is a plain ``nn.Module`` with the networks' interface
(``task``, ``data_info``, ``predict_physical(batch)``, ``load_from_checkpoint``) that holds its
fitted arrays as buffers; the solves run in float64.

Three tasks, as for the networks (``direction``; the dataset kind is ``task``):

* inverse from dispersions: the peak frequency at every k → (σ, τ);
* inverse from walls: the m_z profile and the width → (σ, τ);
* forward: (σ, τ) → the peak frequency at every k (ridge on [σ, τ, φ, T], k-NN in the (σ, τ) plane).

Inputs are standardised per feature with the train split's mean and std (stds floored at
``STD_FLOOR`` × the largest, as the networks do). Inverse models regress ``targets``: ``sigma_tau``
directly, or ``phi_T``, the material fraction φ and the correlation length T (the quantities the
observables determine, docs/physics.md#identifiability), from which σ = T/(1 − φ), τ = T/φ are
recovered (:func:`decode_params`). Every prediction of σ, τ is kept inside the train split's range.

Over 300 lines because the two baselines are one piece: inputs, targets, the choice on the
validation split and the checkpoint live in their shared base class, and each subclass is only its fit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from spsll.models.common import STD_FLOOR, check_data_info, inverse_metrics, phi_and_T

DIRECTIONS = ("inverse", "forward")
TARGETS = ("sigma_tau", "phi_T")
REQUIRED_KEYS = {"dispersion": ("params_mean", "params_std", "k_rad_per_nm"),
                 "domain_wall": ("params_mean", "params_std", "mz_length")}
CHECKPOINT_FORMAT = "spsll-baseline-1"
F64 = torch.float64
QUERY_CHUNK = 512  # k-NN queries per distance matrix (512 × 10 000 train samples × 8 B = 40 MB)


def read_baseline_checkpoint(path, map_location, fmt: str, name: str) -> dict:
    """The dict a baseline of class name ``name`` saved at ``path`` in format ``fmt``; a network's checkpoint or
    another baseline's is refused, naming what it holds."""
    ck = torch.load(str(path), map_location=map_location, weights_only=True)
    if not isinstance(ck, dict) or ck.get("format") != fmt or ck.get("baseline") != name:
        found = (ck.get("baseline") or "a network checkpoint") if isinstance(ck, dict) else type(ck).__name__
        raise ValueError(f"{path} is not a {name} baseline checkpoint (it holds {found})")
    return ck


def observation_features(batch: Mapping[str, Tensor], task: str) -> Tensor:
    """The inverse models' input (B, F) float64: the dispersion (THz), or the m_z profile and the width (nm)."""
    if task == "dispersion":
        return batch["dispersion"].to(F64)
    return torch.cat([batch["mz"].to(F64), batch["width_nm"].to(F64).reshape(-1, 1)], 1)


def encode_params(params_nm: Tensor, targets: str) -> Tensor:
    """(B, 2) [σ, τ] nm → what an inverse baseline regresses: [σ, τ] or [φ, T (nm)] (float64)."""
    p = params_nm.to(F64)
    if targets == "sigma_tau":
        return p
    phi, t = phi_and_T(p)
    return torch.stack([phi, t], 1)


def decode_params(y: Tensor, targets: str, param_bounds: Tensor) -> Tensor:
    """Regressed targets (B, 2) → [σ, τ] nm within the train split's ranges ``param_bounds`` (2, 2),
    the [min, max] rows of [σ, τ].

    ``sigma_tau``: each clamped to its range. ``phi_T``: φ clamped to (0, 1] and T to ≥ 0, then
    σ = T/(1 − φ) clamped to σ's range, τ = σ (1 − φ)/φ, and σ lowered where that τ would pass τ's
    maximum. φ, the best-determined quantity, is kept exactly; T too unless σ or τ met the end of its
    range (where the linear T extrapolates, at the corners of the (σ, τ) box, and where φ → 1 is
    τ → 0, whose σ no observable determines). φ and T are not clamped to their own train ranges: at
    the corners a test sample's φ lies outside them.
    """
    lo, hi = param_bounds[0], param_bounds[1]
    if targets == "sigma_tau":
        return torch.maximum(torch.minimum(y, hi), lo)
    phi = y[:, 0].clamp(1e-12, 1.0)
    t = y[:, 1].clamp_min(0.0)
    ratio = (1.0 - phi) / phi  # τ/σ at this φ
    sigma = (t / (1.0 - phi).clamp_min(1e-12)).clamp(float(lo[0]), float(hi[0]))
    sigma = torch.minimum(sigma, float(hi[1]) / ratio.clamp_min(1e-300))
    return torch.stack([sigma, sigma * ratio], 1)


#: the hyper-parameter grids of each baseline, chosen from on the validation split: (integers?, minimum)
GRIDS = {"ridge": {"lambdas": (False, 0.0)}, "knn": {"ks": (True, 1), "pca_components": (True, 0)}}
#: other hyper-parameters of a baseline (scalars, checked by the constructor)
SCALARS = {"ridge": ("input_noise",), "knn": ()}


def _grid(value, key: str, integer: bool, minimum: float) -> list:
    kind, bound = ("integers", f">= {minimum:g}") if integer else ("numbers", "> 0")
    ok = isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0
    for v in value if ok else ():
        number = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        ok = ok and number and (v >= minimum and int(v) == v if integer else v > 0)
    if not ok:
        raise ValueError(f"{key} must be a non-empty list of {kind} {bound} (a grid chosen from on the validation "
                         f"split), got {value!r}")
    return [int(v) for v in value] if integer else [float(v) for v in value]


def check_hyperparameters(name: str, task: str, hparams: Mapping[str, Any], prefix: str = "") -> dict:
    """``hparams`` of baseline ``name`` fitted on a ``task`` dataset, checked (a ValueError names the bad key
    as ``<prefix><key>``) and normalised (grids as lists). The constructors' checks, and train.py's before
    any data is read."""
    if name not in GRIDS:
        raise ValueError(f"unknown baseline '{name}'; allowed: {', '.join(sorted(GRIDS))}")
    allowed = ("direction", "targets", *GRIDS[name], *SCALARS[name])
    unknown = [k for k in hparams if k not in allowed]
    if unknown:
        raise ValueError(f"model {name} has no hyper-parameter(s) {unknown}; allowed: {sorted(allowed)}")
    out = dict(hparams)
    for key, choices in (("direction", DIRECTIONS), ("targets", TARGETS)):
        if key in out and out[key] not in choices:
            raise ValueError(f"{prefix}{key} must be one of {list(choices)}, got {out[key]!r}")
    if task not in REQUIRED_KEYS:
        raise ValueError(f"{name}: the dataset kind must be one of {list(REQUIRED_KEYS)}, got {task!r}")
    if out.get("direction", "inverse") == "forward" and task != "dispersion":
        raise ValueError(f"{prefix}direction=forward predicts dispersions from (σ, τ) and needs a dispersion dataset "
                         f"(dataset=dispersion or a variant of it), got a {task} dataset")
    for key, (integer, minimum) in GRIDS[name].items():
        if key in out:
            out[key] = _grid(out[key], prefix + key, integer, minimum)
    if "input_noise" in out:
        v = out["input_noise"]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{prefix}input_noise must be a number >= 0 (the measurement noise per input feature, "
                             f"in the input's unit), got {v!r}")
        out["input_noise"] = float(v)
    return out


class Baseline(nn.Module):
    """What ridge and k-NN share: inputs, targets, physical outputs, metrics, the checkpoint."""

    name = ""

    def __init__(self, data_info: Mapping[str, Any], task: str = "dispersion", direction: str = "inverse",
                 targets: str = "phi_T"):
        super().__init__()
        check_hyperparameters(self.name, task, {"direction": direction, "targets": targets})
        self.task, self.direction, self.targets = task, direction, targets
        self.data_info = check_data_info(data_info, REQUIRED_KEYS[task], self.name)
        self.selected: dict[str, float] = {}  # the hyper-parameter chosen on the validation split
        self.selection: list[dict[str, float]] = []  # every candidate with its validation score

    # -- to be provided by subclasses -------------------------------------------------------------
    def hyper_parameters(self) -> dict:
        return {"task": self.task, "direction": self.direction, "targets": self.targets}

    def _fit_and_select(self, x: Tensor, y: Tensor, val: Mapping[str, Tensor]) -> None:  # pragma: no cover
        raise NotImplementedError

    def _predict(self, x: Tensor) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    # -- inputs and outputs -----------------------------------------------------------------------
    def inputs(self, batch: Mapping[str, Tensor]) -> Tensor:
        """The features (B, F) float64 of a batch (before standardisation)."""
        if self.direction == "inverse":
            return observation_features(batch, self.task)
        return self.parameter_features(batch["params"].to(F64))

    def parameter_features(self, params_nm: Tensor) -> Tensor:
        """The forward models' input from [σ, τ] nm (overridden by ridge, which also takes φ and T)."""
        return params_nm

    def outputs(self, batch: Mapping[str, Tensor]) -> Tensor:
        """The regression targets (B, O) float64 of a batch."""
        if self.direction == "inverse":
            return encode_params(batch["params"], self.targets)
        return batch["dispersion"].to(F64)

    def physical(self, y: Tensor) -> dict[str, Tensor]:
        """Regressed outputs → the networks' ``predict_physical`` dict (float64)."""
        if self.direction == "forward":
            return {"dispersion_thz": y, "k_rad_per_nm": torch.tensor(self.data_info["k_rad_per_nm"], dtype=F64)}
        params = decode_params(y, self.targets, self.param_bounds)
        phi, t = phi_and_T(params)
        return {"params_nm": params, "phi": phi, "T_nm": t}

    @torch.no_grad()
    def predict_physical(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Inverse: {"params_nm": (B, 2) [σ, τ] nm, "phi": (B,), "T_nm": (B,)}; forward: {"dispersion_thz":
        (B, K), "k_rad_per_nm": (K,)}; float32 like the networks' outputs."""
        if not self.selected:
            raise RuntimeError(f"{self.name} baseline is not fitted; call fit(train, val) or load a checkpoint")
        x = self.inputs(batch)
        if x.shape[1] != self.input_mean.shape[0]:
            raise ValueError(f"{self.name}: the batch has {x.shape[1]} input features, the baseline was fitted on "
                             f"{self.input_mean.shape[0]}")
        return {k: v.to(torch.float32) for k, v in self.physical(self._predict(x)).items()}

    def metrics(self, y: Tensor, batch: Mapping[str, Tensor]) -> dict[str, float]:
        """The networks' validation metrics of regressed outputs ``y`` on ``batch``: mae_sigma_nm, mae_tau_nm,
        mae_phi, mae_T_nm (inverse) or mae_thz, max_mae_k_thz (forward)."""
        out = self.physical(y)
        if self.direction == "inverse":
            return {k: float(v) for k, v in inverse_metrics(out["params_nm"], batch["params"].to(F64)).items()}
        per_k = (out["dispersion_thz"] - batch["dispersion"].to(F64)).abs().mean(0)
        return {"mae_thz": float(per_k.mean()), "max_mae_k_thz": float(per_k.max())}

    @property
    def score_key(self) -> str:
        """The validation metric the hyper-parameter is chosen by (and train.py returns)."""
        return "mae_phi" if self.direction == "inverse" else "mae_thz"

    def evaluate_split(self, batch: Mapping[str, Tensor]) -> dict[str, float]:
        """Metrics of the fitted baseline on a whole split given as one batch."""
        return self.metrics(self._predict(self.inputs(batch)), batch)

    # -- fitting ----------------------------------------------------------------------------------
    def fit(self, train: Mapping[str, Tensor], val: Mapping[str, Tensor]) -> dict[str, float]:
        """Fit on ``train``, choose the hyper-parameter on ``val`` (each a whole split as one batch dict);
        returns the chosen hyper-parameter (``self.selection`` holds every candidate's score)."""
        x, y = self.inputs(train), self.outputs(train)
        if len(x) < 1 or len(val["params"]) < 1:
            raise ValueError(f"{self.name}: the train and validation splits must not be empty")
        mean = x.mean(0)
        std = x.std(0, unbiased=False)
        std = std.clamp_min(STD_FLOOR * float(std.max()) if float(std.max()) > 0 else 1.0)
        self.register_buffer("input_mean", mean)
        self.register_buffer("input_std", std)
        params = train["params"].to(F64)
        self.register_buffer("param_bounds", torch.stack([params.amin(0).clamp_min(0.0), params.amax(0)]))
        self.selection = []
        self._fit_and_select(self.standardise(x), y, val)
        return dict(self.selected)

    def standardise(self, x: Tensor) -> Tensor:
        return (x - self.input_mean) / self.input_std

    def _choose(self, candidates: list[dict[str, float]]) -> dict[str, float]:
        """The candidate with the lowest validation score; the first in grid order on a tie."""
        self.selection = candidates
        best = min(range(len(candidates)), key=lambda i: (candidates[i]["val_score"], i))
        return {k: v for k, v in candidates[best].items() if k != "val_score"}

    # -- checkpoint -------------------------------------------------------------------------------
    def checkpoint(self) -> dict:
        """A plain dict (loadable with ``torch.load(weights_only=True)``): hyper-parameters, the chosen one,
        every candidate's validation score, ``data_info`` and the fitted arrays."""
        return {"format": CHECKPOINT_FORMAT, "baseline": self.name, "hyper_parameters": self.hyper_parameters(),
                "selected": dict(self.selected), "selection": [dict(c) for c in self.selection],
                "data_info": dict(self.data_info),
                "buffers": {k: v.detach().cpu().clone() for k, v in self.named_buffers()}}

    def save(self, path) -> None:
        torch.save(self.checkpoint(), str(path))

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, map_location="cpu", **ignored):
        """The baseline saved at ``checkpoint_path`` (the networks' loader signature; extra arguments are
        ignored: a baseline has no optimizer or scheduler)."""
        ck = read_baseline_checkpoint(checkpoint_path, map_location, CHECKPOINT_FORMAT, cls.name)
        model = cls(ck["data_info"], **ck["hyper_parameters"])
        for key, value in ck["buffers"].items():
            model.register_buffer(key, value)
        model.selected, model.selection = dict(ck["selected"]), list(ck["selection"])
        return model


class RidgeBaseline(Baseline):
    """Ridge regression on the standardised features with an unpenalised intercept:
    W = argmin (1/n)‖Z W − (Y − Ȳ)‖² + λ‖W‖², λ from ``lambdas`` (chosen on the validation split).
    One eigendecomposition of ZᵀZ/n serves the whole grid.

    ``input_noise`` ν (inverse models; the input's unit: THz per peak, or per m_z cell — the width is
    re-measured, not perturbed): the fit is that of the expected noisy data, ZᵀZ/n + diag(ν²/s_j²)
    (s_j the feature's standardisation scale), the classical result that input noise acts as a
    per-feature Tikhonov term. Without it, a ridge fitted to noiseless data leans on faint features
    that any measurement noise buries (docs/physics.md#baselines)."""

    name = "ridge"

    def __init__(self, data_info: Mapping[str, Any], task: str = "dispersion", direction: str = "inverse",
                 targets: str = "phi_T", lambdas: Sequence[float] = tuple(10.0**e for e in range(-12, 4)),
                 input_noise: float = 0.0):
        super().__init__(data_info, task, direction, targets)
        checked = check_hyperparameters(self.name, task, {"lambdas": lambdas, "input_noise": input_noise})
        self.lambdas, self.input_noise = checked["lambdas"], checked["input_noise"]

    def hyper_parameters(self) -> dict:
        return {**super().hyper_parameters(), "lambdas": list(self.lambdas), "input_noise": self.input_noise}

    def noise_variance(self) -> Tensor:
        """(F,) variance of ``input_noise`` in the standardised features (0 for the wall's width)."""
        var = (self.input_noise / self.input_std) ** 2
        if self.direction != "inverse":
            return torch.zeros_like(var)
        if self.task == "domain_wall":
            var[-1] = 0.0
        return var

    def parameter_features(self, params_nm: Tensor) -> Tensor:
        phi, t = phi_and_T(params_nm.clamp_min(0.0))
        return torch.cat([params_nm, phi[:, None], t[:, None]], 1)  # a linear map of σ, τ alone is poorer still

    def _fit_and_select(self, z: Tensor, y: Tensor, val: Mapping[str, Tensor]) -> None:
        n = z.shape[0]
        y_mean = y.mean(0)
        evals, evecs = torch.linalg.eigh(z.T @ z / n + torch.diag(self.noise_variance()))
        proj = evecs.T @ (z.T @ (y - y_mean) / n)  # ZᵀY in the eigenbasis
        self.register_buffer("bias", y_mean)
        candidates = []

        def solve(lam):
            return evecs @ (proj / (evals.clamp_min(0.0) + lam)[:, None])

        z_val = self.standardise(self.inputs(val))
        for lam in self.lambdas:
            self.register_buffer("weight", solve(lam))
            score = self.metrics(z_val @ self.weight + self.bias, val)[self.score_key]
            candidates.append({"lambda": lam, "val_score": score})
        self.selected = self._choose(candidates)
        self.register_buffer("weight", solve(self.selected["lambda"]))

    def _predict(self, x: Tensor) -> Tensor:
        return self.standardise(x) @ self.weight + self.bias


class KNNBaseline(Baseline):
    """k nearest neighbours: Euclidean distance on the standardised features (optionally projected on the
    first ``pca_components`` principal axes of the train split; 0: no projection), the neighbours'
    targets averaged with weights 1/distance. k and the projection are chosen on the validation split."""

    name = "knn"

    def __init__(self, data_info: Mapping[str, Any], task: str = "dispersion", direction: str = "inverse",
                 targets: str = "phi_T", ks: Sequence[int] = (1, 2, 4, 8, 16, 32),
                 pca_components: Sequence[int] = (0, 20)):
        super().__init__(data_info, task, direction, targets)
        grids = check_hyperparameters(self.name, task, {"ks": ks, "pca_components": pca_components})
        self.ks, self.pca_components = grids["ks"], grids["pca_components"]
        self.register_buffer("projection", None)  # (F, p) principal axes, None: no projection

    def hyper_parameters(self) -> dict:
        return {**super().hyper_parameters(), "ks": list(self.ks), "pca_components": list(self.pca_components)}

    def _project(self, z: Tensor) -> Tensor:
        return z if self.projection is None else z @ self.projection

    def _neighbours(self, queries: Tensor, k: int) -> tuple[Tensor, Tensor]:
        """Distances and indices (Q, k) of the k nearest train points of projected queries, nearest first."""
        dists, idx = [], []
        for lo in range(0, len(queries), QUERY_CHUNK):
            d = torch.cdist(queries[lo : lo + QUERY_CHUNK], self.train_points)
            dk, ik = torch.topk(d, min(k, d.shape[1]), dim=1, largest=False, sorted=True)
            dists.append(dk)
            idx.append(ik)
        return torch.cat(dists), torch.cat(idx)

    def _average(self, dist: Tensor, idx: Tensor, k: int) -> Tensor:
        w = 1.0 / dist[:, :k].clamp_min(1e-12)  # an exact match dominates
        return (w[:, :, None] * self.train_targets[idx[:, :k]]).sum(1) / w.sum(1, keepdim=True)

    def _fit_and_select(self, z: Tensor, y: Tensor, val: Mapping[str, Tensor]) -> None:
        self.register_buffer("train_targets", y)
        evecs = torch.linalg.eigh(z.T @ z / z.shape[0])[1].flip(1)  # principal axes, largest variance first
        z_val = self.standardise(self.inputs(val))
        candidates, k_max = [], max(self.ks)
        # p ≥ F is no projection (p = 0): each distinct projection is tried once
        for p in dict.fromkeys(0 if p >= z.shape[1] else p for p in self.pca_components):
            self.register_buffer("projection", None if p == 0 else evecs[:, :p].contiguous())
            self.register_buffer("train_points", self._project(z))
            dist, idx = self._neighbours(self._project(z_val), k_max)
            for k in self.ks:
                score = self.metrics(self._average(dist, idx, k), val)[self.score_key]
                candidates.append({"pca_components": p, "k": k, "val_score": score})
        self.selected = self._choose(candidates)
        p = int(self.selected["pca_components"])
        self.register_buffer("projection", None if p == 0 else evecs[:, :p].contiguous())
        self.register_buffer("train_points", self._project(z))

    def _predict(self, x: Tensor) -> Tensor:
        k = int(self.selected["k"])
        dist, idx = self._neighbours(self._project(self.standardise(x)), k)
        return self._average(dist, idx, k)


BASELINES: dict[str, type[Baseline]] = {"ridge": RidgeBaseline, "knn": KNNBaseline}


def build_baseline(name: str, data_info: Mapping[str, Any], **kwargs: Any) -> Baseline:
    """The (unfitted) baseline registered as ``name``."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline '{name}'; allowed: {', '.join(sorted(BASELINES))}")
    return BASELINES[name](data_info=dict(data_info), **kwargs)
