"""``python -m spsll.studies.validation``: the Hydra entry point of the validation study."""

from __future__ import annotations

from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig

from spsll.studies.common import CONF, command_line, set_threads
from spsll.studies.validation.compute import run_validation
from spsll.studies.validation.config import ValidationConfig
from spsll.studies.validation.report import write_report

MODULE = "spsll.studies.validation"
FILM_CONFIG = "studies/validation_2d"  # --config-name of the film study (conf/studies/validation_2d.yaml)


def run_study(cfg: DictConfig, command: str | None = None) -> Path:
    """Compute (or, with ``render_from``, re-render a ``save_raw`` file) and write the report."""
    out = Path(cfg.out)
    if cfg.get("dim", 1) == 3:
        from spsll.studies.validation.bulk import run_bulk_study

        return run_bulk_study(cfg, out, command)
    if cfg.get("dim", 1) == 2:
        return run_film_study(cfg, out, command)
    if cfg.get("render_from"):
        saved = torch.load(cfg.render_from, weights_only=False)
        path = write_report(saved["result"], out, command=saved["command"])
        print(f"wrote {path} from {cfg.render_from}")
        return path
    set_threads(cfg.get("threads"))
    vcfg = ValidationConfig.from_study(cfg)
    command = command or command_line(MODULE, drop=("save_raw",))  # bookkeeping, not part of what is computed
    result = run_validation(vcfg, log=lambda m: print(m, flush=True))
    if cfg.get("save_raw"):
        torch.save({"result": result, "command": command}, cfg.save_raw)
    path = write_report(result, out, command=command)
    print(f"wrote {path} ({result['seconds']:.0f} s)")
    return path


def run_film_study(cfg: DictConfig, out: Path, command: str | None = None) -> Path:
    """The film study (``dim: 2``, conf/studies/validation_2d.yaml): compute or re-render, and write."""
    from spsll.studies.validation.film import run_film_validation
    from spsll.studies.validation.film_config import FilmValidationConfig
    from spsll.studies.validation.film_report import write_report as write_film_report

    if cfg.get("render_from"):
        saved = torch.load(cfg.render_from, weights_only=False)
        path = write_film_report(saved["result"], out, command=saved["command"])
        print(f"wrote {path} from {cfg.render_from}")
        return path
    set_threads(cfg.get("threads"))
    fcfg = FilmValidationConfig.from_study(cfg)
    if command is None:  # Hydra does not list --config-name among the overrides
        tail = command_line(MODULE, drop=("save_raw",))[len(f"python -m {MODULE}"):]
        command = f"python -m {MODULE} --config-name {FILM_CONFIG}{tail}"
    ranges = {key: {"sigma_nm": list(cfg[grp].sigma_nm), "tau_nm": list(cfg[grp].tau_nm)}
              for key, grp in (("dispersion", "dispersion_dataset"), ("walls", "wall_dataset"))}
    result = run_film_validation(fcfg, log=lambda m: print(m, flush=True), dataset_ranges=ranges)
    if cfg.get("save_raw"):
        torch.save({"result": result, "command": command}, cfg.save_raw)
    path = write_film_report(result, out, command=command)
    print(f"wrote {path} ({result['seconds']:.0f} s)")
    return path


@hydra.main(version_base="1.3", config_path=str(CONF), config_name="studies/validation")
def main(cfg: DictConfig) -> None:
    run_study(cfg)
