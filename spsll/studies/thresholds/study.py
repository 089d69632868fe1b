"""``python -m spsll.studies.thresholds``: the Hydra entry point of the threshold study."""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from spsll.studies.common import CONF, command_line, set_threads
from spsll.studies.thresholds.compute import run_thresholds
from spsll.studies.thresholds.config import ThresholdConfig
from spsll.studies.thresholds.report import write_report

MODULE = "spsll.studies.thresholds"


def run_study(cfg: DictConfig, command: str | None = None) -> Path:
    """Compute the maps of the config's material and write its JSON, figures and the report."""
    import matplotlib

    matplotlib.use("Agg")
    set_threads(cfg.get("threads"))
    tcfg = ThresholdConfig.from_study(cfg)
    command = command or command_line(MODULE)
    result = run_thresholds(tcfg, log=lambda m: print(m, flush=True))
    path = write_report(result, Path(cfg.out), command=command)
    print(f"wrote {path} ({result['seconds']:.0f} s)")
    return path


@hydra.main(version_base="1.3", config_path=str(CONF), config_name="studies/thresholds")
def main(cfg: DictConfig) -> None:
    run_study(cfg)
