"""``python -m spsll.studies.fitted_filter``: the Hydra entry point of the fitted-filter study."""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from spsll.physics.solvers import SOLVERS
from spsll.studies.common import CONF, command_line, set_threads
from spsll.studies.fitted_filter.compute import run_fitted_study
from spsll.studies.fitted_filter.config import FittedStudyConfig
from spsll.studies.fitted_filter.report import write_report

MODULE = "spsll.studies.fitted_filter"


def run_study(cfg: DictConfig, command: str | None = None, log=None) -> Path:
    """Compute (reusing cached ensembles), write the report, and say whether the fit differs from the
    coefficients the solver ships with."""
    log = log or (lambda m: print(m, flush=True))
    set_threads(cfg.get("threads"))
    scfg = FittedStudyConfig.from_study(cfg)
    command = command or command_line(MODULE)
    result = run_fitted_study(scfg, log=log)
    path = write_report(result, cfg.out, command=command)
    shipped = dict(SOLVERS["spsll_fitted"].option_defaults)
    fit = result["params"]
    if any(abs(fit[k] - shipped[k]) > 1e-3 * max(1.0, abs(shipped[k])) for k in shipped):
        log("the fit differs from the solver's shipped coefficients (spsll/physics/solvers.py SPSLLFitted and "
            f"conf/solver/spsll_fitted.yaml): {fit}")
    log(f"wrote {path} ({result['seconds']:.0f} s)")
    return path


@hydra.main(version_base="1.3", config_path=str(CONF), config_name="studies/fitted_filter")
def main(cfg: DictConfig) -> None:
    run_study(cfg)


__all__ = ["main", "run_study"]
