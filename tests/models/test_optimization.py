"""Optimizer and scheduler specs: one code path builds them for every model."""

import pytest
import torch

from spsll.models import build_model
from spsll.models.optimization import adam, cosine, plateau, upgrade_legacy_hparams
from tests.models.test_modules import SMALL, get_data


def configured(name, dispersion_data, wall_data, **kwargs):
    info, _ = get_data(name, dispersion_data, wall_data)
    return build_model(name, info, **{**SMALL[name], **kwargs}).configure_optimizers()


@pytest.mark.parametrize("name", list(SMALL))
def test_every_model_builds_its_specs(name, dispersion_data, wall_data):
    conf = configured(name, dispersion_data, wall_data, optimizer=adam(3e-4, 1e-5), scheduler=cosine(7))
    opt, sched = conf["optimizer"], conf["lr_scheduler"]
    assert isinstance(opt, torch.optim.Adam)
    assert opt.defaults["lr"] == 3e-4 and opt.defaults["weight_decay"] == 1e-5
    assert isinstance(sched["scheduler"], torch.optim.lr_scheduler.CosineAnnealingLR)
    assert sched["scheduler"].T_max == 7 and sched["interval"] == "epoch" and sched["frequency"] == 1
    assert sched["monitor"] == "val/loss"
    constant = configured(name, dispersion_data, wall_data, scheduler=None)
    assert isinstance(constant, torch.optim.Adam)  # no scheduler: a constant rate


def test_class_defaults_are_the_papers(dispersion_data, wall_data):
    for name in ("inverse_cnn", "tfc_pinn"):
        opt = configured(name, dispersion_data, wall_data, optimizer=None)
        assert isinstance(opt, torch.optim.Adam) and opt.defaults["lr"] == 1e-3 and opt.defaults["weight_decay"] == 0
    info, _ = wall_data
    sched = build_model("width_regressor", info).configure_optimizers()["lr_scheduler"]["scheduler"]
    assert isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau)
    assert (sched.factor, sched.patience, sched.mode) == (0.5, 5, "min")


def test_specs_are_saved_as_plain_data(wall_data):
    info, _ = wall_data
    model = build_model("width_regressor", info, optimizer=adam(2e-3))
    assert model.hparams["optimizer"] == adam(2e-3) and model.hparams["scheduler"] == plateau()
    model.hparams["scheduler"]["patience"] = 99  # the model's own copy, not the class default
    assert build_model("width_regressor", info).hparams["scheduler"]["patience"] == 5


def test_bad_specs_refused(wall_data):
    info, _ = wall_data
    with pytest.raises(ValueError, match="'_target_' class path"):
        build_model("width_regressor", info, optimizer={"lr": 1e-3})
    with pytest.raises(ValueError, match="must be partial"):
        build_model("width_regressor", info, optimizer={**adam(), "_partial_": False})


@pytest.mark.parametrize(("name", "old", "optimizer", "scheduler"), [
    ("inverse_cnn", {"lr": 3e-4, "weight_decay": 1e-5, "lr_schedule": "constant"}, adam(3e-4, 1e-5), None),
    ("inverse_cnn", {"lr": 1e-3, "weight_decay": 0.0, "lr_schedule": "cosine"}, adam(), cosine(40)),
    ("width_regressor", {"lr": 1e-3, "weight_decay": 0.0, "factor": 0.3, "patience": 2}, adam(), plateau(0.3, 2)),
    ("tfc_pinn", {"lr": 5e-4, "weight_decay": 0.0}, adam(5e-4), None),
])
def test_legacy_hyper_parameters_become_specs(name, old, optimizer, scheduler):
    hp = upgrade_legacy_hparams({"dropout": 0.1, **old}, name, [{"T_max": 40, "last_epoch": 3}])
    assert hp == {"dropout": 0.1, "optimizer": optimizer, "scheduler": scheduler}
    assert upgrade_legacy_hparams(hp, name) == hp  # new hyper-parameters pass unchanged
