"""Reading the microstructure and hysteresis datasets for training (docs/data.md#mask-readers).

:class:`MaskSamples` is a torch Dataset over one split of a file (read through the checks of
:func:`spsll.data.reader.open_dataset`, one read-only handle per process opened on first use, so
``num_workers`` > 0 is safe); :class:`MaskDataModule` the Lightning DataModule over the stored split,
with the train split shuffled as in :class:`spsll.data.datamodule.SPSLLDataModule`. A sample is a dict
of tensors (float32 unless said):

* every kind: ``mask`` (N,) the defect indicator (1 defect, 0 material), ``params`` (2,) [σ, τ] in nm,
  ``features`` (5,) the hand features in the order of :data:`FEATURES`, ``index`` (long) the sample's
  row in the file;
* hysteresis also: ``curve`` (K,) M/Ms on the file's ``H_HK`` grid, ``anchors`` (7,) :data:`ANCHORS`
  (H at M/Ms = 0.99, 0.9, 0.5, 0, −0.9 in units of H_K, then M/Ms at H = 0.1, 0.2 H_K),
  ``coercivity_HK``, ``nucleation_field_HK`` (scalars), ``reversal_mode`` (long, 0 single jump, 1 spring
  then depinning, 2 continuous) and ``converged`` (bool).

``data_info`` carries what a model needs from the file (the grid, H_K, the chain, train-split means and
standard deviations of the parameters and features) as plain numbers; for hysteresis also the
regression targets of the coercivity models, :data:`TARGETS` (the seven anchors, then H_c), with their
means and standard deviations over the converged train samples (docs/coercivity.md#models).
"""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch
import yaml
from torch.utils.data import Dataset

from spsll.data.hdf5 import MASK_KINDS, DatasetError
from spsll.data.loaders import NoHandlePickle, SplitLoaders
from spsll.data.microstructures import FEATURES
from spsll.data.reader import open_dataset
from spsll.physics.hysteresis import H_ANCHORS_M, M_ANCHORS_HK

SPLITS = {"train": 0, "val": 1, "test": 2}
ANCHORS = tuple(f"H_at_M_{lv:g}_HK" for lv in H_ANCHORS_M) + tuple(f"M_at_H_{h:g}_HK" for h in M_ANCHORS_HK)
#: the coercivity models' targets (docs/coercivity.md#models): H in units of H_K, M in units of Ms
TARGETS = (*ANCHORS, "coercivity_HK")
_LABELS = ("M_over_Ms", "H_at_levels_HK", "M_over_Ms_at_fields", "coercivity_HK", "nucleation_field_HK",
           "reversal_mode", "converged")


class MaskSamples(NoHandlePickle, Dataset):
    """The rows ``indices`` of a microstructure or hysteresis file; ``in_memory`` reads them once."""

    def __init__(self, path: str, kind: str, indices, in_memory: bool = True):
        if kind not in MASK_KINDS:
            raise ValueError(f"kind must be one of {MASK_KINDS}, got {kind!r}")
        self.path, self.kind, self.indices, self.in_memory = str(path), kind, np.asarray(indices), in_memory
        self._file = None
        self._cache: dict[str, np.ndarray] | None = None

    def __len__(self):
        return len(self.indices)

    def _names(self):
        return ("defect_mask", "sigma_nm", "tau_nm", *FEATURES) + (_LABELS if self.kind == "hysteresis" else ())

    def _h5(self):
        if self._file is None:
            self._file = open_dataset(self.path, kind=self.kind, check_values=False)
        return self._file

    def _rows(self):
        if self._cache is None:
            f = self._h5()
            self._cache = {name: f[name][:][self.indices] for name in self._names()}
        return self._cache

    def __getitem__(self, i):
        src, j = (self._rows(), int(i)) if self.in_memory else (self._h5(), int(self.indices[i]))

        def f32(name):
            return torch.as_tensor(np.asarray(src[name][j], dtype=np.float32))

        out = {"mask": f32("defect_mask"),
               "params": torch.tensor([float(src["sigma_nm"][j]), float(src["tau_nm"][j])], dtype=torch.float32),
               "features": torch.tensor([float(src[k][j]) for k in FEATURES], dtype=torch.float32),
               "index": torch.tensor(int(self.indices[i]), dtype=torch.long)}
        if self.kind == "hysteresis":
            out.update(curve=f32("M_over_Ms"), anchors=torch.cat([f32("H_at_levels_HK"), f32("M_over_Ms_at_fields")]),
                       coercivity_HK=f32("coercivity_HK"), nucleation_field_HK=f32("nucleation_field_HK"),
                       reversal_mode=torch.tensor(int(src["reversal_mode"][j]), dtype=torch.long),
                       converged=torch.tensor(bool(src["converged"][j])))
        return out


class MaskDataModule(SplitLoaders, pl.LightningDataModule):
    """Train/val/test loaders of a ``hysteresis`` or ``microstructures`` file (the stored split)."""

    def __init__(self, path: str, kind: str, batch_size: int = 64, num_workers: int = 0, in_memory: bool = True,
                 pin_memory: bool = False, seed: int = 0):
        super().__init__()
        if kind not in MASK_KINDS:
            raise ValueError(f"kind must be one of {MASK_KINDS}, got {kind!r}")
        if batch_size < 1 or num_workers < 0:
            raise ValueError("batch_size must be >= 1 and num_workers >= 0")
        self.path, self.kind, self.batch_size, self.num_workers = str(path), kind, batch_size, num_workers
        self.in_memory, self.pin_memory, self.seed = in_memory, pin_memory, int(seed)
        self.indices: dict[str, np.ndarray] = {}
        self.data_info: dict = {}
        self._read_metadata()

    def _read_metadata(self):
        with open_dataset(self.path, kind=self.kind) as f:
            split = f["split"][:]
            self.indices = {name: np.nonzero(split == code)[0] for name, code in SPLITS.items()}
            tr = self.indices["train"]
            if len(tr) == 0 or len(self.indices["val"]) == 0:
                raise DatasetError(f"{self.path}: the train and val splits must not be empty "
                                   f"(sizes {len(tr)}, {len(self.indices['val'])})")
            params = np.stack([f["sigma_nm"][:][tr], f["tau_nm"][:][tr]], 1)
            feats = np.stack([f[k][:][tr] for k in FEATURES], 1)
            info = {"kind": self.kind, "n_cells": int(f["defect_mask"].shape[1]), "cell_nm": float(f.attrs["cell_nm"]),
                    "x_nm": f["x_nm"][:].tolist(), "features": list(FEATURES), "n_train": int(len(tr)),
                    "params_mean": params.mean(0).tolist(), "params_std": params.std(0).clip(1e-6).tolist(),
                    "features_mean": feats.mean(0).tolist(), "features_std": feats.std(0).clip(1e-6).tolist(),
                    "material": yaml.safe_load(f.attrs["material"])}
            if self.kind == "hysteresis":
                info.update(H_HK=f["H_HK"][:].tolist(), anchors=list(ANCHORS),
                            H_K_A_per_m=float(f.attrs["H_K_A_per_m"]), defect_kind=str(f.attrs["defect_kind"]),
                            kappa=float(f.attrs["kappa"]),
                            curve_mean=f["M_over_Ms"][:][tr].mean(0).tolist())
                ok = tr[f["converged"][:][tr].astype(bool)]  # unconverged sweeps are no targets (None: none left)
                targets = np.concatenate([f["H_at_levels_HK"][:][ok], f["M_over_Ms_at_fields"][:][ok],
                                          f["coercivity_HK"][:][ok][:, None]], 1)
                info.update(target_names=list(TARGETS), n_train_converged=int(len(ok)),
                            targets_mean=targets.mean(0).tolist() if len(ok) else None,
                            targets_std=targets.std(0).clip(1e-6).tolist() if len(ok) else None)
            self.data_info = info

    def dataset(self, split: str) -> MaskSamples:
        return MaskSamples(self.path, self.kind, self.indices[split], self.in_memory)

