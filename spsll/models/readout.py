"""A linear readout under the inverse networks, and the reconciliation of four estimates into (σ, τ).

Why (docs/physics.md#readout): a ridge regression on the standardised observable predicts φ to a few
1e-5 and τ, T to ~0.1 nm from noiseless dispersions — better than the paper's networks, which learn
(σ, τ) from scratch. So with ``readout: ridge`` an inverse network predicts the four quantities
q = [σ, τ, φ, T] (normalised with the train split's statistics) as

    q̂ = R z + f(z),

where z is the standardised input, R a ridge map fitted in closed form on the train split before
the first epoch (its λ chosen on the validation split, then frozen) and f the network, whose last
layer starts at zero: training starts from the ridge answer and can only learn what it misses.

Measurement noise ν per input feature (``input_noise``, in the input's unit) enters twice: the
network sees it as augmentation, and the ridge is fitted to the *expected* noisy normal equations,
ZᵀZ + N·diag(ν²/s_j²) (s_j the feature's standardisation scale), which is the classical result that
input noise acts as a per-feature Tikhonov term.

Four numbers for two unknowns: (σ, τ) is the weighted least-squares point of the four estimates,

    min_{σ, τ} Σ_q ((q(σ, τ) − q̂) / w_q)²,   φ = σ/(σ+τ), T = στ/(σ+τ),

solved by Gauss–Newton from (σ̂, τ̂); w are the per-sample standard deviations of the gaussian head,
or the validation RMS errors of the last validation epoch. Its covariance (Jᵀ W⁻² J)⁻¹ at the
solution is the stated covariance of (σ, τ) (carried to φ and T by the delta method).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

QUANTITIES = ("sigma", "tau", "phi", "T")
READOUTS = ("none", "ridge")
LAMBDA_GRID = tuple(10.0**e for e in range(-14, 3))  # ridge λ (per sample, standardised units): chosen on validation
GN_STEPS = 12  # Gauss–Newton steps of the reconciliation (tests: converged to round-off)


def four_quantities(params_nm: Tensor, eps: float = 1e-12) -> Tensor:
    """(…, 2) [σ, τ] → (…, 4) [σ, τ, φ, T]."""
    s, t = params_nm[..., 0], params_nm[..., 1]
    tot = (s + t).clamp_min(eps)
    return torch.stack([s, t, s / tot, s * t / tot], -1)


def _jacobian(s: Tensor, t: Tensor) -> Tensor:
    """∂[σ, τ, φ, T]/∂[σ, τ], (B, 4, 2)."""
    tot2 = (s + t).clamp_min(1e-12) ** 2
    one, zero = torch.ones_like(s), torch.zeros_like(s)
    return torch.stack([torch.stack([one, zero], -1), torch.stack([zero, one], -1),
                        torch.stack([t / tot2, -s / tot2], -1), torch.stack([t**2 / tot2, s**2 / tot2], -1)], -2)


def _jacobian_phi_total(phi: Tensor, tot: Tensor) -> Tensor:
    """∂[σ, τ, φ, T]/∂[φ, s] with σ = φs, τ = (1 − φ)s, T = φ(1 − φ)s; (B, 4, 2)."""
    one, zero = torch.ones_like(phi), torch.zeros_like(phi)
    return torch.stack([torch.stack([tot, phi], -1), torch.stack([-tot, 1 - phi], -1),
                        torch.stack([one, zero], -1), torch.stack([(1 - 2 * phi) * tot, phi * (1 - phi)], -1)], -2)


def reconcile(q_nm: Tensor, w: Tensor, total_min_nm: float = 1e-3) -> tuple[Tensor, Tensor]:
    """Weighted least-squares (σ, τ) of four estimates ``q_nm`` (B, 4) with scales ``w`` (B, 4) or (4,).

    Solved in (φ, s = σ + τ), where the physical box is simply 0 ≤ φ ≤ 1, s ≥ ``total_min_nm`` (a
    step that leaves it is clipped onto it), started from the φ estimate and s = σ̂ + τ̂. Returns
    (params (B, 2) nm, covariance of (σ, τ) (B, 2, 2) nm²)."""
    q = q_nm.double()
    w = torch.as_tensor(w, dtype=torch.float64, device=q.device).expand_as(q).clamp_min(1e-30)
    phi = q[:, 2].clamp(0.0, 1.0)
    tot = torch.maximum(q[:, 0] + q[:, 1], q[:, 0]).clamp_min(total_min_nm)
    eye = 1e-18 * torch.eye(2, dtype=q.dtype, device=q.device)

    def four(phi, tot):
        return torch.stack([phi * tot, (1 - phi) * tot, phi, phi * (1 - phi) * tot], -1)

    for _ in range(GN_STEPS):
        jw = _jacobian_phi_total(phi, tot) / w[..., None]
        r = (q - four(phi, tot)) / w
        h = jw.transpose(1, 2) @ jw + eye
        step = torch.linalg.solve(h, (jw.transpose(1, 2) @ r[..., None]))[..., 0]
        phi = (phi + step[:, 0]).clamp(0.0, 1.0)
        tot = (tot + step[:, 1]).clamp_min(total_min_nm)
    jw = _jacobian_phi_total(phi, tot) / w[..., None]
    cov_ps = torch.linalg.inv(jw.transpose(1, 2) @ jw + eye)
    j_st = torch.stack([torch.stack([tot, phi], -1), torch.stack([-tot, 1 - phi], -1)], -2)  # ∂(σ, τ)/∂(φ, s)
    cov = j_st @ cov_ps @ j_st.transpose(1, 2)
    params = torch.stack([phi * tot, (1 - phi) * tot], -1)
    return params.to(q_nm.dtype), cov.to(q_nm.dtype)


def spread_from_cov(params_nm: Tensor, cov_nm: Tensor) -> dict[str, Tensor]:
    """Standard deviations of σ, τ, φ, T from the covariance of (σ, τ) (delta method)."""
    j = _jacobian(params_nm[:, 0].to(cov_nm), params_nm[:, 1].to(cov_nm))  # (B, 4, 2)
    var = torch.einsum("bqi,bij,bqj->bq", j, cov_nm, j).clamp_min(0)
    sd = var.sqrt()
    return {"cov_nm": cov_nm, "std_nm": sd[:, :2], "std_phi": sd[:, 2], "std_T_nm": sd[:, 3]}


class RidgeReadout(nn.Module):
    """q_z = [z, 1] W: a frozen ridge map from standardised features to the normalised four quantities.

    ``W`` is a persistent buffer (it travels in the checkpoint); ``fitted`` says whether it holds a
    fit (a resumed training keeps the restored one instead of refitting)."""

    def __init__(self, n_features: int, n_out: int = 4):
        super().__init__()
        self.register_buffer("W", torch.zeros(n_features + 1, n_out, dtype=torch.float64))
        # the features' own train-split scale: the model's input standardisation floors small
        # standard deviations (a network should not see amplified noise), which would let λ shrink
        # exactly the faint features a linear map needs (walls: 2× the σ error)
        self.register_buffer("z_mean", torch.zeros(n_features, dtype=torch.float64))
        self.register_buffer("z_std", torch.ones(n_features, dtype=torch.float64))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))
        self.register_buffer("lam", torch.zeros((), dtype=torch.float64))

    def forward(self, z: Tensor) -> Tensor:
        """(B, F) → (B, n_out), computed in float64 (the fitted map can have large, cancelling weights)."""
        zz = (z.double() - self.z_mean) / self.z_std
        return (zz @ self.W[:-1] + self.W[-1]).to(z.dtype)

    @torch.no_grad()
    def fit(self, z_train: Tensor, q_train: Tensor, z_val: Tensor, q_val: Tensor,
            noise_var: Tensor | None = None, grid=LAMBDA_GRID) -> dict[str, float]:
        """Fit on the train split for each λ of ``grid``, keep the one with the smallest validation MSE.

        ``noise_var`` (F,): the variance of the measurement noise per standardised feature; N × it is
        added to the diagonal of the normal equations (the expected effect of that noise)."""
        mean = z_train.double().mean(0)
        std = z_train.double().std(0)
        std = torch.where(std > 1e-12 * float(std.max().clamp_min(1e-300)), std, torch.ones_like(std))
        z, q = (z_train.double() - mean) / std, q_train.double()
        n, f = z.shape
        a = torch.cat([z, torch.ones(n, 1, dtype=z.dtype)], 1)
        gram, rhs = a.T @ a, a.T @ q
        diag = torch.zeros(f + 1, dtype=z.dtype)
        if noise_var is not None:
            diag[:f] = n * noise_var.double() / std**2
        av = torch.cat([(z_val.double() - mean) / std, torch.ones(len(z_val), 1, dtype=z.dtype)], 1)
        best = None
        for lam in grid:
            reg = diag + n * lam
            reg[-1] = 0.0  # the intercept is not shrunk
            w = torch.linalg.solve(gram + torch.diag(reg), rhs)
            mse = float(((av @ w - q_val.double()) ** 2).mean()) if len(z_val) else float(lam)
            if best is None or mse < best[0]:
                best = (mse, lam, w)
        mse, lam, w = best
        self.W.copy_(w)
        self.z_mean.copy_(mean)
        self.z_std.copy_(std)
        self.fitted.fill_(True)
        self.lam.fill_(lam)
        return {"lambda": lam, "val_mse": mse}


def _stack_split(model, dataset) -> tuple[Tensor, Tensor]:
    """Standardised readout features (N, F) and physical [σ, τ] (N, 2) of a whole split."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=1024, shuffle=False)
    z, p = [], []
    with torch.no_grad():
        for batch in loader:
            batch = {k: v.to(model.device) for k, v in batch.items()}
            z.append(model.readout_features(batch).double().cpu())
            p.append(batch["params"].double().cpu())
    return torch.cat(z), torch.cat(p)


def fit_readout(model, datamodule) -> dict[str, float]:
    """Fit ``model.readout`` (and the four quantities' normalisation) on the datamodule's train split,
    choosing λ on its validation split. Called once, before the first epoch."""
    if datamodule is None or not hasattr(datamodule, "dataset"):
        raise ValueError(f"{type(model).__name__}: readout=ridge fits its readout on the train split before "
                         "training and needs the SPSLLDataModule passed to Trainer.fit(datamodule=...)")
    z_tr, p_tr = _stack_split(model, datamodule.dataset("train"))
    z_va, p_va = _stack_split(model, datamodule.dataset("val"))
    q_tr, q_va = four_quantities(p_tr), four_quantities(p_va)
    mean, std = q_tr.mean(0), q_tr.std(0).clamp_min(1e-9)
    model.q_mean.copy_(mean.to(model.q_mean))
    model.q_std.copy_(std.to(model.q_std))
    info = model.readout.fit(z_tr, (q_tr - mean) / std, z_va, (q_va - mean) / std,
                             noise_var=model.feature_noise_var().double().cpu())
    if len(z_va):
        q_hat = model.readout(z_va.to(model.readout.W)) * std + mean
        rms = ((q_hat - q_va) ** 2).mean(0).sqrt().clamp_min(1e-9)
        model.residual_scale.copy_(rms.to(model.residual_scale))
        model.ridge_scale.copy_(rms.to(model.ridge_scale))
    return info
