"""trainer=ddp: two CPU processes (gloo) log and checkpoint what one process logs."""

import numpy as np
import pytest
import torch

from spsll.training.distributed import CrossProcessBatchNorm, CrossProcessBatchNormSync, process_rank
from tests.scaling.conftest import history, runs, train


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv1d(1, 4, 3, padding=1), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                               torch.nn.Flatten(), torch.nn.Linear(40, 1)).double()


def test_batchnorm_swap_is_exact_and_reversible():
    """Outside a process group CrossProcessBatchNorm is BatchNorm (outputs, running stats); the plugin's
    revert restores the original class, dtype and state. Across processes: the DDP test below."""
    ref, net = _net(), CrossProcessBatchNormSync().apply(_net())
    assert isinstance(net[1], CrossProcessBatchNorm) and net[1].weight.dtype == torch.float64
    x = torch.randn(8, 1, 10, dtype=torch.float64)
    assert torch.equal(net(x), ref(x)) and torch.equal(net[1].running_var, ref[1].running_var)
    back = CrossProcessBatchNormSync().revert(net)
    assert type(back[1]) is torch.nn.BatchNorm1d and back[1].weight.dtype == torch.float64
    assert all(torch.equal(a, b) for a, b in zip(back.state_dict().values(), ref.state_dict().values(), strict=True))


@pytest.mark.parametrize("env, rank", [({}, 0), ({"LOCAL_RANK": "1"}, 1), ({"LOCAL_RANK": "0", "NODE_RANK": "1"}, 1),
                                       ({"RANK": "3", "LOCAL_RANK": "1"}, 3), ({"SLURM_PROCID": "2"}, 2)])
def test_process_rank_before_the_process_group_exists(monkeypatch, env, rank):
    for key in ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert process_rank() == rank


@pytest.mark.slow
def test_ddp_two_processes_log_and_checkpoint_what_one_process_does(tmp_path, width_args):
    """The real train.py: trainer=ddp (2 processes x batch 4) vs one process with batch 8, 2 epochs.

    float64 (trainer.precision=64-true) so that "equal" can be tight: the two differ only in the order
    of floating-point sums (gradients summed over ranks, BatchNorm sums over ranks), ~1e-16 relative
    per operation; after 8 Adam steps the metrics agree to ~1e-14 and the weights to ~1e-13 (measured),
    so rtol 1e-9 / atol 1e-9 leave room and still catch any real difference (a wrong sampler, per-rank
    BatchNorm statistics or unsynchronised metrics give 1e-5 to 1e-2). Dropout off (its random masks
    differ between 1 and 2 processes) and global input standardisation: per-feature standardisation
    makes the first BatchNorm's mean exactly 0 in exact arithmetic at most positions, so the ReLU sits
    on its kink there and the rounding of that sum picks the gradient - any two summation orders
    (this or torch's own SyncBatchNorm) then differ by Adam steps, not by rounding.
    """
    common = [*width_args, "trainer.max_epochs=2", "trainer.precision=64-true", "model.dropout=0",
              "model.input_norm=global"]
    ddp_dir, one_dir = tmp_path / "ddp", tmp_path / "one"
    ddp_dir.mkdir()
    one_dir.mkdir()
    out = train(ddp_dir, *common, "trainer=ddp", "data.batch_size=4")
    assert out.returncode == 0, out.stderr[-4000:]
    assert "MEMBER: 2/2" in out.stdout + out.stderr and "distributed_backend=gloo" in out.stdout + out.stderr
    assert (ddp_dir / "run" / "train_ddp_process_1.log").exists()  # rank 1 ran train.py in the same folder
    out = train(one_dir, *common, "data.batch_size=8")
    assert out.returncode == 0, out.stderr[-4000:]

    c_ddp, r_ddp = runs(f"sqlite:///{ddp_dir / 'mlflow.db'}")
    c_one, r_one = runs(f"sqlite:///{one_dir / 'mlflow.db'}")
    assert len(r_ddp) == 1 and len(r_one) == 1  # one MLflow run per training, not one per rank
    assert r_ddp[0].info.status == "FINISHED" and r_ddp[0].data.params["trainer.strategy"] == "ddp"
    keys = set(r_one[0].data.metrics)
    assert set(r_ddp[0].data.metrics) == keys and {"train/loss", "val/loss", "val/mae_tau_nm"} <= keys
    for key in keys:
        h_ddp, h_one = history(c_ddp, r_ddp[0].info.run_id, key), history(c_one, r_one[0].info.run_id, key)
        assert [s for s, _ in h_ddp] == [s for s, _ in h_one], key  # same steps: 4 global batches per epoch
        np.testing.assert_allclose([v for _, v in h_ddp], [v for _, v in h_one], rtol=1e-9, atol=0, err_msg=key)
    assert [s for s, _ in history(c_one, r_one[0].info.run_id, "val/loss")] == [3, 7]

    def weights(d):
        ckpt = torch.load(d / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
        return ckpt["state_dict"], ckpt["global_step"]

    (w_ddp, step_ddp), (w_one, step_one) = weights(ddp_dir), weights(one_dir)
    assert step_ddp == step_one == 8 and w_ddp.keys() == w_one.keys()
    for k in w_one:
        assert w_ddp[k].dtype == w_one[k].dtype, k
        np.testing.assert_allclose(w_ddp[k].double().numpy(), w_one[k].double().numpy(), rtol=0, atol=1e-9,
                                   err_msg=k)
    best = sorted(p.name for p in (ddp_dir / "run" / "checkpoints").glob("best-*.ckpt"))
    assert best == sorted(p.name for p in (one_dir / "run" / "checkpoints").glob("best-*.ckpt"))
