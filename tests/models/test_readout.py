"""The ridge readout under the inverse networks and the reconciliation of [σ, τ, φ, T] into (σ, τ)."""

import pytest
import pytorch_lightning as pl
import torch

from spsll.models import MODELS, build_model
from spsll.models import readout as R
from tests.models.conftest import DictDataset, loader
from tests.models.test_modules import SMALL, get_data, trainer


class SplitData(pl.LightningDataModule):
    """The two splits the readout fit reads (``dataset(split)``), as SPSLLDataModule provides them."""

    def __init__(self, train, val):
        super().__init__()
        self.sets = {"train": train, "val": val}

    def dataset(self, split):
        return self.sets[split]

    def train_dataloader(self):
        return loader(self.sets["train"], 8, shuffle=True)

    def val_dataloader(self):
        return loader(self.sets["val"], 16)


def test_reconcile_returns_consistent_estimates_exactly():
    """Four mutually consistent estimates are a fixed point, whatever the weights."""
    p = torch.tensor([[5.0, 0.0], [20.0, 3.75], [50.0, 15.0], [1.0, 20.0]], dtype=torch.float64)
    q = R.four_quantities(p)
    for w in (torch.tensor([1.0, 0.1, 1e-5, 0.1]), torch.tensor([1e-3, 1.0, 1.0, 1.0])):
        out, cov = R.reconcile(q, w.double())
        assert torch.allclose(out, p, atol=1e-9)
        assert torch.all(torch.linalg.eigvalsh(cov) > 0)


def test_reconcile_weights_the_precise_estimate():
    """A precise φ and an imprecise (σ, τ): the answer keeps φ and moves σ, τ onto its line; an
    infeasible negative τ estimate still gives a physical answer."""
    true = torch.tensor([[20.0, 5.0]], dtype=torch.float64)
    q = R.four_quantities(true).clone()
    q[0, 0] += 4.0  # σ off by 4 nm
    q[0, 1] = -1.0  # τ below its physical range
    out, _ = R.reconcile(q, torch.tensor([4.0, 1.0, 1e-6, 10.0], dtype=torch.float64))
    phi = out[0, 0] / out.sum()
    assert float(phi) == pytest.approx(0.8, abs=1e-5)
    assert float(out[0, 1]) >= 0.0 and float(out[0, 0]) > 0.0


def test_reconcile_covariance_is_the_gauss_newton_inverse():
    """Halving every weight halves every standard deviation (the covariance is (JᵀW⁻²J)⁻¹)."""
    p = torch.tensor([[12.0, 4.0]], dtype=torch.float64)
    q = R.four_quantities(p)
    w = torch.tensor([2.0, 0.5, 1e-3, 0.3], dtype=torch.float64)
    _, c1 = R.reconcile(q, w)
    _, c2 = R.reconcile(q, w / 2)
    assert torch.allclose(c2, c1 / 4, rtol=1e-8)


def test_ridge_fit_recovers_a_linear_map_and_chooses_lambda_on_validation():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(200, 6, generator=g, dtype=torch.float64)
    w_true = torch.randn(6, 4, generator=g, dtype=torch.float64)
    q = z @ w_true + 0.3
    r = R.RidgeReadout(6)
    info = r.fit(z[:150], q[:150], z[150:], q[150:])
    assert info["lambda"] == min(R.LAMBDA_GRID)  # noiseless linear data: the least shrinkage wins
    assert torch.allclose(r(z[150:]).double(), q[150:], atol=1e-4)
    # validation targets that disagree with training (flipped sign) make strong shrinkage best:
    # the choice follows the validation split, not the training fit
    info = R.RidgeReadout(6).fit(z[:150], q[:150], z[150:], -q[150:])
    assert info["lambda"] == max(R.LAMBDA_GRID)


def test_expected_noise_term_shrinks_the_noisy_features():
    """The expected-noise term weighs a feature by its noise: a noisy copy of a signal feature loses its weight."""
    g = torch.Generator().manual_seed(1)
    s = torch.randn(500, 1, generator=g, dtype=torch.float64)
    z = torch.cat([s, s], 1)  # the same signal twice; the second will be declared noisy
    q = (2 * s).expand(-1, 4)
    r = R.RidgeReadout(2)
    r.fit(z, q, z, q, noise_var=torch.tensor([0.0, 10.0]), grid=(1e-8,))
    assert abs(float(r.W[1, 0])) < 1e-3 * abs(float(r.W[0, 0]))


@pytest.mark.parametrize("name", ["inverse_cnn", "width_regressor"])
def test_training_starts_from_the_ridge_and_round_trips(name, dispersion_data, wall_data, tmp_path):
    torch.manual_seed(0)
    info, ds = get_data(name, dispersion_data, wall_data)
    train, val = (DictDataset(**{k: v[:24] for k, v in ds.t.items()}),
                  DictDataset(**{k: v[24:] for k, v in ds.t.items()}))
    model = build_model(name, info, **SMALL[name], readout="ridge", uncertainty="gaussian")
    R.fit_readout(model, SplitData(train, val))
    assert bool(model.readout.fitted)
    batch = next(iter(loader(val, 8)))
    q_nm, sd = model.eval().outputs(batch)
    ridge_nm = model.readout(model.readout_features(batch)) * model.q_std + model.q_mean
    assert torch.allclose(q_nm, ridge_nm)  # the network's last layer starts at zero
    assert torch.allclose(sd, model.ridge_scale.expand_as(sd))  # stated spread starts at the ridge's errors

    model.train()
    tr = trainer(2)
    tr.fit(model, datamodule=SplitData(train, val))
    assert set(dict(tr.callback_metrics)) >= {"val/mae_phi", "val/mae_sigma_nm", "val/loss", "val/nll"}
    ckpt = tmp_path / "m.ckpt"
    tr.save_checkpoint(ckpt)
    loaded = MODELS[name].load_from_checkpoint(ckpt).eval()
    assert bool(loaded.readout.fitted)
    a, b = model.eval().predict_physical(batch), loaded.predict_physical(batch)
    assert set(a) >= {"params_nm", "phi", "T_nm", "cov_nm", "std_nm", "std_phi", "std_T_nm"}
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6)


def test_readout_options_are_checked(dispersion_data):
    info, _ = dispersion_data
    with pytest.raises(ValueError, match="readout must be one of"):
        build_model("inverse_cnn", info, readout="lasso")
    with pytest.raises(ValueError, match="input_noise must be"):
        build_model("inverse_cnn", info, readout="ridge", input_noise_thz=-0.01)
    with pytest.raises(ValueError, match="phi_weight"):
        build_model("inverse_cnn", info, readout="ridge", phi_weight=1.0)
    model = build_model("inverse_cnn", info, readout="ridge")
    with pytest.raises(ValueError, match="needs the SPSLLDataModule"):
        R.fit_readout(model, None)


def test_noise_augmentation_is_per_sample_not_per_batch(dispersion_data):
    """Each sample's training noise depends on (seed, epoch, its file row) only: split over two batches
    (or two processes) it is the same as in one, so trainer=ddp keeps the numbers of one process."""
    info, ds = dispersion_data
    model = build_model("inverse_cnn", info, input_noise_thz=0.01)
    model._noise_seed = 7
    batch = {"dispersion": ds.t["dispersion"][:4], "params": ds.t["params"][:4], "index": torch.arange(10, 14)}
    whole = model._augment(batch)["dispersion"]
    halves = torch.cat([model._augment({k: v[:2] for k, v in batch.items()})["dispersion"],
                        model._augment({k: v[2:] for k, v in batch.items()})["dispersion"]])
    assert torch.equal(whole, halves)
    noise = whole - batch["dispersion"]
    assert 0.005 < float(noise.std()) < 0.02  # the stated level, 0.01 THz
    model._noise_seed = 8
    assert not torch.equal(model._augment(batch)["dispersion"], whole)  # another training seed, other noise
