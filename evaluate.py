"""Evaluate a trained model on the held-out test split (thin Hydra entry point).

    python evaluate.py run_id=<mlflow run id> [output=results/eval.json]
    python evaluate.py ckpt_path=outputs/train/<run>/checkpoints/best-epoch012.ckpt
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from spsll.evaluation.cli import run_evaluate


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> dict:
    return run_evaluate(cfg)


if __name__ == "__main__":
    main()
