"""``python -m spsll.studies.morphing``: the Hydra entry point (conf/studies/morphing.yaml)."""

from __future__ import annotations

import datetime as _dt
import platform
import tempfile
import time
from pathlib import Path

import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf

from spsll.data.hdf5 import git_commit
from spsll.data.mask_datamodule import TARGETS
from spsll.studies.common import CONF, ROOT, command_line, set_threads, write_json
from spsll.studies.morphing.path import check_pair, check_targets, latent_path, predict, read_chains, simulate
from spsll.studies.morphing.report import json_path, masks_figure, path_figure, path_summary, render
from spsll.studies.morphing.runs import check_data, load_runs
from spsll.tracking.mlflow_run import resolve_tracking_uri
from spsll.units import NM

MODULE = "spsll.studies.morphing"


def _test_mae(uri: str, run_id: str, targets: list[str]) -> dict:
    """The run's test MAE per target as evaluate.py logged it (absent: not evaluated)."""
    from spsll.tracking.runs import client

    metrics = client(uri).get_run(run_id).data.metrics
    return {t: metrics[f"test/mae_{t}"] for t in targets if f"test/mae_{t}" in metrics}


def run_morphing(cfg: DictConfig, command: str | None = None) -> Path:
    """The path, its simulation and predictions; the JSON, the figures and the report at ``cfg.out``."""
    import matplotlib

    matplotlib.use("Agg")
    set_threads(cfg.get("threads"))
    command = _portable(command or command_line(MODULE))
    uri = resolve_tracking_uri(cfg.get("tracking_uri"), ROOT)
    workdir = Path(tempfile.mkdtemp(prefix="spsll_morphing_"))
    vae, reg, gp = load_runs(cfg.vae_run, cfg.regressor_run, cfg.get("gp_run"), uri, workdir)
    targets = check_targets(OmegaConf.to_container(cfg.targets) if cfg.targets is not None else None, reg.model,
                            "regressor_run")
    if gp is not None:
        check_targets(targets, gp.model, "gp_run")
    path = check_data(cfg.get("data"), reg, uri)
    chains = read_chains(path)
    a, b = check_pair(OmegaConf.to_container(cfg.pair) if cfg.pair is not None else None, chains)
    originals = chains.masks[[a, b]]
    morph = latent_path(vae.model, originals, cfg.n_steps, cfg.threshold)
    decoded = morph["masks"]
    keys = [len(chains.split) + i for i in range(len(decoded))] + [int(chains.keys[a]), int(chains.keys[b])]
    t0 = time.perf_counter()
    sim = simulate(chains, np.concatenate([decoded, originals]), keys, str(cfg.get("device", "cpu")))
    print(f"re-simulated {len(keys)} chains in {time.perf_counter() - t0:.1f} s", flush=True)
    names = list(TARGETS)
    col = {n: names.index(n) for n in names}
    n = len(decoded)
    simulated = {t: sim["targets"][:n, col[t]] for t in targets}
    ok = sim["converged"][:n]
    repro = float(np.abs(sim["targets"][n:] - chains.targets[[a, b]]).max())
    pred = predict(reg.model, decoded, sim["cell_m"])
    gp_pred = predict(gp.model, decoded, sim["cell_m"]) if gp is not None else None
    test_mae = _test_mae(uri, reg.run_id, targets)
    summary = path_summary(targets, simulated, pred, gp_pred, ok, test_mae)

    out = Path(cfg.out)
    figs = out.parent / out.stem
    figs.mkdir(parents=True, exist_ok=True)
    stored = {tg: chains.targets[[a, b], col[tg]] for tg in targets}
    path_figure(morph["t"], targets, simulated, ok, pred, gp_pred, stored,
                (f"{reg.model_name} (predicted)", "anchor_gp ± 1 sd")).savefig(figs / "path.png", dpi=120)
    masks_figure(morph["t"], decoded, originals, (a, b), sim["cell_m"] / NM).savefig(figs / "masks.png", dpi=120)

    def listed(d):
        return {k: np.asarray(v, dtype=float).tolist() for k, v in d.items()}

    data = {
        "inputs": {"command": command, "date": _dt.date.today().isoformat(), "commit": git_commit()[:12],
                   "machine": f"{platform.machine()} CPU", "vae_run": vae.run_id, "regressor_run": reg.run_id,
                   "regressor_model": reg.model_name, "gp_run": gp.run_id if gp else None,
                   "gp_model": gp.model_name if gp else None, "data": _relative(path), "pair": [a, b],
                   "n_steps": int(cfg.n_steps), "threshold": float(cfg.threshold), "targets": targets,
                   "latent_dim": int(morph["mu"].shape[1]), "tracking_uri": _portable(uri)},
        "t": morph["t"].tolist(), "latent": morph["z"].tolist(),
        "defect_fraction": decoded.mean(1).tolist(), "original_defect_fraction": originals.mean(1).tolist(),
        "converged": [bool(v) for v in ok],
        "simulated": listed(simulated), "predicted": listed({t: pred["mean"][t] for t in targets}),
        "gp": None if gp_pred is None else {"mean": listed({t: gp_pred["mean"][t] for t in targets}),
                                            "sd": listed({t: gp_pred["sd"][t] for t in targets})},
        "ends": {"a": {t: float(chains.targets[a, col[t]]) for t in names},
                 "b": {t: float(chains.targets[b, col[t]]) for t in names}},
        "endpoint_reproduction": repro, "seconds_simulation": sim["seconds"], "decoded_masks": decoded.tolist(),
        "summary": {**summary, "seconds_simulation": sim["seconds"], "endpoint_reproduction": repro,
                    "pair": [a, b], "vae_run": vae.run_id, "regressor_run": reg.run_id,
                    "gp_run": gp.run_id if gp else None},
    }
    write_json(json_path(out), data)
    render(data, out)
    print(f"wrote {out} and {json_path(out)}")
    return out


def _relative(path: Path) -> str:
    """A file inside the project as a path relative to it (the report stands alone)."""
    p = Path(path).resolve()
    return p.relative_to(ROOT).as_posix() if p.is_relative_to(ROOT) else p.as_posix()


def _portable(text: str) -> str:
    """The project's own location left out of a command line or store URI written into the report."""
    return text.replace(f"{ROOT.as_posix()}/", "")


@hydra.main(version_base="1.3", config_path=str(CONF), config_name="studies/morphing")
def main(cfg: DictConfig) -> None:
    run_morphing(cfg)
