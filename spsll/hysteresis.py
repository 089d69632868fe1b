"""Demagnetisation curves of chains with defects (thin Hydra entry point; logic in spsll.studies.hysteresis).

    python -m spsll.hysteresis material=fept geometry=wire 'grid.shape=[300]' defects.kind=soft \
        defects.thickness_nm=2 seed=0 output=outputs/hysteresis/layer.json
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from spsll.studies.hysteresis import run_hysteresis


@hydra.main(version_base="1.3", config_path="../conf", config_name="hysteresis")
def main(cfg: DictConfig) -> dict:
    return run_hysteresis(cfg)


if __name__ == "__main__":
    main()
