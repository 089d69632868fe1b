import pytest
import pytorch_lightning as pl
import torch

from spsll.models import MODELS, MONITOR, build_model
from spsll.models.common import STD_FLOOR, Standardiser, phi_and_T
from spsll.models.inverse import REQUIRED_KEYS as INVERSE_KEYS
from spsll.models.optimization import adam, plateau
from spsll.models.tfc_pinn import REQUIRED_KEYS as TFC_KEYS
from spsll.models.width import REQUIRED_KEYS as WIDTH_KEYS
from tests.models.conftest import F_GAP, X0, loader

SMALL = {
    "inverse_cnn": {"channels": (8, 16, 16, 8), "dense": (32, 16), "dropout": 0.0, "optimizer": adam(3e-3)},
    "tfc_pinn": {"channels": (8, 8), "kernel_sizes": (3, 3), "head_hidden": (32,), "optimizer": adam(3e-3)},
    "width_regressor": {"channels": (8, 8, 8, 8), "fusion_hidden": (32,), "dropout": 0.0, "optimizer": adam(3e-3)},
}
KEYS = {"inverse_cnn": INVERSE_KEYS, "tfc_pinn": TFC_KEYS, "width_regressor": WIDTH_KEYS}
TASK = {"inverse_cnn": "dispersion", "tfc_pinn": "dispersion", "width_regressor": "domain_wall",
        "mask_vae": "microstructures", "anchor_regressor": "hysteresis", "anchor_cnn": "hysteresis",
        "skyrmion_forward": "skyrmion", "skyrmion_inverse": "skyrmion"}  # the mask and skyrmion models have
# their own tests (tests/models/test_mask_models.py, test_skyrmion_models.py); SMALL lists the models of this file

INVERSE_METRICS = ["loss", "mae_sigma_nm", "mae_tau_nm", "mae_phi", "mae_T_nm"]
TFC_METRICS = ["loss", "loss_data", "loss_physics", "residual_symmetry", "residual_boundary",
               "residual_small_k", "mae_thz", "max_mae_k_thz"]


def get_data(name, dispersion_data, wall_data):
    return dispersion_data if TASK[name] == "dispersion" else wall_data


def trainer(epochs):
    return pl.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, accelerator="cpu",
                      enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=1)


def test_registry_and_unknown_name(dispersion_data):
    assert set(MODELS) == set(TASK)
    for name, cls in MODELS.items():
        assert cls.task == TASK[name]
        assert cls.monitor == MONITOR == "val/loss" and cls.monitor_mode == "min"
    with pytest.raises(ValueError, match="inverse_cnn.*tfc_pinn.*width_regressor"):
        build_model("nope", dispersion_data[0])


@pytest.mark.parametrize("name", list(SMALL))
def test_missing_data_info_key(name, dispersion_data, wall_data):
    info, _ = get_data(name, dispersion_data, wall_data)
    build_model(name, info, **SMALL[name])
    for key in KEYS[name]:
        bad = {k: v for k, v in info.items() if k != key}
        with pytest.raises(ValueError, match=f"'{key}'"):
            build_model(name, bad, **SMALL[name])


def test_bad_statistics_rejected(wall_data):
    info, _ = wall_data
    with pytest.raises(ValueError, match="params_std"):
        build_model("width_regressor", {**info, "params_std": [1.0, 0.0]})


def test_tfc_rejects_unknown_basis(dispersion_data):
    with pytest.raises(ValueError, match="poly, harmonic"):
        build_model("tfc_pinn", dispersion_data[0], basis="chebyshev")


def test_standardiser_round_trip_and_phi_T():
    s = Standardiser([10.0, 5.0], [4.0, 2.0])
    x = torch.tensor([[10.0, 5.0], [14.0, 1.0]])
    assert torch.allclose(s.normalise(x)[0], torch.zeros(2))
    assert torch.allclose(s.normalise(x)[1], torch.tensor([1.0, -2.0]))
    assert torch.allclose(s.denormalise(s.normalise(x)), x)
    phi, t = phi_and_T(torch.tensor([[10.0, 5.0], [7.0, 0.0]]))
    assert torch.allclose(phi, torch.tensor([2 / 3, 1.0])) and torch.allclose(t, torch.tensor([10 / 3, 0.0]))


def zero_last_linear(model):
    last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)


@pytest.mark.parametrize("name", ["inverse_cnn", "width_regressor"])
def test_predict_physical_denormalises(name, dispersion_data, wall_data):
    info, ds = get_data(name, dispersion_data, wall_data)
    model = build_model(name, info, **SMALL[name]).eval()
    zero_last_linear(model)  # normalised output 0 → the train mean in nm
    batch = next(iter(loader(ds, 8)))
    out = model.predict_physical(batch)
    mean = torch.tensor(info["params_mean"])
    assert torch.allclose(out["params_nm"], mean.expand(8, 2), atol=1e-5)
    phi, t = phi_and_T(mean)
    assert torch.allclose(out["phi"], phi.expand(8)) and torch.allclose(out["T_nm"], t.expand(8))
    z = model.params_norm.normalise(batch["params"])
    assert torch.allclose(model.denormalise_params(z), batch["params"], atol=1e-5)


def test_tfc_predict_physical_in_thz(dispersion_data):
    info, ds = dispersion_data
    model = build_model("tfc_pinn", info, **SMALL["tfc_pinn"]).eval()
    zero_last_linear(model)  # z = 0 → X = x_max/2, c = 0: the ideal form at half amplitude
    batch = {"params": next(iter(loader(ds, 8)))["params"]}
    out = model.predict_physical(batch)
    k = torch.tensor(info["k_rad_per_nm"], dtype=torch.float32)
    expected = X0 / 2 * (1 - torch.cos(k * info["lattice_constant_nm"])) + F_GAP
    assert out["dispersion_thz"].shape == (8, len(k))
    assert torch.allclose(out["dispersion_thz"], expected.expand(8, -1), atol=1e-5)
    assert torch.allclose(out["X_thz"], torch.full((8,), X0 / 2))


@pytest.mark.parametrize("name, epochs", [("inverse_cnn", 12), ("tfc_pinn", 12), ("width_regressor", 12)])
def test_training_reduces_loss_and_logs_metrics(name, epochs, dispersion_data, wall_data, tmp_path):
    torch.manual_seed(0)
    info, ds = get_data(name, dispersion_data, wall_data)
    model = build_model(name, info, **SMALL[name])
    train_dl, val_dl = loader(ds, 8, shuffle=True), loader(ds, 16)
    before = trainer(1).validate(model, val_dl, verbose=False)[0]["val/loss"]
    tr = trainer(epochs)
    tr.fit(model, train_dl, val_dl)
    metrics = dict(tr.callback_metrics)  # validate() below resets them
    vo = model.val_outputs
    after = trainer(1).validate(model, val_dl, verbose=False)[0]["val/loss"]
    assert after < 0.7 * before, (before, after)

    names = TFC_METRICS if name == "tfc_pinn" else INVERSE_METRICS
    for split in ("train", "val"):
        for metric in names:
            assert f"{split}/{metric}" in metrics, f"{split}/{metric}"
    assert all(torch.isfinite(v) for v in metrics.values())

    n = len(ds)
    if name == "tfc_pinn":
        k_len = len(info["k_rad_per_nm"])
        assert vo["dispersion_pred_thz"].shape == vo["dispersion_true_thz"].shape == (n, k_len)
        assert vo["mae_per_k_thz"].shape == (k_len,)
        mae = (vo["dispersion_pred_thz"] - vo["dispersion_true_thz"]).abs()
        assert torch.allclose(vo["mae_per_k_thz"], mae.mean(0), atol=1e-5)
        assert float(metrics["val/max_mae_k_thz"]) == pytest.approx(float(mae.mean(0).max()),
                                                                                rel=1e-4)
        assert float(metrics["val/mae_thz"]) == pytest.approx(float(mae.mean()), rel=1e-4)
    else:
        assert vo["params_pred_nm"].shape == vo["params_true_nm"].shape == (n, 2)
        assert torch.equal(vo["params_true_nm"], ds.t["params"])
        mae = (vo["params_pred_nm"] - vo["params_true_nm"]).abs().mean(0)
        assert float(metrics["val/mae_tau_nm"]) == pytest.approx(float(mae[1]), rel=1e-4)
        assert vo["phi_pred"].shape == (n,)
        if name == "width_regressor":
            assert torch.equal(vo["width_nm"], ds.t["width_nm"])
    assert all(v.device.type == "cpu" for v in vo.values())

    # the checkpoint is self-contained (data_info travels in the hyper-parameters)
    ckpt = tmp_path / "m.ckpt"
    tr.save_checkpoint(ckpt)
    loaded = MODELS[name].load_from_checkpoint(ckpt).eval()
    batch = next(iter(val_dl))
    a, b = model.eval().predict_physical(batch), loaded.predict_physical(batch)
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6)


def test_tfc_physics_terms_enter_the_loss(dispersion_data):
    """With the poly basis, the physics weights change the gradient; with 0 they do not."""
    info, ds = dispersion_data
    batch = next(iter(loader(ds, 8)))
    grads = {}
    for w in (0.0, 1.0):
        torch.manual_seed(0)
        model = build_model("tfc_pinn", info, basis="poly", w_symmetry=w, w_boundary=w, w_small_k=w,
                            **SMALL["tfc_pinn"])
        omega, X, c = model(batch["params"])
        res = model.residuals(X, c, create_graph=True)
        assert all(v > 0 for v in res.values())
        loss = torch.nn.functional.mse_loss(omega, batch["dispersion"]) + w * sum(res.values())
        loss.backward()
        grads[w] = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    assert not torch.allclose(grads[0.0], grads[1.0])


def test_width_loss_weights_tau_and_scheduler(wall_data):
    info, _ = wall_data
    model = build_model("width_regressor", info, tau_weight=5.0, scheduler=plateau(factor=0.3, patience=2))
    pred, target = torch.zeros(4, 2), torch.zeros(4, 2)
    target[:, 0] = 1.0
    assert model.loss_normalised(pred, target) == pytest.approx(1.0)
    target[:, 0], target[:, 1] = 0.0, 1.0
    assert model.loss_normalised(pred, target) == pytest.approx(5.0)
    conf = model.configure_optimizers()
    assert isinstance(conf["optimizer"], torch.optim.Adam)
    sched = conf["lr_scheduler"]
    assert sched["monitor"] == "val/loss"
    assert isinstance(sched["scheduler"], torch.optim.lr_scheduler.ReduceLROnPlateau)
    assert sched["scheduler"].factor == 0.3 and sched["scheduler"].patience == 2


@pytest.mark.parametrize("name", ["inverse_cnn", "width_regressor"])
def test_phi_weight_adds_the_phi_term(name, dispersion_data, wall_data):
    info, ds = get_data(name, dispersion_data, wall_data)
    batch = next(iter(loader(ds, batch_size=8)))
    losses = {}
    for w in (0.0, 10.0):
        torch.manual_seed(0)
        model = build_model(name, info, phi_weight=w)
        model.log = lambda *a, **k: None  # outside a Trainer
        model.eval()
        losses[w] = float(model.training_step(batch, 0))
    # identical weights and batch: the difference is exactly 10 × MSE((φ̂ − φ)/0.1) > 0
    torch.manual_seed(0)
    model = build_model(name, info).eval()
    with torch.no_grad():
        pred = model.params_norm.denormalise(model.forward_normalised(batch)).clamp_min(1e-3)
    phi_hat = pred[:, 0] / pred.sum(1)
    phi = batch["params"][:, 0] / batch["params"].sum(1)
    expected = 10.0 * float(((phi_hat - phi) / 0.1).pow(2).mean())
    assert losses[10.0] - losses[0.0] == pytest.approx(expected, rel=1e-4)
    with pytest.raises(ValueError, match="phi_weight"):
        build_model(name, info, phi_weight=-1.0)


def _with_feature_stats(name, dispersion_data, wall_data):
    info, ds = get_data(name, dispersion_data, wall_data)
    x = ds.t["dispersion"] if name == "inverse_cnn" else ds.t["mz"]
    keys = ("dispersion_mean_k", "dispersion_std_k") if name == "inverse_cnn" else ("mz_mean_x", "mz_std_x")
    return {**info, keys[0]: x.mean(0).tolist(), keys[1]: x.std(0, unbiased=False).tolist()}, ds, x, keys


@pytest.mark.parametrize("name", ["inverse_cnn", "width_regressor"])
def test_per_feature_input_norm(name, dispersion_data, wall_data, tmp_path):
    """input_norm=per_feature: every feature of the training inputs has mean 0 and (unless it never
    varies, then floored) std 1; a checkpoint made with it reloads to the same predictions."""
    info, ds, x, keys = _with_feature_stats(name, dispersion_data, wall_data)
    model = build_model(name, info, **SMALL[name], input_norm="per_feature")
    z = model.input_norm.normalise(x)
    # float32: |x| ~ 1 carries ~1e-7 rounding, divided by the smallest (floored) std
    atol = 1e-6 / float(model.input_norm.std.min())
    assert torch.allclose(z.mean(0), torch.zeros(x.shape[1]), atol=atol)
    varies = x.std(0, unbiased=False) > STD_FLOOR * x.std(0, unbiased=False).max()
    assert varies.any()
    assert torch.allclose(z.std(0, unbiased=False)[varies], torch.ones(int(varies.sum())), atol=atol)
    assert z.abs().max() < 1 / STD_FLOOR  # a constant feature is not blown up
    tr = trainer(1)
    tr.fit(model, loader(ds, 8), loader(ds, 16))
    tr.save_checkpoint(tmp_path / "m.ckpt")
    loaded = MODELS[name].load_from_checkpoint(tmp_path / "m.ckpt").eval()
    batch = next(iter(loader(ds, 16)))
    assert torch.allclose(model.eval().predict_physical(batch)["params_nm"],
                          loaded.predict_physical(batch)["params_nm"], atol=1e-6)


@pytest.mark.parametrize("name", ["inverse_cnn", "width_regressor"])
def test_per_feature_input_norm_needs_its_statistics(name, dispersion_data, wall_data):
    info, _, _, keys = _with_feature_stats(name, dispersion_data, wall_data)
    with pytest.raises(ValueError, match=keys[0]):
        build_model(name, {k: v for k, v in info.items() if k != keys[0]}, input_norm="per_feature")
    with pytest.raises(ValueError, match="input_norm must be one of"):
        build_model(name, info, input_norm="minmax")
