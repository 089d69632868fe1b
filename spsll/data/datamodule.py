"""Lightning DataModules over the HDF5 datasets (the stored train/val/test split, lazy handles).

Each worker opens its own read-only h5py handle on first use (h5py handles do not survive
``fork``), so ``num_workers`` > 0 is safe. Batches are dicts of float32 tensors:

* dispersion: ``{"dispersion": (B, K) THz, "params": (B, 2) nm = [σ, τ]}``
* domain wall: ``{"mz": (B, N), "width_nm": (B,), "params": (B, 2) nm}``

The train split is shuffled by a :class:`~torch.utils.data.DistributedSampler` seeded with ``seed``
(reshuffled per epoch), sharded by rank under DDP: for every world size the global batches are the
same, so two processes with batch b see what one process with batch 2b sees. Validation and test
are not sharded (each rank scores the whole split, so validation metrics are exact under DDP; run
Lightning with ``use_distributed_sampler=False``, as ``conf/trainer/*`` do).

``data_info`` carries what a model needs from the data (train-split statistics, the k grid and the
material's fixed physics), as plain floats so that a checkpoint is self-contained.
"""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch
import yaml
from torch.utils.data import Dataset

from spsll.data.hdf5 import DatasetError
from spsll.data.loaders import NoHandlePickle, SplitLoaders
from spsll.data.reader import open_dataset
from spsll.physics.material import Material

SPLITS = {"train": 0, "val": 1, "test": 2}
INPUT_FIELDS = ("freq_refined_thz", "freq_thz")


class H5Samples(NoHandlePickle, Dataset):
    """Samples ``indices`` of one HDF5 file through a per-process handle opened on first use.

    With ``in_memory`` (the default) the first access reads this split's rows once (the paper-size
    datasets are tens of MB), so an epoch costs array indexing instead of one HDF5 read per sample;
    ``in_memory=False`` reads sample by sample, for datasets larger than memory.
    """

    def __init__(self, path: str, kind: str, indices: np.ndarray, input_field: str = "freq_refined_thz",
                 in_memory: bool = True):
        self.path, self.kind, self.indices, self.input_field = path, kind, np.asarray(indices), input_field
        self.in_memory = in_memory
        self._file = None
        self._cache: dict[str, np.ndarray] | None = None

    def __len__(self):
        return len(self.indices)

    def _fields(self):
        return (self.input_field,) if self.kind == "dispersion" else ("mz", "width_nm")

    def _h5(self):
        if self._file is None:  # the DataModule checked the values when it read the metadata
            self._file = open_dataset(self.path, kind=self.kind, check_values=False)
        return self._file

    def _rows(self):
        if self._cache is None:
            f = self._h5()
            self._cache = {name: f[name][:][self.indices].astype(np.float32)
                           for name in ("sigma_nm", "tau_nm", *self._fields())}
        return self._cache

    def __getitem__(self, i):
        if self.in_memory:
            src, j = self._rows(), int(i)
        else:
            src, j = self._h5(), int(self.indices[i])
        params = torch.tensor([float(src["sigma_nm"][j]), float(src["tau_nm"][j])], dtype=torch.float32)
        # the sample's row in the file: per-sample draws (the models' noise augmentation) then do not
        # depend on how samples are batched or shared out between processes
        index = torch.tensor(int(self.indices[i]), dtype=torch.long)
        if self.kind == "dispersion":
            disp = torch.from_numpy(np.asarray(src[self.input_field][j], dtype=np.float32))
            return {"dispersion": disp, "params": params, "index": index}
        return {"mz": torch.from_numpy(np.asarray(src["mz"][j], dtype=np.float32)),
                "width_nm": torch.tensor(float(src["width_nm"][j]), dtype=torch.float32), "params": params,
                "index": index}


class SPSLLDataModule(SplitLoaders, pl.LightningDataModule):
    def __init__(self, path: str, kind: str, batch_size: int = 64, num_workers: int = 0,
                 input_field: str = "freq_refined_thz", pin_memory: bool = False, in_memory: bool = True,
                 seed: int = 0):
        super().__init__()
        if kind not in ("dispersion", "domain_wall"):
            raise ValueError(f"kind must be dispersion or domain_wall, got {kind!r}")
        if input_field not in INPUT_FIELDS:
            raise ValueError(f"input_field must be one of {INPUT_FIELDS}, got {input_field!r}")
        if batch_size < 1 or num_workers < 0:
            raise ValueError("batch_size must be >= 1 and num_workers >= 0")
        self.path, self.kind = str(path), kind
        self.batch_size, self.num_workers = batch_size, num_workers
        self.input_field, self.pin_memory, self.in_memory = input_field, pin_memory, in_memory
        self.seed = int(seed)
        self.indices: dict[str, np.ndarray] = {}
        self.data_info: dict = {}
        self._read_metadata()

    def _read_metadata(self):
        with open_dataset(self.path, kind=self.kind) as f:
            split = f["split"][:]
            for name, code in SPLITS.items():
                self.indices[name] = np.nonzero(split == code)[0]
            if len(self.indices["train"]) == 0 or len(self.indices["val"]) == 0:
                raise DatasetError(f"{self.path}: the train and val splits must not be empty "
                                   f"(sizes {len(self.indices['train'])}, {len(self.indices['val'])})")
            tr = self.indices["train"]
            params = np.stack([f["sigma_nm"][:][tr], f["tau_nm"][:][tr]], 1)
            info = {"params_mean": params.mean(0).tolist(), "params_std": params.std(0).clip(1e-6).tolist(),
                    "n_train": int(len(tr)), "solver": str(f.attrs["solver"])}
            material = Material.from_config(yaml.safe_load(f.attrs["material"]))
            if self.kind == "dispersion":
                k = f["k_rad_per_nm"][:]
                disp = f[self.input_field][:][tr]
                a_nm = material.a * 1e9
                ideal = material.X0 * (1 - np.cos(k * a_nm)) + material.f_gap
                info.update(k_rad_per_nm=k.tolist(), dispersion_mean=float(disp.mean()),
                            dispersion_std=float(disp.std()), lattice_constant_nm=a_nm,
                            dispersion_mean_k=disp.mean(0).tolist(), dispersion_std_k=disp.std(0).tolist(),
                            f_gap_thz=material.f_gap * 1e-12, x_max_thz=material.X0 * 1e-12,
                            ideal_dispersion_thz=(ideal * 1e-12).tolist())
            else:
                w = f["width_nm"][:][tr]
                mz = f["mz"][:][tr].astype(np.float64)
                info.update(mz_length=int(f["mz"].shape[1]), width_mean=float(w.mean()),
                            width_std=float(max(w.std(), 1e-6)), mz_mean_x=mz.mean(0).tolist(),
                            mz_std_x=mz.std(0).tolist())
            self.data_info = info

    def dataset(self, split: str) -> H5Samples:
        return H5Samples(self.path, self.kind, self.indices[split], self.input_field, self.in_memory)

