"""DataModule: the stored split, train-split statistics, worker processes."""

import h5py
import numpy as np
import pytest
import torch

from spsll.data.datamodule import SPSLLDataModule
from spsll.data.hdf5 import DatasetError


def test_split_and_statistics_follow_the_file(small_data):
    dm = SPSLLDataModule(small_data["domain_wall"], "domain_wall", batch_size=8)
    with h5py.File(small_data["domain_wall"], "r") as f:
        split = f["split"][:]
        sig = f["sigma_nm"][:]
    assert len(dm.indices["test"]) == int((split == 2).sum())  # the stored split, test never trained on
    assert dm.data_info["params_mean"][0] == pytest.approx(sig[split == 0].mean())
    assert dm.data_info["mz_length"] == 500


@pytest.mark.parametrize("in_memory", [True, False])
def test_worker_processes_give_the_same_batches(small_data, in_memory):
    def batches(workers):
        dm = SPSLLDataModule(small_data["dispersion"], "dispersion", batch_size=4, num_workers=workers,
                             in_memory=in_memory)
        return list(dm.val_dataloader())

    a, b = batches(0), batches(2)
    assert len(a) == len(b) > 0
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x["dispersion"], y["dispersion"]) and torch.equal(x["params"], y["params"])
    assert a[0]["dispersion"].shape[1] == 500 and a[0]["dispersion"].dtype == torch.float32


def test_wrong_kind_and_empty_split(small_data, tmp_path):
    with pytest.raises(DatasetError, match="holds a dispersion dataset"):
        SPSLLDataModule(small_data["dispersion"], "domain_wall")
    bad = tmp_path / "noval.h5"
    bad.write_bytes(small_data["dispersion"].read_bytes())
    with h5py.File(bad, "r+") as f:
        f["split"][...] = np.zeros(len(f["split"]), dtype=np.int8)
    with pytest.raises(DatasetError, match="val splits must not be empty"):
        SPSLLDataModule(bad, "dispersion")
