"""Reading the skyrmion dataset for training (docs/data.md#skyrmion-readers).

:class:`SkyrmionSamples` is a torch Dataset over one split of a ``kind: skyrmion`` file (read through the
checks of :func:`spsll.data.reader.open_dataset`, one read-only handle per process opened on first use, so
``num_workers`` > 0 is safe); :class:`SkyrmionDataModule` the Lightning DataModule over the stored split,
with the train split shuffled as in :class:`spsll.data.datamodule.SPSLLDataModule`. A sample is a dict of
tensors:

* ``image`` (1, H, W) float32: the relaxed m_z cropped around the core (vacant cells 0);
* ``params`` (2,) float32: [σ, τ] in nm; ``B_T`` float32: the applied field (T, along +z);
* ``survived``, ``converged`` bool; ``radius_nm`` float32 (NaN unless survived); ``index`` long: the row in the
  file;
* explicit-vacancy files also: ``mask`` (1, H, W) float32, the crop of the vacancy mask (1 vacancy).

``data_info`` carries what a model needs from the file as plain numbers: the cell size, the crop and the
box, the solver and material, and train-split statistics (means and standard deviations of [σ, τ], B,
φ = σ/(σ+τ) and T = στ/(σ+τ), the survival fraction, the survivors' radius and log-radius mean and
standard deviation).

``rows="survivors"`` keeps only the survivors of every split (the skyrmion inverse models: a collapsed
texture is a uniform film and holds no information on (σ, τ)); the statistics are then the train
survivors', and ``data_info["n_excluded"]`` counts the rows left out per split.
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
from spsll.units import correlation_length, material_fraction

SPLITS = {"train": 0, "val": 1, "test": 2}
KIND = "skyrmion"
ROWS = ("all", "survivors")


class SkyrmionSamples(NoHandlePickle, Dataset):
    """The rows ``indices`` of a skyrmion file; ``in_memory`` reads them once."""

    def __init__(self, path: str, indices, in_memory: bool = True):
        self.path, self.indices, self.in_memory = str(path), np.asarray(indices), in_memory
        self._file = None
        self._cache: dict[str, np.ndarray] | None = None

    def __len__(self):
        return len(self.indices)

    def _h5(self):
        if self._file is None:  # the DataModule checked the values when it read the metadata
            self._file = open_dataset(self.path, kind=KIND, check_values=False)
        return self._file

    def _names(self):
        f = self._h5()
        return ("mz", "sigma_nm", "tau_nm", "B_T", "survived", "converged", "radius_nm") + (
            ("defect_mask",) if "defect_mask" in f else ())

    def _rows(self):
        if self._cache is None:
            f = self._h5()
            self._cache = {name: f[name][:][self.indices] for name in self._names()}
        return self._cache

    def __getitem__(self, i):
        src, j = (self._rows(), int(i)) if self.in_memory else (self._h5(), int(self.indices[i]))
        out = {"image": torch.as_tensor(np.asarray(src["mz"][j], dtype=np.float32))[None],
               "params": torch.tensor([float(src["sigma_nm"][j]), float(src["tau_nm"][j])], dtype=torch.float32),
               "B_T": torch.tensor(float(src["B_T"][j]), dtype=torch.float32),
               "survived": torch.tensor(bool(src["survived"][j])),
               "converged": torch.tensor(bool(src["converged"][j])),
               "radius_nm": torch.tensor(float(src["radius_nm"][j]), dtype=torch.float32),
               "index": torch.tensor(int(self.indices[i]), dtype=torch.long)}
        if "defect_mask" in src:
            out["mask"] = torch.as_tensor(np.asarray(src["defect_mask"][j], dtype=np.float32))[None]
        return out


class SkyrmionDataModule(SplitLoaders, pl.LightningDataModule):
    """Train/val/test loaders of a ``skyrmion`` file (the stored split; ``rows``: all, or the survivors)."""

    def __init__(self, path: str, batch_size: int = 64, num_workers: int = 0, in_memory: bool = True,
                 pin_memory: bool = False, seed: int = 0, rows: str = "all"):
        super().__init__()
        if batch_size < 1 or num_workers < 0:
            raise ValueError("batch_size must be >= 1 and num_workers >= 0")
        if rows not in ROWS:
            raise ValueError(f"rows must be one of {list(ROWS)}, got {rows!r}")
        self.rows, self.kind = rows, KIND
        self.path, self.batch_size, self.num_workers = str(path), batch_size, num_workers
        self.in_memory, self.pin_memory, self.seed = in_memory, pin_memory, int(seed)
        self.indices: dict[str, np.ndarray] = {}
        self.data_info: dict = {}
        self._read_metadata()

    def _read_metadata(self):
        with open_dataset(self.path, kind=KIND) as f:
            split = f["split"][:]
            keep = f["survived"][:].astype(bool) if self.rows == "survivors" else np.ones(len(split), bool)
            self.indices = {name: np.nonzero((split == code) & keep)[0] for name, code in SPLITS.items()}
            tr = self.indices["train"]
            if len(tr) == 0 or len(self.indices["val"]) == 0:
                what = " surviving" if self.rows == "survivors" else ""
                raise DatasetError(f"{self.path}: the train and val splits must hold{what} samples "
                                   f"(sizes {len(tr)}, {len(self.indices['val'])})")
            params = np.stack([f["sigma_nm"][:][tr], f["tau_nm"][:][tr]], 1)
            phi, t = material_fraction(params[:, 0], params[:, 1], floor=1e-12), \
                correlation_length(params[:, 0], params[:, 1], floor=1e-12)
            field = f["B_T"][:][tr]
            alive = f["survived"][:][tr].astype(bool)
            radius = f["radius_nm"][:][tr][alive]
            self.data_info = {
                "kind": KIND, "solver": str(f.attrs["solver"]), "cell_nm": float(f.attrs["cell_nm"]),
                "crop_cells": int(f.attrs["crop_cells"]), "box_cells": [int(b) for b in f.attrs["box_cells"]],
                "x_nm": f["x_nm"][:].tolist(), "y_nm": f["y_nm"][:].tolist(), "explicit": "defect_mask" in f,
                "n_train": int(len(tr)),
                "params_mean": params.mean(0).tolist(), "params_std": params.std(0).clip(1e-6).tolist(),
                "B_mean_T": float(field.mean()), "B_std_T": float(max(field.std(), 1e-6)),
                "phi_mean": float(phi.mean()), "phi_std": float(max(phi.std(), 1e-6)),
                "T_mean_nm": float(t.mean()), "T_std_nm": float(max(t.std(), 1e-6)),
                "survival_fraction": float(alive.mean()),
                "radius_mean_nm": float(radius.mean()) if radius.size else float("nan"),
                "radius_std_nm": float(radius.std()) if radius.size else float("nan"),
                "log_radius_mean": float(np.log(radius).mean()) if radius.size else float("nan"),
                "log_radius_std": float(np.log(radius).std()) if radius.size else float("nan"),
                "rows": self.rows,
                "n_excluded": {name: int(((split == code) & ~keep).sum()) for name, code in SPLITS.items()},
                "material": yaml.safe_load(f.attrs["material"])}

    def dataset(self, split: str) -> SkyrmionSamples:
        return SkyrmionSamples(self.path, self.indices[split], self.in_memory)

