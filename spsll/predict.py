"""σ, τ, φ, T with an uncertainty from your own measurement (thin Hydra entry point).

    python -m spsll.predict input=my_dispersion.csv run_id=<inverse_cnn run>     # k (rad/nm), f (THz)
    python -m spsll.predict input=my_wall.csv run_id=<width_regressor run>       # x (nm), m_z
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from spsll.prediction.cli import run_predict


@hydra.main(version_base="1.3", config_path="../conf", config_name="predict")
def main(cfg: DictConfig) -> dict:
    return run_predict(cfg)


if __name__ == "__main__":
    main()
