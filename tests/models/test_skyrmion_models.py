"""The skyrmion models on synthetic skyrmions (docs/skyrmion-models.md): the metrics on hand-made numbers, the
forward network and baseline learning a field threshold and a radius law, unconverged samples out of the loss,
the inverse network refusing collapsed textures, the radial profile of a drawn skyrmion, the inverse ridge
reading φ from the profile, checkpoints that reload, and bad settings refused."""

import math

import pytest
import torch

from spsll.models.common import phi_and_T
from spsll.models.readout import fit_readout
from spsll.models.skyrmion_baselines import SkyrmionForwardRidge, SkyrmionInverseRidge, check_hyperparameters
from spsll.models.skyrmion_features import radial_profile
from spsll.models.skyrmion_forward import (
    SkyrmionForwardModel,
    expected_calibration_error,
    forward_metrics,
    survival_metrics,
)
from spsll.models.skyrmion_inverse import SkyrmionInverseModel

CROP = 24


def skyrmion_images(radius_nm: torch.Tensor, wall_nm: torch.Tensor, crop: int = CROP) -> torch.Tensor:
    """(B, 1, C, C) m_z = tanh((r − R)/w) about the crop's centre C/2 − ½ (the dataset's convention), 1 nm cells."""
    xs = torch.arange(crop, dtype=torch.float64) + 0.5 - crop / 2
    r = torch.hypot(xs[:, None], xs[None, :])
    return torch.tanh((r[None] - radius_nm[:, None, None]) / wall_nm[:, None, None])[:, None].float()


def synthetic(n: int, seed: int) -> dict[str, torch.Tensor]:
    """(σ, τ, B) in the dataset's box; survival below a φ-dependent critical field, R = 10 exp(−3B) φ^4 nm, and a
    wall width 1 + 4 (1 − φ) nm that carries φ into the image."""
    g = torch.Generator().manual_seed(seed)
    params = torch.stack([5 + 45 * torch.rand(n, generator=g), 1.25 * torch.rand(n, generator=g)], 1)
    field = 0.4 * torch.rand(n, generator=g)
    phi, _ = phi_and_T(params)
    survived = field < 0.2 + 0.8 * (phi - 0.9)
    radius = torch.where(survived, 10 * torch.exp(-3 * field) * phi**4, torch.full_like(field, math.nan))
    images = skyrmion_images(torch.nan_to_num(radius, nan=0.0).double(), (1 + 4 * (1 - phi)).double())
    return {"params": params, "B_T": field, "survived": survived, "converged": torch.ones(n, dtype=torch.bool),
            "radius_nm": radius, "image": images, "index": torch.arange(n)}


def info_of(batch: dict) -> dict:
    p, alive = batch["params"].double(), batch["survived"]
    phi, t = phi_and_T(p)
    log_r = batch["radius_nm"][alive].double().log()
    return {"params_mean": p.mean(0).tolist(), "params_std": p.std(0).tolist(), "B_mean_T": float(batch["B_T"].mean()),
            "B_std_T": float(batch["B_T"].std()), "phi_mean": float(phi.mean()), "phi_std": float(phi.std()),
            "T_mean_nm": float(t.mean()), "T_std_nm": float(t.std()), "log_radius_mean": float(log_r.mean()),
            "log_radius_std": float(log_r.std()), "crop_cells": CROP, "cell_nm": 1.0,
            "radius_mean_nm": float(batch["radius_nm"][alive].mean()),
            "radius_std_nm": float(batch["radius_nm"][alive].std())}


def survivors(batch: dict) -> dict:
    return {k: v[batch["survived"]] for k, v in batch.items()}


@pytest.fixture(scope="module")
def data():
    train, val = synthetic(400, 0), synthetic(200, 1)
    return train, val, info_of(train)


def test_metrics_on_hand_made_numbers():
    p, y = torch.tensor([0.1, 0.2, 0.85, 0.95]), torch.tensor([0.0, 1.0, 1.0, 1.0])
    m = survival_metrics(p, y)
    assert float(m["brier"]) == pytest.approx((0.01 + 0.64 + 0.0225 + 0.0025) / 4)
    assert float(m["accuracy"]) == pytest.approx(0.75)
    # bins: 0.1 (y 0), 0.2 (y 1), 0.8-0.9 (0.85, y 1), 0.9-1 (0.95, y 1): ECE = (0.1 + 0.8 + 0.15 + 0.05) / 4
    assert float(expected_calibration_error(p, y)) == pytest.approx(1.1 / 4)
    out = forward_metrics(p, torch.tensor([1.0, 1.0, 2.04, 3.0]), torch.tensor([False, True, True, True]),
                          torch.tensor([True, False, True, True]), torch.tensor([math.nan, 5.0, 2.0, 3.0]))
    assert float(out["accuracy"]) == pytest.approx(1.0)  # the unconverged second sample is out
    assert float(out["radius_rel_mae"]) == pytest.approx(0.01) and float(out["radius_within_2pct"]) == 1.0
    with pytest.raises(ValueError, match="no converged sample"):
        forward_metrics(p, p, y.bool(), torch.zeros(4, dtype=torch.bool), p)


def _fit(model, batches, steps, lr=3e-3):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for i in range(steps):
        loss = model.training_step(batches[i % len(batches)], i)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def test_forward_network_learns_the_threshold_and_the_radius(data):
    train, val, info = data
    torch.manual_seed(0)
    model = SkyrmionForwardModel(info, hidden=[32, 32], head_hidden=16)
    model.log = lambda *a, **k: None
    _fit(model, [{k: v[i::4] for k, v in train.items()} for i in range(4)], 600)
    out = model.predict_physical(val)
    m = forward_metrics(out["survival_probability"], out["radius_nm"], val["survived"], val["converged"],
                        val["radius_nm"])
    base = float(val["survived"].float().mean())
    assert float(m["brier"]) < 0.3 * base * (1 - base)  # the constant predictor's Brier is p(1 - p)
    assert float(m["accuracy"]) > 0.93 and float(m["radius_rel_mae"]) < 0.05


def test_unconverged_samples_leave_the_forward_loss_unchanged(data):
    train, _, info = data
    model = SkyrmionForwardModel(info)
    model.requires_grad_(False)
    batch = {k: v[:32] for k, v in train.items()}
    logit, z = model(batch["params"], batch["B_T"])
    ref = model.losses(logit, z, batch)
    bad = {**batch, "params": torch.cat([batch["params"], torch.tensor([[30.0, 0.1]])]),
           "B_T": torch.cat([batch["B_T"], torch.tensor([0.3])]), "survived": torch.cat([batch["survived"],
                                                                                        torch.tensor([True])]),
           "converged": torch.cat([batch["converged"], torch.tensor([False])]),
           "radius_nm": torch.cat([batch["radius_nm"], torch.tensor([1e6])])}
    logit, z = model(bad["params"], bad["B_T"])
    got = model.losses(logit, z, bad)
    assert float(got[0]) == pytest.approx(float(ref[0])) and float(got[1]) == pytest.approx(float(ref[1]))
    assert got[2:] == ref[2:]


def test_forward_baseline_fits_and_reloads(data, tmp_path):
    train, val, info = data
    model = SkyrmionForwardRidge(info)
    chosen = model.fit(train, val)
    assert set(chosen) == {"lambda_survival", "lambda_radius"} and len(model.selection) == len(model.lambdas)
    m = model.evaluate_split(val)
    # the synthetic threshold is linear in (φ, B) and log R nearly so: the baseline nearly recovers both
    assert m["accuracy"] > 0.97 and m["brier"] < 0.02 and m["radius_rel_mae"] < 0.01
    model.save(tmp_path / "f.ckpt")
    again = SkyrmionForwardRidge.load_from_checkpoint(tmp_path / "f.ckpt")
    assert torch.equal(again.predict_physical(val)["radius_nm"], model.predict_physical(val)["radius_nm"])
    with pytest.raises(ValueError, match="is not a skyrmion_inverse_ridge baseline checkpoint"):
        SkyrmionInverseRidge.load_from_checkpoint(tmp_path / "f.ckpt")


def test_radial_profile_of_a_drawn_skyrmion_crosses_zero_at_its_radius():
    images = skyrmion_images(torch.tensor([4.0, 6.5], dtype=torch.float64), torch.tensor([1.0, 1.5],
                                                                                        dtype=torch.float64))
    prof = radial_profile(torch.roll(images, (1, -1), (2, 3)), 44)  # off-centre by a cell: the centroid finds it
    r = (torch.arange(44, dtype=torch.float64) + 0.5) * (CROP / 2 - 1) / 44
    for b, radius in enumerate((4.0, 6.5)):
        k = int(torch.nonzero(prof[b] >= 0)[0])
        crossing = r[k - 1] + (r[k] - r[k - 1]) * (-prof[b, k - 1]) / (prof[b, k] - prof[b, k - 1])
        assert float(crossing) == pytest.approx(radius, abs=0.05)
    assert float(prof[:, 0].max()) < -0.9 and float(prof[:, -1].min()) > 0.95


def test_inverse_ridge_reads_phi_from_the_profile_and_reloads(data, tmp_path):
    train, val, info = data
    model = SkyrmionInverseRidge(info, n_bins=16, targets=["phi_T", "sigma_tau"])
    chosen = model.fit(survivors(train), survivors(val))
    assert chosen["targets"] in ("phi_T", "sigma_tau") and len(model.selection) == 2 * len(model.lambdas)
    m = model.evaluate_split(survivors(val))
    phi = phi_and_T(survivors(val)["params"].double())[0]
    assert m["mae_phi"] < 0.05 * float((phi - phi.mean()).abs().mean())  # the wall width carries φ
    model.save(tmp_path / "i.ckpt")
    again = SkyrmionInverseRidge.load_from_checkpoint(tmp_path / "i.ckpt")
    assert torch.equal(again.predict_physical(survivors(val))["params_nm"],
                       model.predict_physical(survivors(val))["params_nm"])
    with pytest.raises(ValueError, match="reads surviving skyrmions only"):
        model.predict_physical(val)


def test_inverse_network_shapes_noise_and_refusals(data):
    train, _, info = data
    model = SkyrmionInverseModel(info, channels=[8, 16], dense=[32], input_noise_mz=0.5)
    alive = {k: v[:8] for k, v in survivors(train).items()}
    out = model.eval().predict_physical(alive)
    assert out["params_nm"].shape == (8, 2) and out["std_nm"].shape == (8, 2) and bool((out["params_nm"] >= 0).all())
    model._noise_seed = 3
    noisy = model._augment(alive)
    assert not torch.equal(noisy["image"], alive["image"]) and float(noisy["image"].abs().max()) <= 1.0
    assert torch.equal(model._augment(alive)["image"], noisy["image"])  # seeded by (seed, epoch, row)
    served = model.serving_batch(model.example_input())
    assert served["image"].shape == (1, 1, CROP, CROP)
    with pytest.raises(ValueError, match="reads surviving skyrmions only"):
        model.training_step({k: v[:8] for k, v in train.items()}, 0)
    with pytest.raises(ValueError, match="must be a 24 x 24 crop"):
        model(torch.zeros(2, 1, 20, 20), torch.ones(2), torch.ones(2))
    with pytest.raises(ValueError, match="too small for 5 pooling blocks"):
        SkyrmionInverseModel(info, channels=[4, 4, 4, 4, 4])


class SplitData:
    """The DataModule's ``dataset(split)`` over synthetic survivors (what the ridge readout is fitted from)."""

    def __init__(self, **splits):
        self.splits = splits

    def dataset(self, split):
        b = self.splits[split]
        return [{k: v[i] for k, v in b.items()} for i in range(len(b["params"]))]


def test_inverse_network_starts_from_the_ridge_readout(data):
    train, val, info = data
    torch.manual_seed(0)
    model = SkyrmionInverseModel(info, channels=[8, 16], dense=[32], readout="ridge", readout_bins=16)
    fitted = fit_readout(model, SplitData(train=survivors(train), val=survivors(val)))
    assert fitted["lambda"] > 0 and bool(model.readout.fitted)
    out = model.eval().predict_physical(survivors(val))
    phi = phi_and_T(survivors(val)["params"].double())[0]
    # the network's last layer starts at zero: the answer is the ridge's on the profile and [R, B, log R, B², RB]
    assert float((out["phi"].double() - phi).abs().mean()) < 0.05 * float((phi - phi.mean()).abs().mean())
    assert out["std_nm"].shape == (int(survivors(val)["params"].shape[0]), 2)


@pytest.mark.parametrize(("name", "hparams", "task", "match"), [
    ("skyrmion_forward_ridge", {"targets": "phi_T"}, "skyrmion", r"has no hyper-parameter\(s\) \['targets'\]"),
    ("skyrmion_inverse_ridge", {}, "domain_wall", "needs dataset=skyrmion"),
    ("skyrmion_inverse_ridge", {"targets": ["phi"]}, "skyrmion", "model.targets must be one or a list"),
    ("skyrmion_inverse_ridge", {"n_bins": 1}, "skyrmion", "model.n_bins must be an integer >= 2"),
    ("skyrmion_inverse_ridge", {"input_noise_mz": -0.1}, "skyrmion", "model.input_noise_mz must be a number"),
    ("skyrmion_forward_ridge", {"lambdas": []}, "skyrmion", "model.lambdas must be a non-empty list"),
    ("skyrmion_forward_ridge", {"direction": "inverse"}, "skyrmion", "direction of skyrmion_forward_ridge is forward"),
])
def test_bad_baseline_settings_are_refused(name, hparams, task, match):
    with pytest.raises(ValueError, match=match):
        check_hyperparameters(name, task, hparams, "model.")


def test_bad_network_settings_are_refused(data):
    info = data[2]
    with pytest.raises(ValueError, match="hidden must be a non-empty list"):
        SkyrmionForwardModel(info, hidden=[])
    with pytest.raises(ValueError, match="radius_weight must be a finite number >= 0"):
        SkyrmionForwardModel(info, radius_weight=-1.0)
    with pytest.raises(ValueError, match="missing the required key 'phi_mean'"):
        SkyrmionForwardModel({k: v for k, v in info.items() if k != "phi_mean"})
    with pytest.raises(ValueError, match="log_radius_mean'\\] is not finite"):
        SkyrmionForwardModel({**info, "log_radius_mean": math.nan})
    with pytest.raises(ValueError, match="kernel_size must be an odd integer"):
        SkyrmionInverseModel(info, kernel_size=4)
