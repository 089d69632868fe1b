"""Train an SPS-LL model (thin Hydra entry point; logic in spsll.training.run).

    python train.py model=inverse_cnn|tfc_pinn|width_regressor dataset.path=<file> \
        trainer.max_epochs=<n> seed=<s>
    python train.py -m model=tfc_pinn optimizer.lr=1e-3,3e-4 seed=0,1  # one MLflow run per job
    python train.py experiment=paper_tfc_pinn                          # paper-scale experiment

Returns the best validation loss, so Hydra sweepers can optimise it.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from spsll.training.run import run_train


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    return run_train(cfg)


if __name__ == "__main__":
    main()
