"""The heteroscedastic head: its likelihood, its delta method, and the models that carry it."""

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from spsll.evaluation.evaluate import _calibration
from spsll.models import MODELS, build_model
from spsll.models import uncertainty as U
from tests.models.conftest import loader
from tests.models.test_modules import SMALL, get_data


def test_nll_minimum_is_the_sample_covariance():
    """Maximising the Gaussian likelihood over a constant (μ = 0, L) gives the sample covariance:
    the head states what it sees. 20 000 correlated samples (corr 0.99, the σ–τ situation); Adam
    is stopped after 600 steps, so 2 % (sampling error ≈ √(2/B) ≈ 1 %, plus the optimiser's)."""
    torch.manual_seed(0)
    B = 20_000
    L_true = torch.tensor([[0.5, 0.0], [0.8, 0.1]])
    y = (L_true @ torch.randn(2, B)).T
    raw = torch.zeros(3, requires_grad=True)
    opt = torch.optim.Adam([raw], lr=0.05)
    for _ in range(600):
        mean, chol = U.split(torch.cat([torch.zeros(B, 2), raw.expand(B, 3)], 1))
        loss = U.gaussian_nll(mean, chol, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    cov = (chol[0] @ chol[0].T).detach()
    assert torch.allclose(cov, torch.cov(y.T), rtol=0.02, atol=2e-3)


def test_physical_spread_matches_monte_carlo():
    """Delta method for φ = σ/(σ+τ), T = στ/(σ+τ) against sampling the stated Gaussian: a small
    spread (1 % of σ) keeps the linearisation accurate to < 1 %; 200 000 draws → 0.3 % noise; 3 %."""
    params = torch.tensor([[20.0, 5.0], [40.0, 12.0]], dtype=torch.float64)
    scale = torch.tensor([10.0, 4.0], dtype=torch.float64)  # params_std (nm per normalised unit)
    chol = torch.tensor([[[0.02, 0.0], [0.04, 0.01]], [[0.03, 0.0], [-0.01, 0.02]]], dtype=torch.float64)
    got = U.physical_spread(params, chol, scale)
    g = torch.Generator().manual_seed(1)
    for b in range(2):
        draws = params[b] + (chol[b] @ torch.randn(2, 200_000, generator=g, dtype=torch.float64)).T * scale
        s, t = draws[:, 0], draws[:, 1]
        assert float(got["std_nm"][b, 0]) == pytest.approx(float(s.std()), rel=0.03)
        assert float(got["std_nm"][b, 1]) == pytest.approx(float(t.std()), rel=0.03)
        assert float(got["std_phi"][b]) == pytest.approx(float((s / (s + t)).std()), rel=0.03)
        assert float(got["std_T_nm"][b]) == pytest.approx(float((s * t / (s + t)).std()), rel=0.03)


@pytest.mark.parametrize("name", ["inverse_cnn", "width_regressor"])
def test_models_state_a_spread_and_reload_it(name, dispersion_data, wall_data, tmp_path):
    info, ds = get_data(name, dispersion_data, wall_data)
    model = build_model(name, info, **SMALL[name], uncertainty="gaussian")
    tr = pl.Trainer(max_epochs=2, logger=False, enable_checkpointing=False, accelerator="cpu",
                    enable_progress_bar=False, enable_model_summary=False)
    tr.fit(model, loader(ds, 8), loader(ds, 16))
    assert "train/nll" in tr.callback_metrics and "val/nll" in tr.callback_metrics
    batch = next(iter(loader(ds, 16)))
    out = model.eval().predict_physical(batch)
    assert out["params_nm"].shape == (16, 2) and out["cov_nm"].shape == (16, 2, 2)
    eig = torch.linalg.eigvalsh(out["cov_nm"].double())
    assert (eig > 0).all()  # a Cholesky factor: positive definite whatever the weights
    for key in ("std_phi", "std_T_nm"):
        assert out[key].shape == (16,) and torch.isfinite(out[key]).all() and (out[key] > 0).all()
    tr.save_checkpoint(tmp_path / "m.ckpt")
    loaded = MODELS[name].load_from_checkpoint(tmp_path / "m.ckpt").eval()
    assert torch.allclose(loaded.predict_physical(batch)["std_phi"], out["std_phi"])
    with pytest.raises(ValueError, match="uncertainty must be one of"):
        build_model(name, info, uncertainty="ensemble")
    with pytest.raises(ValueError, match="uncertainty_weight must be > 0"):
        build_model(name, info, uncertainty="gaussian", uncertainty_weight=0.0)


def test_the_mean_is_not_pulled_by_the_likelihood(dispersion_data):
    """In the module's training step the NLL sees the detached mean: the gradient reaching the mean
    outputs is the paper loss's alone (MSE of the normalised targets), whatever the NLL weight."""
    info, ds = dispersion_data
    torch.manual_seed(0)
    model = build_model("inverse_cnn", info, **SMALL["inverse_cnn"], uncertainty="gaussian", uncertainty_weight=3.0)
    captured = {}

    def keep(_module, _inputs, out):
        out.retain_grad()
        captured["out"] = out

    model.net.register_forward_hook(keep)
    batch = next(iter(loader(ds, 16)))
    with pytest.warns(UserWarning, match="self.log"):  # no Trainer attached: logging is skipped
        model.training_step(batch, 0).backward()
    out = captured["out"]
    target = model.params_norm.normalise(batch["params"])
    expected = 2 * (out[:, :2] - target).detach() / target.numel()  # d MSE / d mean
    assert torch.allclose(out.grad[:, :2], expected, atol=1e-7)
    assert out.grad[:, 2:].abs().sum() > 0  # the covariance outputs do learn


def test_validation_fitted_scale_calibrates_an_overconfident_model():
    """A model stating sd = truth/2.5: raw ±1 sd covers P(|z| ≤ 0.4) = 31 %; the scale fitted on a
    validation sample (≈ 2.5) brings the test coverage to 68.3 %. 4000 samples each: binomial
    sd of a coverage ≈ 0.7 %, of the fitted quantile ≈ 2 %; tolerances 3 % and 5 %."""
    rng = np.random.default_rng(0)

    def split(n):
        true = np.stack([rng.uniform(5, 50, n), rng.uniform(0.5, 15, n)], 1)
        sd = np.stack([0.02 * true[:, 0] + 0.5, 0.02 * true[:, 1] + 0.1], 1)
        pred = true + rng.standard_normal((n, 2)) * sd
        s, t = pred[:, 0], pred[:, 1]
        # stated: 2.5× too small, independent σ, τ, delta method for φ, T
        stated = sd / 2.5
        g_phi = np.stack([t, -s], 1) / (s + t)[:, None] ** 2
        g_T = np.stack([t**2, s**2], 1) / (s + t)[:, None] ** 2
        return {"params_nm": pred, "true_params": true, "std_nm": stated,
                "std_phi": np.sqrt(((g_phi * stated) ** 2).sum(1)), "std_T_nm": np.sqrt(((g_T * stated) ** 2).sum(1))}

    test, val = split(4000), split(4000)
    info, z, scales = _calibration(test, val, 4000)
    assert info["coverage_raw"]["sigma_1sd"] == pytest.approx(0.311, abs=0.03)
    for q in ("sigma", "tau"):
        assert scales[q] == pytest.approx(2.5, rel=0.05)
        assert info["coverage"][f"{q}_1sd"] == pytest.approx(0.683, abs=0.03)
        assert info["coverage"][f"{q}_2sd"] == pytest.approx(0.954, abs=0.03)
    for q in ("phi", "T"):  # nonlinear, but the fitted scale still sets the 1 sd coverage
        assert info["coverage"][f"{q}_1sd"] == pytest.approx(0.683, abs=0.03)
    assert set(z) == {"sigma", "tau", "phi", "T"}
    none_info, _, none_scales = _calibration(test, None, 4000)
    assert none_scales is None and none_info["coverage"] is None
