"""Relax one texture and measure it (thin Hydra entry point; logic in spsll.studies.relax).

    python -m spsll.relax texture=skyrmion geometry=disk material=dmi_standard grid.cell_nm=2 \
        'grid.shape=[52,52]' output=outputs/relax/disk.json
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from spsll.studies.relax import run_relax


@hydra.main(version_base="1.3", config_path="../conf", config_name="relax")
def main(cfg: DictConfig) -> dict:
    return run_relax(cfg)


if __name__ == "__main__":
    main()
