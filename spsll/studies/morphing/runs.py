"""The runs the morphing reads, and what it refuses: the VAE (``vae_run``), the regressor (``regressor_run``) and
an optional Gaussian-process baseline (``gp_run``), each an MLflow run of ``train.py``, and the hysteresis file the
regressor trained on (its digest checked, as ``evaluate.py`` checks it).

Errors name the parameter: an unknown run id, a run of another model (a VAE given as regressor, a regressor as
VAE, a network as GP), a VAE of another chain length, a file that is not the regressor's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spsll.models.mask_vae import MaskEncoderError, load_mask_vae
from spsll.tracking.runs import RunError, check_dataset_digest, fetch_run, load_model, run_dataset_digest

VAE = "mask_vae"
REGRESSORS = ("anchor_regressor", "anchor_cnn", "anchor_ridge", "anchor_gp")
GP = "anchor_gp"


class MorphingError(ValueError):
    """Bad input of the morphing; the message names the parameter."""


@dataclass
class Run:
    run_id: str
    model_name: str
    model: object
    data_path: str


def _fetch(param: str, run_id, uri: str, workdir: Path, allowed: tuple[str, ...]) -> tuple[dict, Path, str]:
    if not run_id or not str(run_id).strip():
        raise MorphingError(f"{param} is required: the MLflow run id of a {' or '.join(allowed)} training")
    run_id = str(run_id).strip().removeprefix("runs:/").rstrip("/")
    try:
        conf, ckpt, data = fetch_run(run_id, uri, workdir / param)
    except RunError as err:
        raise MorphingError(f"{param}: {err}") from err
    name = conf["model"]["name"]
    if name not in allowed:
        raise MorphingError(f"{param}: run {run_id} trained a {name}, not a {' or '.join(allowed)}")
    return conf, ckpt, data


def load_runs(vae_run, regressor_run, gp_run, uri: str, workdir: Path) -> tuple[Run, Run, Run | None]:
    """The three runs' models (CPU, eval mode) and data files."""
    _, ckpt, data = _fetch("vae_run", vae_run, uri, workdir, (VAE,))
    try:
        vae = load_mask_vae(ckpt)
    except MaskEncoderError as err:
        raise MorphingError(f"vae_run: {err}") from err
    out = [Run(str(vae_run), VAE, vae, data)]
    for param, run_id, allowed in (("regressor_run", regressor_run, REGRESSORS), ("gp_run", gp_run, (GP,))):
        if param == "gp_run" and not run_id:
            out.append(None)
            continue
        conf, ckpt, data = _fetch(param, run_id, uri, workdir, allowed)
        try:
            model = load_model(conf["model"]["name"], ckpt)
        except RunError as err:
            raise MorphingError(f"{param}: {err}") from err
        n = int(model.data_info["n_cells"])
        if n != vae.n_cells:
            raise MorphingError(f"{param}: the model reads chains of N = {n} cells, the VAE of vae_run N = "
                                f"{vae.n_cells}")
        out.append(Run(str(run_id), conf["model"]["name"], model, data))
    return out[0], out[1], out[2]


def check_data(path: str | Path, run: Run, uri: str) -> Path:
    """``path`` (the regressor's own file when None) must be the file the regressor run trained on."""
    path = Path(path or run.data_path)
    if not path.is_file():
        raise MorphingError(f"data: no hysteresis file at {path}")
    try:
        check_dataset_digest(run_dataset_digest(run.run_id, uri), path)
    except RunError as err:
        raise MorphingError(f"data: {err}") from err
    return path
