"""Exact Gaussian-process regression, the nonlinear closed-form baseline (docs/coercivity.md#baselines).

One independent GP per target column, each with its own hyper-parameters: an ARD squared-exponential
kernel plus white noise on inputs and targets standardised with the training set's mean and std,

    k(x, x') = s_f² exp(−½ Σ_d (x_d − x'_d)² / ℓ_d²) + s_n² δ(x, x'),

with (ℓ_d, s_f, s_n) chosen by maximising the log marginal likelihood

    log p(y | X) = −½ yᵀ K⁻¹ y − Σ log diag(L) − n/2 log 2π,   K = L Lᵀ,

by L-BFGS from two starting length scales (the better optimum is kept). Predictions are the posterior
mean K_*ᵀ K⁻¹ y and the predictive std √(s_f² − ‖L⁻¹ K_*‖² + s_n²) (the noise included: the spread of
a new observation, what a user's uncertainty is about), unstandardised.

Exact means O(n³) per target and optimiser step; ``MAX_POINTS`` (5000 training points, a few seconds
per Cholesky in float64) bounds it, and more points are refused rather than silently subsampled. The
hyper-parameters are optimised on at most ``hyper_points`` training points (a seeded subset, default
1000: 2000 points took 256 s for two targets on one thread, ~8x the cost of 1000), the posterior then
conditions on all of them. The
noise std has a floor (``NOISE_FLOOR`` of the target's std) so that K stays positive definite on data
without noise (deterministic simulations).
"""

from __future__ import annotations

import math

import numpy as np
import torch

F64 = torch.float64
MAX_POINTS = 5000
NOISE_FLOOR = 1e-4        # s_n ≥ 1e-4 of the target's std: conditioning, not a model of the data
STD_FLOOR = 1e-12         # a constant input column is standardised by 1, not divided by 0
INITIAL_LENGTHS = (1.0, 3.0)


def _as_2d(name: str, a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be 1D or 2D (samples x columns), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or infinite values ({int((~np.isfinite(a)).sum())} of {a.size})")
    return a


def _kernel(a: torch.Tensor, b: torch.Tensor, log_ell: torch.Tensor, log_sf: torch.Tensor) -> torch.Tensor:
    a, b = a / log_ell.exp(), b / log_ell.exp()
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return (2.0 * log_sf).exp() * torch.exp(-0.5 * d2.clamp_min(0.0))


def _noise(raw: torch.Tensor) -> torch.Tensor:
    return NOISE_FLOOR + raw.exp()


def _neg_log_marginal(x, y, log_ell, log_sf, raw_sn) -> torch.Tensor:
    n = x.shape[0]
    k = _kernel(x, x, log_ell, log_sf) + _noise(raw_sn) ** 2 * torch.eye(n, dtype=F64)
    chol = torch.linalg.cholesky(k)
    alpha = torch.cholesky_solve(y[:, None], chol)[:, 0]
    return 0.5 * (y @ alpha) + torch.log(torch.diagonal(chol)).sum() + 0.5 * n * math.log(2.0 * math.pi)


def _fit_one(x: torch.Tensor, y: torch.Tensor, max_iter: int) -> tuple[torch.Tensor, float]:
    """Hyper-parameters [log ℓ_1..d, log s_f, raw s_n] of one target, best of the starting points."""
    best, best_nll = None, math.inf
    for ell0 in INITIAL_LENGTHS:
        p = torch.tensor([math.log(ell0)] * x.shape[1] + [0.0, math.log(0.1)], dtype=F64, requires_grad=True)
        opt = torch.optim.LBFGS([p], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

        def closure(opt=opt, p=p):
            opt.zero_grad()
            loss = _neg_log_marginal(x, y, p[:-2], p[-2], p[-1])
            loss.backward()
            return loss

        try:
            opt.step(closure)
            with torch.no_grad():
                nll = float(_neg_log_marginal(x, y, p[:-2], p[-2], p[-1]))
        except torch.linalg.LinAlgError:  # an optimiser step left the PD cone: this start is discarded
            continue
        if math.isfinite(nll) and nll < best_nll:
            best, best_nll = p.detach().clone(), nll
    if best is None:
        raise RuntimeError("Gaussian process: the marginal likelihood could not be optimised from any start "
                           "(the kernel matrix is not positive definite); check for duplicated inputs with "
                           "different targets at zero noise")
    return best, best_nll


class GaussianProcess:
    """Exact GP regression, one independent GP per target column (see the module docstring)."""

    def __init__(self, max_iter: int = 100, hyper_points: int = 1000, seed: int = 0):
        for name, v, low in (("max_iter", max_iter, 1), ("hyper_points", hyper_points, 3), ("seed", seed, 0)):
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")
        self.max_iter, self.hyper_points, self.seed = max_iter, hyper_points, seed
        self._state: dict[str, np.ndarray] | None = None

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, X, y) -> GaussianProcess:
        x, t = _as_2d("X", X), _as_2d("y", y)
        if x.shape[0] != t.shape[0]:
            raise ValueError(f"X has {x.shape[0]} samples but y has {t.shape[0]}")
        if x.shape[0] < 3:
            raise ValueError(f"a Gaussian process needs at least 3 training samples, got {x.shape[0]}")
        if x.shape[0] > MAX_POINTS:
            raise ValueError(f"{x.shape[0]} training samples exceed the exact GP's limit of {MAX_POINTS} "
                             "(O(n^3) memory and time); fit on a subset chosen by the caller")
        x_mean, x_std = x.mean(0), x.std(0)
        x_std = np.where(x_std > STD_FLOOR, x_std, 1.0)
        y_mean, y_std = t.mean(0), t.std(0)
        y_std = np.where(y_std > STD_FLOOR, y_std, 1.0)
        xs = torch.from_numpy((x - x_mean) / x_std)
        ys = torch.from_numpy((t - y_mean) / y_std)
        sub = np.arange(len(xs))
        if len(xs) > self.hyper_points:
            sub = np.sort(np.random.default_rng(self.seed).choice(len(xs), self.hyper_points, replace=False))
        params, alphas, nlls = [], [], []
        for j in range(t.shape[1]):
            p, nll = _fit_one(xs[sub], ys[sub, j], self.max_iter)
            with torch.no_grad():
                k = _kernel(xs, xs, p[:-2], p[-2]) + _noise(p[-1]) ** 2 * torch.eye(len(xs), dtype=F64)
                alphas.append(torch.cholesky_solve(ys[:, j:j + 1], torch.linalg.cholesky(k))[:, 0].numpy())
            params.append(p.numpy())
            nlls.append(nll)
        self._state = {"x_train": xs.numpy(), "x_mean": x_mean, "x_std": x_std, "y_mean": y_mean, "y_std": y_std,
                       "params": np.stack(params), "alpha": np.stack(alphas, 1), "neg_log_marginal": np.array(nlls)}
        return self

    # -- prediction ------------------------------------------------------------------------------
    def predict(self, X, include_noise: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and predictive std, each (m, n_targets), in the targets' units."""
        s = self._require_fitted()
        x = _as_2d("X", X)
        if x.shape[1] != s["x_train"].shape[1]:
            raise ValueError(f"X has {x.shape[1]} columns but the GP was fitted on {s['x_train'].shape[1]}")
        xq = torch.from_numpy((x - s["x_mean"]) / s["x_std"])
        xt = torch.from_numpy(s["x_train"])
        mean, std = [], []
        with torch.no_grad():
            for j, p in enumerate(torch.from_numpy(s["params"])):
                ks = _kernel(xt, xq, p[:-2], p[-2])
                k = _kernel(xt, xt, p[:-2], p[-2]) + _noise(p[-1]) ** 2 * torch.eye(len(xt), dtype=F64)
                v = torch.linalg.solve_triangular(torch.linalg.cholesky(k), ks, upper=False)
                var = (2.0 * p[-2]).exp() - (v * v).sum(0)
                if include_noise:
                    var = var + _noise(p[-1]) ** 2
                mean.append((ks.T @ torch.from_numpy(s["alpha"][:, j])).numpy())
                std.append(var.clamp_min(0.0).sqrt().numpy())
        return (np.stack(mean, 1) * s["y_std"] + s["y_mean"], np.stack(std, 1) * s["y_std"])

    # -- state -----------------------------------------------------------------------------------
    @property
    def length_scales(self) -> np.ndarray:
        """(n_targets, n_inputs) ARD length scales in the inputs' own units (large: the input is ignored)."""
        s = self._require_fitted()
        return np.exp(s["params"][:, :-2]) * s["x_std"][None, :]

    @property
    def noise_std(self) -> np.ndarray:
        """(n_targets,) the fitted white-noise std in the targets' units."""
        s = self._require_fitted()
        return (NOISE_FLOOR + np.exp(s["params"][:, -1])) * s["y_std"]

    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self._require_fitted().items()}

    @classmethod
    def from_state_dict(cls, state: dict) -> GaussianProcess:
        missing = {"x_train", "x_mean", "x_std", "y_mean", "y_std", "params", "alpha"} - set(state)
        if missing:
            raise ValueError(f"not a GaussianProcess state: missing {sorted(missing)}")
        gp = cls()
        gp._state = {k: np.asarray(v, dtype=np.float64) for k, v in state.items()}
        return gp

    def _require_fitted(self) -> dict[str, np.ndarray]:
        if self._state is None:
            raise RuntimeError("the GaussianProcess is not fitted: call fit(X, y) first")
        return self._state
