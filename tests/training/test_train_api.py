"""Training through the Python API (Hydra compose): failure paths and config validation."""

import math

import mlflow
import pytest
import torch
from hydra import compose, initialize_config_dir

from spsll.models import InverseCNNModel
from spsll.tracking.mlflow_run import TrackingError
from spsll.training.config_checks import model_kwargs, validate_train_config
from spsll.training.run import run_train
from tests.training.conftest import ROOT, artifacts


def config(tmp_path, *overrides):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("train", overrides=[f"logger.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}",
                                           "trainer.enable_progress_bar=false", *overrides])


def test_nan_after_a_good_epoch_keeps_the_last_good_checkpoint(tmp_path, small_data, monkeypatch):
    monkeypatch.chdir(tmp_path)
    real = InverseCNNModel.training_step

    def step(self, batch, idx):
        loss = real(self, batch, idx)
        return loss * math.nan if self.current_epoch >= 1 else loss  # diverges in the second epoch

    monkeypatch.setattr(InverseCNNModel, "training_step", step)
    cfg = config(tmp_path, "model=inverse_cnn", "dataset=dispersion_small",
                 f"dataset.path={small_data['dispersion']}", "trainer.max_epochs=3", "data.batch_size=8")
    with pytest.raises(FloatingPointError, match="non-finite training loss .* epoch 1"):
        run_train(cfg)
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = client.search_runs([client.get_experiment_by_name("spsll").experiment_id])[0]
    assert run.info.status == "FAILED"
    ckpts = [a for a in artifacts(client, run.info.run_id) if a.endswith(".ckpt")]
    assert ckpts == ["checkpoints/best-epoch000.ckpt"]  # the epoch before the NaN
    state = torch.load(tmp_path / "outputs/train/manual/checkpoints/best-epoch000.ckpt", weights_only=False)
    assert all(torch.isfinite(v).all() for v in state["state_dict"].values())


@pytest.mark.parametrize(
    ("override", "match"),
    [("optimizer.lr=-1", "optimizer.lr must be a number > 0"),
     ("optimizer.weight_decay=-0.1", "optimizer.weight_decay must be a number >= 0"),
     ("+optimizer.momentum=0.9", r"optimizer torch.optim.Adam has no argument\(s\) \['momentum'\]"),
     ("optimizer._target_=torch.nn.Linear", "optimizer._target_ must be a torch.optim.optimizer.Optimizer class"),
     ("scheduler._target_=torch.optim.lr_scheduler.NoSuchLR", "scheduler._target_: cannot import"),
     ("scheduler.T_max=0", "scheduler.T_max must be an integer >= 1"),
     ("trainer.max_epochs=null", r"scheduler.T_max \(the cosine decay's length"),
     ("scheduler=plateau", None),
     ("+model.lr=1e-3", r"no hyper-parameter\(s\) \['lr'\].*optimizer.lr=\.\.\., scheduler=none\|cosine\|plateau"),
     ("early_stopping=val_loss", None),
     ("data.batch_size=0", "data.batch_size must be an integer >= 1"),
     ("data.batch_size=-8", "data.batch_size must be an integer >= 1"),
     ("data.num_workers=-1", "data.num_workers must be an integer >= 0"),
     ("seed=-3", "seed must be an integer >= 0"),
     ("+model.depth=7", r"no hyper-parameter\(s\) \['depth'\]"),
     ("model.dropout=1.5", "model.dropout must be in"),
     ("model.uncertainty=ensemble", "model.uncertainty must be one of"),
     ("model.uncertainty_weight=0", "model.uncertainty_weight must be a number > 0"),
     ("logger.tracking_uri=ftp://example.org/x", "unsupported MLflow tracking URI")],
)
def test_invalid_values_refused_before_work(tmp_path, small_data, override, match, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = config(tmp_path, "model=inverse_cnn", "dataset=dispersion_small",
                 f"dataset.path={small_data['dispersion']}", override)
    if match is None:  # valid: passes the checks
        validate_train_config(cfg)
        return
    with pytest.raises((ValueError, TrackingError), match=match):
        run_train(cfg)


def test_scheduler_and_early_stopping_settings_are_checked(tmp_path):
    for override, match in (("scheduler.factor=1.5", "scheduler.factor must be a number > 0 and < 1"),
                            ("scheduler.patience=-1", "scheduler.patience must be an integer >= 0"),
                            ("early_stopping.patience=0", "early_stopping.patience must be an integer >= 1")):
        with pytest.raises(ValueError, match=match):
            validate_train_config(config(tmp_path, "model=width_regressor", override))


@pytest.mark.parametrize(("model", "scheduler", "patience"), [
    ("inverse_cnn", {"_target_": "torch.optim.lr_scheduler.CosineAnnealingLR", "_partial_": True, "T_max": 50}, None),
    ("tfc_pinn", None, None),
    ("width_regressor", {"_target_": "torch.optim.lr_scheduler.ReduceLROnPlateau", "_partial_": True, "mode": "min",
                         "factor": 0.5, "patience": 5}, 20),
])
def test_each_model_keeps_its_default_optimizer_scheduler_and_early_stopping(tmp_path, model, scheduler, patience):
    cfg = config(tmp_path, f"model={model}")
    validate_train_config(cfg)
    kwargs = model_kwargs(cfg)
    assert kwargs["optimizer"] == {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-3, "weight_decay": 0.0}
    assert kwargs["scheduler"] == scheduler and "name" not in kwargs
    assert cfg.early_stopping.get("patience") == patience
    if patience:
        assert (cfg.early_stopping.monitor, cfg.early_stopping.mode) == ("val/loss", "min")
    assert model_kwargs(config(tmp_path, f"model={model}", "scheduler=none"))["scheduler"] is None


def test_unknown_scheduler_name(tmp_path):
    with pytest.raises(Exception, match="scheduler/nope"):
        config(tmp_path, "scheduler=nope")


def test_unknown_dataset_name(tmp_path):
    with pytest.raises(Exception, match="dataset/nope"):
        config(tmp_path, "dataset=nope")
