"""Generate an SPS-LL dataset into HDF5 (thin Hydra entry point; logic in spsll.data).

    python generate.py dataset=dispersion|domain_wall solver=<name> dataset.n_samples=<n> \
        dataset.path=<file.h5> seed=<s>
    python generate.py dataset=dispersion dataset.sampling=explicit 'dataset.points=[[22.9,3.0],[15.1,12.4]]'
    python generate.py -m hydra/launcher=joblib dataset.shard.count=2 dataset.shard.index=0,1   # shards
    python generate.py dataset.shard.count=2 merge=true                                        # join them
"""

from __future__ import annotations

import logging

import hydra
from omegaconf import DictConfig

from spsll.data.cli import run_generate

log = logging.getLogger("generate")


@hydra.main(version_base="1.3", config_path="conf", config_name="generate")
def main(cfg: DictConfig) -> str:
    return str(run_generate(cfg))


if __name__ == "__main__":
    main()
