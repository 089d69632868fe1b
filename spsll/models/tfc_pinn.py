"""tfc_pinn: (σ, τ) → dispersion ω(k) in THz, a TFC-constrained physics-informed network
(docs/physics.md#tfc-pinn; paper "Prediction of dispersion relations", Methods "Implementation of TFC").

Architecture (:class:`spsll.models.nets.TFCDispersionNet`): the scalar features — normalised σ, τ
and, with ``derived_features`` (default), φ = σ/(σ+τ) and T/T_ref (T = στ/(σ+τ), T_ref the T of the
train means) — are broadcast along k and stacked with the reference channels (the normalised ideal
dispersion X₀[1 − cos ka] + f_gap of the material, the same for every sample, and optionally
cos(ka)); conv blocks + adaptive pooling extract features; a dense head predicts z → X =
x_max·sigmoid(z₀), c_n = c_scale·tanh(z_n); the constrained expression (Eq. 8)
ω(k) = X[1 − cos ka] + f_gap + Σ c_n b_n(k) is evaluated on the k grid. The sample's own dispersion
is never an input.

Loss = data + physics:
* data: MSE(ω_pred, dispersion) in THz² (``normalise_data_loss=True`` divides it by
  dispersion_std², i.e. the MSE of the standardised curves; the default keeps THz² so that the data
  and physics terms share units);
* physics (PINN residuals, :func:`physics_residuals`, on k tensors with ``requires_grad`` and
  ``torch.autograd.grad``, ``create_graph=True`` in training), each with a weight (0 disables):
  - ``symmetry``  mean_k (ω(k) − ω(−k))² over the data grid (THz²);
  - ``boundary``  mean over k = ±π/a of (∂ω/∂k̃)², k̃ = ka/π, the group velocity at the zone
    boundary in THz per unit normalised wavenumber (THz²);
  - ``small_k``   mean over a few small k of [(ω(k) − f_gap − X(1 − cos ka))/k̃²]² (THz²): the
    corrections must vanish faster than k² — the small-k stiffness belongs to X. Dividing by k̃²
    makes the residual the k² coefficient of the corrections instead of a vanishing number.
  With ``basis="harmonic"`` (default) the first two vanish by construction; with ``basis="poly"``
  (the paper's k̃^{n+1}) they do not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from spsll.models import optimization
from spsll.models.common import ModelBase, Standardiser, check_data_info, phi_and_T
from spsll.models.nets import TFCConstrainedExpression, TFCDispersionNet

REQUIRED_KEYS = ("params_mean", "params_std", "k_rad_per_nm", "dispersion_mean", "dispersion_std",
                 "lattice_constant_nm", "f_gap_thz", "x_max_thz", "ideal_dispersion_thz")
RESIDUALS = ("symmetry", "boundary", "small_k")


def physics_residuals(omega: Callable[[Tensor], Tensor], X: Tensor, lattice_constant_nm: float,
                      f_gap_thz: float, k_symmetry: Tensor, k_tilde_small: Sequence[float],
                      create_graph: bool = False) -> dict[str, Tensor]:
    """PINN residuals of a dispersion ω(k) (THz; k rad/nm), see the module docstring.

    ``omega`` maps a per-sample k tensor (B, M) to ω (B, M); X (B,) is the amplitude of the ideal
    form used by the small-k limit; ``k_symmetry`` (M,) are the k where evenness is tested;
    ``k_tilde_small`` are the small normalised wavenumbers k̃ = ka/π of the small-k limit (both
    signs are used). Derivatives come from ``torch.autograd.grad`` on k (``create_graph=True`` to
    train through them). Returns {"symmetry", "boundary", "small_k"} scalars.
    """
    a = float(lattice_constant_nm)
    b = X.shape[0]
    opts = {"dtype": X.dtype, "device": X.device}

    ks = k_symmetry.to(**opts).unsqueeze(0).expand(b, -1)
    symmetry = (omega(ks) - omega(-ks)).pow(2).mean()

    kb = torch.tensor([-math.pi / a, math.pi / a], **opts).expand(b, -1).clone().requires_grad_(True)
    (slope,) = torch.autograd.grad(omega(kb).sum(), kb, create_graph=create_graph)
    boundary = (slope * (math.pi / a)).pow(2).mean()  # ∂ω/∂k̃ = ∂ω/∂k · π/a

    kt = torch.tensor(list(k_tilde_small), **opts)
    kt = torch.cat([-kt, kt])
    kk = (kt * (math.pi / a)).expand(b, -1)
    corr = omega(kk) - f_gap_thz - X.unsqueeze(-1) * (1.0 - torch.cos(kk * a))
    small_k = (corr / kt.pow(2)).pow(2).mean()
    return {"symmetry": symmetry, "boundary": boundary, "small_k": small_k}


class TFCPINNModel(ModelBase):
    """LightningModule of tfc_pinn (see the module docstring). Batches: {"params": (B, 2) nm,
    "dispersion": (B, K) THz}; ``predict_physical`` needs only "params"."""

    task = "dispersion"

    def __init__(self, data_info: Mapping[str, Any], basis: str = "harmonic", n_corr: int = 5,
                 c_scale_thz: float = 0.1, derived_features: bool = True, cos_channel: bool = True,
                 channels: Sequence[int] = (32, 64, 64), kernel_sizes: Sequence[int] = (5, 5, 5),
                 pool_size: int = 4, head_hidden: Sequence[int] = (128, 64), dropout: float = 0.0,
                 w_symmetry: float = 0.1, w_boundary: float = 0.1, w_small_k: float = 0.1,
                 small_k_points: Sequence[float] = (0.02, 0.05, 0.1), normalise_data_loss: bool = False,
                 optimizer: Mapping[str, Any] | None = None, scheduler: Mapping[str, Any] | None = None):
        optimizer, scheduler = optimization.plain_specs(optimizer, scheduler)  # saved with the hyper-parameters
        super().__init__(optimizer, scheduler, "tfc_pinn")
        info = check_data_info(data_info, REQUIRED_KEYS, "tfc_pinn")
        self.save_hyperparameters(logger=False)  # the run logs the flattened config itself
        k = torch.tensor([float(v) for v in info["k_rad_per_nm"]], dtype=torch.float32)
        ideal = torch.tensor([float(v) for v in info["ideal_dispersion_thz"]], dtype=torch.float32)
        if ideal.shape != k.shape:
            raise ValueError(f"tfc_pinn: data_info['ideal_dispersion_thz'] has {ideal.numel()} values, "
                             f"data_info['k_rad_per_nm'] {k.numel()}")
        self.data_info = info
        self.a = float(info["lattice_constant_nm"])
        self.f_gap = float(info["f_gap_thz"])
        self.params_norm = Standardiser(info["params_mean"], info["params_std"])
        self.disp_std = float(info["dispersion_std"])
        ref = [(ideal - float(info["dispersion_mean"])) / self.disp_std]
        if cos_channel:
            ref.append(torch.cos(k * self.a))
        mu_s, mu_t = (max(float(v), 0.0) for v in info["params_mean"])
        self.t_ref = mu_s * mu_t / (mu_s + mu_t) if mu_s * mu_t > 0 else 1.0
        self.derived_features = bool(derived_features)
        expression = TFCConstrainedExpression(self.a, self.f_gap, float(info["x_max_thz"]), basis=basis,
                                              n_corr=n_corr, c_scale_thz=c_scale_thz)
        self.net = TFCDispersionNet(k, torch.stack(ref), 4 if derived_features else 2, expression,
                                    channels=channels, kernel_sizes=kernel_sizes, pool_size=pool_size,
                                    head_hidden=head_hidden, dropout=dropout)
        self.weights = {"symmetry": float(w_symmetry), "boundary": float(w_boundary),
                        "small_k": float(w_small_k)}
        self.small_k_points = tuple(float(v) for v in small_k_points)
        if any(v <= 0 for v in self.small_k_points):
            raise ValueError(f"tfc_pinn: small_k_points must be > 0 (k̃ = ka/π), got {self.small_k_points}")
        self.normalise_data_loss = bool(normalise_data_loss)
        self.val_outputs: dict[str, Tensor] = {}
        self._val_chunks: dict[str, list[Tensor]] = {}
        self._abs_err: dict[str, Tensor] = {}
        self._n_seen: dict[str, int] = {}

    # -- model ------------------------------------------------------------------------------------
    @property
    def expression(self) -> TFCConstrainedExpression:
        return self.net.expression

    @property
    def k_grid(self) -> Tensor:
        return self.net.k

    def features(self, params_nm: Tensor) -> Tensor:
        """(B, 2) physical [σ, τ] → (B, F) network features (normalised σ, τ [, φ, T/T_ref])."""
        feats = [self.params_norm.normalise(params_nm)]
        if self.derived_features:
            phi, t = phi_and_T(params_nm.clamp_min(0.0))
            feats += [phi.unsqueeze(1), (t / self.t_ref).unsqueeze(1)]
        return torch.cat(feats, dim=1)

    def forward(self, params_nm: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(B, 2) nm → ω on the k grid (B, K) THz, X (B,) THz, c (B, n_corr) THz."""
        return self.net(self.features(params_nm))

    def dispersion_at(self, params_nm: Tensor, k_rad_per_nm: Tensor) -> Tensor:
        """ω at arbitrary k (K,) or (B, K) rad/nm, THz."""
        X, c = self.net.coefficients(self.features(params_nm))
        return self.expression(k_rad_per_nm.to(X.dtype), X, c)

    @torch.no_grad()
    def predict_physical(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """{"dispersion_thz": (B, K), "X_thz": (B,), "c_thz": (B, n_corr), "k_rad_per_nm": (K,)};
        call ``eval()`` first. The output is already in THz (the TFC expression is physical)."""
        omega, X, c = self(batch["params"])
        return {"dispersion_thz": omega, "X_thz": X, "c_thz": c, "k_rad_per_nm": self.k_grid}

    def predict_step(self, batch, batch_idx: int, dataloader_idx: int = 0):
        return self.predict_physical(batch)

    # -- losses -----------------------------------------------------------------------------------
    def residuals(self, X: Tensor, c: Tensor, create_graph: bool) -> dict[str, Tensor]:
        """PINN residuals of the predicted curves; works inside Lightning's inference mode too
        (the coefficients are then constants and only k needs a graph)."""
        expr = self.expression

        def run(X_, c_, graph):
            return physics_residuals(lambda k: expr(k, X_, c_), X_, self.a, self.f_gap, self.k_grid,
                                     self.small_k_points, create_graph=graph)

        if torch.is_grad_enabled() and not torch.is_inference_mode_enabled():
            return run(X, c, create_graph)
        with torch.inference_mode(False), torch.enable_grad():
            out = run(X.detach().clone(), c.detach().clone(), False)
        return {k: v.detach() for k, v in out.items()}

    def _step(self, batch: Mapping[str, Tensor], split: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        target = batch["dispersion"]
        omega, X, c = self(batch["params"])
        loss_data = torch.nn.functional.mse_loss(omega, target)
        if self.normalise_data_loss:
            loss_data = loss_data / self.disp_std**2
        res = self.residuals(X, c, create_graph=split == "train")
        loss_physics = sum(self.weights[name] * res[name] for name in RESIDUALS)
        loss = loss_data + loss_physics
        bs = target.shape[0]
        log = {"loss": loss, "loss_data": loss_data, "loss_physics": loss_physics,
               **{f"residual_{name}": res[name] for name in RESIDUALS}}
        for name, val in log.items():
            self.log(f"{split}/{name}", val, on_step=False, on_epoch=True, prog_bar=name == "loss",
                     batch_size=bs)
        abs_err = (omega.detach() - target).abs()
        self.log(f"{split}/mae_thz", abs_err.mean(), on_step=False, on_epoch=True, batch_size=bs)
        self._abs_err[split] = self._abs_err.get(split, 0.0) + abs_err.sum(0).float()
        self._n_seen[split] = self._n_seen.get(split, 0) + bs
        return loss, omega.detach(), X.detach(), c.detach()

    def mae_per_k(self, split: str) -> Tensor | None:
        """Per-k MAE (THz) of the current/last epoch of ``split``, (K,) on CPU."""
        if not self._n_seen.get(split):
            return None
        return (self._abs_err[split] / self._n_seen[split]).cpu()

    def _reset(self, split: str) -> None:
        self._abs_err.pop(split, None)
        self._n_seen.pop(split, None)

    def _log_max_mae_k(self, split: str) -> None:
        per_k = self.mae_per_k(split)
        if per_k is not None:
            self.log(f"{split}/max_mae_k_thz", per_k.max().to(self.device), on_step=False, on_epoch=True)

    # -- loops ------------------------------------------------------------------------------------
    def on_train_epoch_start(self):
        self._reset("train")

    def training_step(self, batch, batch_idx):
        loss, *_ = self._step(batch, "train")
        return loss

    def on_train_epoch_end(self):
        self._log_max_mae_k("train")

    def on_validation_epoch_start(self):
        self._reset("val")
        self.val_outputs = {}
        self._val_chunks = {}

    def validation_step(self, batch, batch_idx):
        loss, omega, X, c = self._step(batch, "val")
        chunk = {"dispersion_pred_thz": omega, "dispersion_true_thz": batch["dispersion"],
                 "params_nm": batch["params"], "X_thz": X, "c_thz": c}
        for key, val in chunk.items():
            self._val_chunks.setdefault(key, []).append(val.detach().float().cpu())
        self.val_outputs = {k: torch.cat(v) for k, v in self._val_chunks.items()}
        self.val_outputs["mae_per_k_thz"] = self.mae_per_k("val")
        self.val_outputs["k_rad_per_nm"] = self.k_grid.detach().cpu()
        return loss

    def on_validation_epoch_end(self):
        self._log_max_mae_k("val")
