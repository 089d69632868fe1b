"""Closed-form baselines of the skyrmion models (docs/skyrmion-models.md#baselines), fitted by
``train.py model=skyrmion_forward_ridge|skyrmion_inverse_ridge`` on the same splits as the networks and
scored by ``evaluate.py`` with their metrics. Solves in float64.

* ``skyrmion_forward_ridge``: on the five standardised features x = [σ, τ, φ, T, B] (the forward
  network's), **logistic regression** for survival,
  w = argmin (1/n) Σ BCE(w₀ + xᵀw, y) + λ_s ‖w‖² (Newton's method with step halving; converged samples),
  and **ridge** on the log radius, v = argmin (1/n) ‖X v − (log R − mean)‖² + λ_r ‖v‖² (survivors); λ_s is
  chosen from ``lambdas`` by the validation log loss, λ_r by the validation radius relative MAE.
* ``skyrmion_inverse_ridge``: survivors only (a collapsed texture holds no information,
  :mod:`spsll.models.skyrmion_inverse`). Features (:mod:`spsll.models.skyrmion_features`): the azimuthally
  averaged m_z profile at ``n_bins`` radii about the core, then [R, B, log R, B², R·B]; standardised; ridge
  to ``targets`` [σ, τ] or [φ, T] (σ = T/(1 − φ), τ = T/φ; :func:`spsll.models.baselines.decode_params`),
  the pair (targets, λ) chosen by the validation MAE of φ. ``input_noise_mz`` ν adds the expected-noise
  term of :class:`spsll.models.baselines.RidgeBaseline`, diag(noise variance / s²) per feature (the
  profile's bins only).

Over 300 lines because the two baselines are one piece, as in :mod:`spsll.models.baselines`: their checks,
checkpoint and registry live in the shared base, and each subclass is its fit and its choice on validation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from spsll.models.baselines import TARGETS as INVERSE_TARGETS
from spsll.models.baselines import _grid, decode_params, encode_params, read_baseline_checkpoint
from spsll.models.common import STD_FLOOR, check_data_info, inverse_metrics, phi_and_T
from spsll.models.skyrmion_features import check_bins, feature_noise_variance, skyrmion_features
from spsll.models.skyrmion_forward import TASK, forward_metrics, parameter_features
from spsll.models.skyrmion_inverse import survivors_only

CHECKPOINT_FORMAT = "spsll-skyrmion-baseline-1"
F64 = torch.float64
NEWTON_STEPS = 100
LAMBDAS = tuple(10.0**e for e in range(-8, 3))
ALLOWED = {"skyrmion_forward_ridge": ("direction", "lambdas"),
           "skyrmion_inverse_ridge": ("direction", "lambdas", "targets", "n_bins", "input_noise_mz")}
DIRECTION = {"skyrmion_forward_ridge": "forward", "skyrmion_inverse_ridge": "inverse"}


def check_hyperparameters(name: str, task: str, hparams: Mapping[str, Any], prefix: str = "") -> dict:
    """``hparams`` of skyrmion baseline ``name`` on a ``task`` dataset, checked (a ValueError names
    ``<prefix><key>``) and normalised; train.py's check before any data is read, and the constructors'."""
    if name not in ALLOWED:
        raise ValueError(f"unknown skyrmion baseline '{name}'; allowed: {', '.join(sorted(ALLOWED))}")
    unknown = [k for k in hparams if k not in ALLOWED[name]]
    if unknown:
        raise ValueError(f"model {name} has no hyper-parameter(s) {unknown}; allowed: {sorted(ALLOWED[name])}")
    if task != TASK:
        raise ValueError(f"{name} reads skyrmions and needs dataset=skyrmion (or a variant of it), got a {task} "
                         "dataset")
    out = dict(hparams)
    if out.get("direction", DIRECTION[name]) != DIRECTION[name]:
        raise ValueError(f"{prefix}direction of {name} is {DIRECTION[name]}, got {out['direction']!r}")
    if "lambdas" in out:
        out["lambdas"] = _grid(out["lambdas"], prefix + "lambdas", False, 0.0)
    if "targets" in out:
        t = [out["targets"]] if isinstance(out["targets"], str) else list(out["targets"] or [])
        if not t or any(x not in INVERSE_TARGETS for x in t) or len(set(t)) != len(t):
            raise ValueError(f"{prefix}targets must be one or a list of distinct {list(INVERSE_TARGETS)} (each tried, "
                             f"the best on the validation split kept), got {out['targets']!r}")
        out["targets"] = t
    if "n_bins" in out:
        check_bins(out["n_bins"], None, prefix + "n_bins")  # against the crop: when the data are read
    if "input_noise_mz" in out:
        v = out["input_noise_mz"]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{prefix}input_noise_mz must be a number >= 0 (noise per m_z cell), got {v!r}")
        out["input_noise_mz"] = float(v)
    return out


class SkyrmionBaseline(nn.Module):
    """Fit, choose, score and save; subclasses give the inputs, the fit and the prediction."""

    name = ""
    task = TASK
    direction = ""
    rows = "all"
    score_key = ""

    def __init__(self, data_info: Mapping[str, Any], lambdas: Sequence[float] = LAMBDAS):
        super().__init__()
        self.data_info = check_data_info(data_info, ("crop_cells", "cell_nm"), self.name)
        self.lambdas = check_hyperparameters(self.name, TASK, {"lambdas": lambdas})["lambdas"]
        self.state: dict[str, Tensor] = {}
        self.selected: dict[str, Any] = {}
        self.selection: list[dict] = []
        self.fitted = False

    def hyper_parameters(self) -> dict:
        return {"lambdas": list(self.lambdas)}

    @staticmethod
    def standardiser(x: Tensor) -> tuple[Tensor, Tensor]:
        mean, std = x.mean(0), x.std(0, unbiased=False)
        return mean, std.clamp_min(STD_FLOOR * float(std.max()) if float(std.max()) > 0 else 1.0)

    @staticmethod
    def ridge_path(z: Tensor, y: Tensor, lambdas: Sequence[float], extra: Tensor | None = None) -> list[Tensor]:
        """Ridge weights (F, O) on centred targets for each λ: one eigendecomposition of ZᵀZ/n (+ diag(extra))."""
        n = z.shape[0]
        gram = z.T @ z / n + (torch.diag(extra) if extra is not None else 0.0)
        evals, evecs = torch.linalg.eigh(gram)
        proj = evecs.T @ (z.T @ y / n)
        return [evecs @ (proj / (evals.clamp_min(0.0) + lam)[:, None]) for lam in lambdas]

    def _require_fitted(self) -> None:
        if not self.fitted:
            raise RuntimeError(f"{self.name} baseline is not fitted; call fit(train, val) or load a checkpoint")

    # -- checkpoint -------------------------------------------------------------------------------
    def save(self, path) -> None:
        torch.save({"format": CHECKPOINT_FORMAT, "baseline": self.name, "hyper_parameters": self.hyper_parameters(),
                    "selected": dict(self.selected), "selection": list(self.selection),
                    "data_info": dict(self.data_info),
                    "fitted": {k: v.detach().cpu().clone() for k, v in self.state.items()}}, str(path))

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, map_location="cpu", **ignored):
        ck = read_baseline_checkpoint(checkpoint_path, map_location, CHECKPOINT_FORMAT, cls.name)
        model = cls(ck["data_info"], **ck["hyper_parameters"])
        model.state = {k: v.to(F64) for k, v in ck["fitted"].items()}
        model.selected, model.selection, model.fitted = dict(ck["selected"]), list(ck["selection"]), True
        return model


def _logistic(z: Tensor, y: Tensor, lam: float) -> Tensor:
    """(F + 1,) [w₀, w] minimising (1/n) Σ BCE + λ‖w‖² (Newton, step halving)."""
    n, f = z.shape
    a = torch.cat([torch.ones(n, 1, dtype=F64), z], 1)
    w = torch.zeros(f + 1, dtype=F64)
    pen = torch.full((f + 1,), 2 * lam, dtype=F64)
    pen[0] = 0.0

    def objective(v):
        s = a @ v
        return (nn.functional.softplus(s) - y * s).mean() + lam * v[1:].pow(2).sum()

    obj = objective(w)
    for _ in range(NEWTON_STEPS):
        p = torch.sigmoid(a @ w)
        grad = a.T @ (p - y) / n + pen * w
        hess = (a * (p * (1 - p))[:, None]).T @ a / n + torch.diag(pen) + 1e-12 * torch.eye(f + 1, dtype=F64)
        step = torch.linalg.solve(hess, grad)
        t, cand = 1.0, w - step
        new = objective(cand)
        while new > obj and t > 1e-8:  # step halving
            t /= 2
            cand = w - t * step
            new = objective(cand)
        if new > obj:  # no descent left: at the minimum to rounding
            break
        done = float(obj - new) < 1e-12
        w, obj = cand, new
        if done:
            break
    return w


class SkyrmionForwardRidge(SkyrmionBaseline):
    """Logistic regression (survival) and ridge (log radius) on [σ, τ, φ, T, B] (module docstring)."""

    name = "skyrmion_forward_ridge"
    direction = "forward"
    score_key = "brier"

    def __init__(self, data_info: Mapping[str, Any], lambdas: Sequence[float] = LAMBDAS, direction: str = "forward"):
        check_hyperparameters(self.name, TASK, {"direction": direction})
        super().__init__(data_info, lambdas)

    def features(self, batch: Mapping[str, Tensor]) -> Tensor:
        return parameter_features(batch["params"].to(F64), batch["B_T"].to(F64))

    def _z(self, batch):
        return (self.features(batch) - self.state["input_mean"]) / self.state["input_std"]

    def fit(self, train: Mapping[str, Tensor], val: Mapping[str, Tensor]) -> dict:
        """Fit on the converged (survival) and surviving (radius) train samples; choose both λ on ``val``."""
        ok, alive = train["converged"].bool(), train["survived"].bool() & train["converged"].bool()
        ok_v, alive_v = val["converged"].bool(), val["survived"].bool() & val["converged"].bool()
        if int(ok.sum()) < 2 or int(alive.sum()) < 2 or int(ok_v.sum()) < 1:
            raise ValueError(f"{self.name}: needs >= 2 converged and >= 2 surviving train samples and >= 1 converged "
                             f"validation sample, got {int(ok.sum())}, {int(alive.sum())} and {int(ok_v.sum())}")
        x = self.features(train)[ok]
        self.state["input_mean"], self.state["input_std"] = self.standardiser(x)
        z, y = (x - self.state["input_mean"]) / self.state["input_std"], alive[ok].to(F64)
        z_val, y_val = self._z(val)[ok_v], alive_v[ok_v].to(F64)
        clf = []
        for lam in self.lambdas:
            w = _logistic(z, y, lam)
            p = torch.sigmoid(w[0] + z_val @ w[1:]).clamp(1e-12, 1 - 1e-12)
            clf.append((float(-(y_val * p.log() + (1 - y_val) * (1 - p).log()).mean()), w, lam))
        best = min(range(len(clf)), key=lambda i: (clf[i][0], i))
        self.state["survival_weight"] = clf[best][1]
        # the survivors' own centring: the intercept is unpenalised
        za, log_r = self._z(train)[alive], train["radius_nm"][alive].to(F64).log()
        z_mean = za.mean(0)
        weights = [w[:, 0] for w in self.ridge_path(za - z_mean, (log_r - log_r.mean())[:, None], self.lambdas)]
        biases = [(log_r.mean() - z_mean @ w).reshape(1) for w in weights]
        zr, r_val = self._z(val)[alive_v], val["radius_nm"][alive_v].to(F64)
        rad = [float(((zr @ w + b).exp() - r_val).abs().div(r_val).mean()) if len(r_val) else math.inf
               for w, b in zip(weights, biases, strict=True)]
        best_r = min(range(len(rad)), key=lambda i: (rad[i], i))
        self.state["radius_weight"], self.state["radius_bias"] = weights[best_r], biases[best_r]
        self.selected = {"lambda_survival": clf[best][2], "lambda_radius": self.lambdas[best_r]}
        self.selection = [{"lambda": lam, "val_log_loss": c[0], "val_radius_rel_mae": r}
                          for lam, c, r in zip(self.lambdas, clf, rad, strict=True)]
        self.fitted = True
        return dict(self.selected)

    @torch.no_grad()
    def predict_physical(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """{"survival_probability", "survival_logit", "radius_nm" (if it survives)} (B,) float32."""
        self._require_fitted()
        z, w = self._z(batch), self.state["survival_weight"]
        logit = w[0] + z @ w[1:]
        radius = (z @ self.state["radius_weight"] + self.state["radius_bias"]).exp()
        return {"survival_probability": torch.sigmoid(logit).float(), "survival_logit": logit.float(),
                "radius_nm": radius.float()}

    def evaluate_split(self, batch: Mapping[str, Tensor]) -> dict[str, float]:
        out = self.predict_physical(batch)
        m = forward_metrics(out["survival_probability"], out["radius_nm"], batch["survived"], batch["converged"],
                            batch["radius_nm"])
        return {k: float(v) for k, v in m.items()}

    def serving_batch(self, x: Tensor) -> dict[str, Tensor]:
        return {"params": x[:, :2], "B_T": x[:, 2]}

    def serving_output(self, out: Mapping[str, Tensor]) -> Tensor:
        return torch.stack([out["survival_probability"], out["radius_nm"]], 1).float()

    def example_input(self) -> Tensor:
        mean = self.state["input_mean"]
        return torch.stack([mean[0], mean[1], mean[4]])[None].float()


class SkyrmionInverseRidge(SkyrmionBaseline):
    """Ridge from the radial m_z profile, R and B to (σ, τ) or (φ, T) (module docstring)."""

    name = "skyrmion_inverse_ridge"
    direction = "inverse"
    rows = "survivors"
    score_key = "mae_phi"

    def __init__(self, data_info: Mapping[str, Any], lambdas: Sequence[float] = LAMBDAS,
                 targets: str | Sequence[str] = ("phi_T", "sigma_tau"), n_bins: int = 24, input_noise_mz: float = 0.0,
                 direction: str = "inverse"):
        checked = check_hyperparameters(self.name, TASK, {"direction": direction, "targets": targets,
                                                          "n_bins": n_bins, "input_noise_mz": input_noise_mz})
        super().__init__(data_info, lambdas)
        self.targets, self.input_noise_mz = checked["targets"], checked["input_noise_mz"]
        self.n_bins = check_bins(n_bins, int(self.data_info["crop_cells"]), "n_bins")

    def hyper_parameters(self) -> dict:
        return {**super().hyper_parameters(), "targets": list(self.targets), "n_bins": self.n_bins,
                "input_noise_mz": self.input_noise_mz}

    def features(self, batch: Mapping[str, Tensor]) -> Tensor:
        survivors_only(batch, self.name)
        c = int(self.data_info["crop_cells"])
        if tuple(batch["image"].shape[-2:]) != (c, c):
            raise ValueError(f"{self.name}: the image must be a {c} x {c} crop, got {tuple(batch['image'].shape[-2:])}")
        return skyrmion_features(batch, self.n_bins)

    def noise_variance(self) -> Tensor:
        """(F,) expected variance of ``input_noise_mz`` in the standardised features."""
        var = feature_noise_variance(int(self.data_info["crop_cells"]), self.n_bins, self.input_noise_mz)
        return var / self.state["input_std"] ** 2

    def _decode(self, y: Tensor, targets: str) -> Tensor:
        return decode_params(y, targets, self.state["param_bounds"])

    def fit(self, train: Mapping[str, Tensor], val: Mapping[str, Tensor]) -> dict:
        """Fit on the train survivors; choose (targets, λ) by the validation MAE of φ."""
        if len(train["params"]) < 3 or len(val["params"]) < 1:
            raise ValueError(f"{self.name}: needs >= 3 surviving train samples and >= 1 surviving validation sample, "
                             f"got {len(train['params'])} and {len(val['params'])}")
        x = self.features(train)
        self.state["input_mean"], self.state["input_std"] = self.standardiser(x)
        z = (x - self.state["input_mean"]) / self.state["input_std"]
        p = train["params"].to(F64)
        self.state["param_bounds"] = torch.stack([p.amin(0).clamp_min(0.0), p.amax(0)])
        z_val = (self.features(val) - self.state["input_mean"]) / self.state["input_std"]
        true_val = val["params"].to(F64)
        cands, fits = [], {}
        for targets in self.targets:
            y = encode_params(p, targets)
            bias = y.mean(0)
            for lam, w in zip(self.lambdas, self.ridge_path(z, y - bias, self.lambdas, self.noise_variance()),
                              strict=True):
                score = float(inverse_metrics(self._decode(z_val @ w + bias, targets), true_val)["mae_phi"])
                fits[(targets, lam)] = (w, bias)
                cands.append({"targets": targets, "lambda": lam, "val_score": score})
        best = min(range(len(cands)), key=lambda i: (cands[i]["val_score"], i))
        targets, lam = cands[best]["targets"], cands[best]["lambda"]
        self.state["weight"], self.state["bias"] = fits[(targets, lam)]
        self.selected, self.selection, self.fitted = {"targets": targets, "lambda": lam}, cands, True
        return dict(self.selected)

    def _params(self, batch: Mapping[str, Tensor]) -> Tensor:
        z = (self.features(batch) - self.state["input_mean"]) / self.state["input_std"]
        return self._decode(z @ self.state["weight"] + self.state["bias"], str(self.selected["targets"]))

    @torch.no_grad()
    def predict_physical(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """{"params_nm": (B, 2), "phi": (B,), "T_nm": (B,)} float32, as the networks'."""
        self._require_fitted()
        params = self._params(batch)
        phi, t = phi_and_T(params)
        return {"params_nm": params.float(), "phi": phi.float(), "T_nm": t.float()}

    def evaluate_split(self, batch: Mapping[str, Tensor]) -> dict[str, float]:
        self._require_fitted()
        return {k: float(v) for k, v in inverse_metrics(self._params(batch), batch["params"].to(F64)).items()}

    def serving_batch(self, x: Tensor) -> dict[str, Tensor]:
        c = int(self.data_info["crop_cells"])
        return {"image": x[:, : c * c].reshape(-1, 1, c, c), "radius_nm": x[:, c * c], "B_T": x[:, c * c + 1]}

    def example_input(self) -> Tensor:
        c, cell = int(self.data_info["crop_cells"]), float(self.data_info["cell_nm"])
        r = float(self.data_info.get("radius_mean_nm", c * cell / 6))
        xs = (torch.arange(c) + 0.5 - c / 2) * cell
        image = torch.tanh((torch.hypot(xs[:, None], xs[None, :]) - r) / cell)
        scalars = torch.tensor([r, float(self.data_info.get("B_mean_T", 0.1))])
        return torch.cat([image.reshape(-1), scalars])[None].float()


SKYRMION_BASELINES: dict[str, type[SkyrmionBaseline]] = {"skyrmion_forward_ridge": SkyrmionForwardRidge,
                                                         "skyrmion_inverse_ridge": SkyrmionInverseRidge}


def build_skyrmion_baseline(name: str, data_info: Mapping[str, Any], **kwargs: Any) -> SkyrmionBaseline:
    """The (unfitted) skyrmion baseline registered as ``name``."""
    if name not in SKYRMION_BASELINES:
        raise ValueError(f"unknown skyrmion baseline '{name}'; allowed: {', '.join(sorted(SKYRMION_BASELINES))}")
    return SKYRMION_BASELINES[name](data_info=dict(data_info), **kwargs)
