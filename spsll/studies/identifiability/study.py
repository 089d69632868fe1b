"""``python -m spsll.studies.identifiability``: the Hydra entry point of the identifiability study."""

from __future__ import annotations

import time
from pathlib import Path

import hydra
from omegaconf import DictConfig

from spsll.studies.common import CONF, command_line, physics_link, set_threads, write_json
from spsll.studies.identifiability.compute import Setup, identifiability_map, line_curves, line_spreads
from spsll.studies.identifiability.figures import dispersion_lines_figure, map_figure, wall_lines_figure
from spsll.studies.identifiability.report import JSON_NAME, numbers, render_report

MODULE = "spsll.studies.identifiability"


def run_study(cfg: DictConfig, command: str | None = None) -> Path:
    """Maps, lines, figures, ``identifiability.json`` and the report at ``cfg.out``."""
    import matplotlib

    matplotlib.use("Agg")
    if isinstance(cfg.grid, bool) or not isinstance(cfg.grid, int) or cfg.grid < 2:
        raise ValueError(f"grid must be an integer >= 2, got {cfg.grid!r}")
    set_threads(cfg.threads)
    command = command or command_line(MODULE)
    t0 = time.perf_counter()
    out = Path(cfg.out)
    setup = Setup.from_study(cfg)
    fig_dir = out.parent / out.stem
    fig_dir.mkdir(parents=True, exist_ok=True)
    maps = []
    for kind in ("dispersion", "walls"):
        maps.append(identifiability_map(setup, kind, cfg.grid))
        print(f"{kind} map {cfg.grid} x {cfg.grid}: {maps[-1].seconds:.1f} s", flush=True)
        map_figure(maps[-1], fig_dir / f"{'dispersion' if kind == 'dispersion' else 'wall'}_crb.png")
    curves = line_curves(setup)
    dispersion_lines_figure(setup, curves, fig_dir / "dispersion_lines.png")
    wall_lines_figure(setup, curves, fig_dir / "wall_lines.png")
    raw = numbers(setup, maps, line_spreads(curves), command, time.perf_counter() - t0)
    write_json(fig_dir / JSON_NAME, raw)
    out.write_text(render_report(raw, fig_dir=fig_dir.name, physics=physics_link(out)))
    print(f"wrote {out}")
    return out


@hydra.main(version_base="1.3", config_path=str(CONF), config_name="studies/identifiability")
def main(cfg: DictConfig) -> None:
    run_study(cfg)
