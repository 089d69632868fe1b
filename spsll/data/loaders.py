"""What every data module of the package shares: per-split loaders over its stored split, with the
train split shuffled by a seeded :class:`~torch.utils.data.DistributedSampler` (the same global batches
for every world size; Lightning calls ``sampler.set_epoch(epoch)`` before each epoch), and sample sets
that never pickle an open HDF5 handle (or a cache) into a worker.

A module using :class:`SplitLoaders` has ``path``, ``indices`` ({split: rows}), ``batch_size``,
``num_workers``, ``pin_memory``, ``seed`` and a ``dataset(split)`` method.
"""

from __future__ import annotations

from torch.utils.data import DataLoader, DistributedSampler

from spsll.data.hdf5 import DatasetError


class SplitLoaders:
    def _ranks(self) -> tuple[int, int]:
        trainer = getattr(self, "trainer", None)
        return (int(trainer.world_size), int(trainer.global_rank)) if trainer is not None else (1, 0)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        if len(self.indices[split]) == 0:
            raise DatasetError(f"{self.path}: the {split} split is empty")
        ds = self.dataset(split)
        sampler = None
        if shuffle:
            world, rank = self._ranks()
            sampler = DistributedSampler(ds, num_replicas=world, rank=rank, shuffle=True, seed=self.seed)
        return DataLoader(ds, batch_size=self.batch_size, sampler=sampler, shuffle=False,
                          num_workers=self.num_workers, pin_memory=self.pin_memory,
                          persistent_workers=self.num_workers > 0)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", False)


class NoHandlePickle:
    """A sample set with ``_file`` (an open HDF5 handle) and ``_cache``: pickled without either."""

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_file"] = None
        state["_cache"] = None
        return state
