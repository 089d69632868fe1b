"""Reading runs back: checkpoints, old and new, load through the one load path."""

import pytest
import pytorch_lightning as pl
import torch

from spsll.models import build_model
from spsll.models.optimization import adam, cosine, plateau
from spsll.tracking.resume import changed_params
from spsll.tracking.runs import RunError, config_next_to, load_model
from tests.models.conftest import loader
from tests.models.test_modules import SMALL, get_data


def trained_checkpoint(tmp_path, name, dispersion_data, wall_data, **kwargs):
    info, ds = get_data(name, dispersion_data, wall_data)
    model = build_model(name, info, **{**SMALL[name], **kwargs})
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, accelerator="cpu",
                         enable_progress_bar=False, enable_model_summary=False, limit_train_batches=2,
                         limit_val_batches=1)
    trainer.fit(model, loader(ds, 8), loader(ds, 8))
    path = tmp_path / f"{name}.ckpt"
    trainer.save_checkpoint(path)
    return model, path


@pytest.mark.parametrize(("name", "kwargs", "legacy", "optimizer", "scheduler"), [
    ("inverse_cnn", {"optimizer": adam(3e-4), "scheduler": cosine(9)},
     {"lr": 3e-4, "weight_decay": 0.0, "lr_schedule": "cosine"}, adam(3e-4), cosine(9)),
    ("width_regressor", {"scheduler": plateau(0.3, 2)},
     {"lr": 3e-3, "weight_decay": 0.0, "factor": 0.3, "patience": 2}, adam(3e-3), plateau(0.3, 2)),
    ("tfc_pinn", {}, {"lr": 3e-3, "weight_decay": 0.0}, adam(3e-3), None),
])
def test_checkpoints_from_before_the_specs_still_load(tmp_path, dispersion_data, wall_data, name, kwargs, legacy,
                                                      optimizer, scheduler):
    """A checkpoint whose hyper-parameters hold lr, weight_decay, lr_schedule, factor, patience (written
    before the optimizer and scheduler specs) loads with the specs it was trained with."""
    model, path = trained_checkpoint(tmp_path, name, dispersion_data, wall_data, **kwargs)
    assert load_model(name, path).hparams["optimizer"] == model.hparams["optimizer"]  # a current checkpoint
    ckpt = torch.load(path, weights_only=False)
    hp = {k: v for k, v in ckpt["hyper_parameters"].items() if k not in ("optimizer", "scheduler")}
    ckpt["hyper_parameters"] = {**hp, **legacy}
    old = tmp_path / "old.ckpt"
    torch.save(ckpt, old)
    loaded = load_model(name, old)
    assert loaded.hparams["optimizer"] == optimizer and loaded.hparams["scheduler"] == scheduler
    assert not any(k in loaded.hparams for k in legacy)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_load_errors_name_the_problem(tmp_path, dispersion_data, wall_data):
    _, path = trained_checkpoint(tmp_path, "tfc_pinn", dispersion_data, wall_data)
    with pytest.raises(RunError, match="not one of"):
        load_model("transformer", path)
    with pytest.raises(RunError, match="does not match model width_regressor"):
        load_model("width_regressor", path)
    with pytest.raises(RunError, match="no config.yaml next to"):
        config_next_to(path)


def test_resume_sees_a_group_switched_to_or_from_an_empty_option():
    run = {"optimizer.lr": "0.001", "scheduler": "{}"}
    now = {"optimizer.lr": "0.001", "scheduler._target_": "CosineAnnealingLR", "scheduler.T_max": "5"}
    assert changed_params(run, now) == {"scheduler": ("{}", "T_max=5 _target_=CosineAnnealingLR")}
    assert changed_params(now, run) == {"scheduler": ("T_max=5 _target_=CosineAnnealingLR", "{}")}
    assert changed_params(run, {**run, "optimizer.lr": "0.0003"}) == {"optimizer.lr": ("0.001", "0.0003")}
    assert changed_params(run, {**run, "new_key": "1"}) == {}  # a key the run did not have yet is logged, not refused
