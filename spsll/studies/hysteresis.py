"""``python -m spsll.hysteresis``: demagnetisation curves of chains with defects (docs/hysteresis.md).

The config (``conf/hysteresis.yaml``) composes a material and a geometry (``wire``: free ends;
``film``: the periodic chain) on a chain grid, the defects (``kind`` soft or vacancy, one centre layer
of ``thickness_nm`` or the RTN of ``sigma_nm``/``tau_nm``, ``count`` chains) and the sweep; ``reading=spsll``
(or ``spsll_convolution``) sweeps the RTN population under that statistical reading instead of drawing
its defects (docs/hysteresis.md#statistical-model). It writes a
JSON with, per sample, the curve (reverse field H in A/m and in units of H_K, M/Ms), the coercivity,
the nucleation field, the anchors, the jumps and the reversal mode, plus the inputs, H_K and, for a
centre layer, the linear-theory nucleation field; and the curves as a PNG next to it.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import torch
from matplotlib.figure import Figure
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from spsll.physics.defects.soft import centre_layer, layer_cells, rtn_defect_cells
from spsll.physics.geometry import geometry_mask
from spsll.physics.grid import Grid
from spsll.physics.hysteresis import Chains, SweepSettings, lattice_nucleation_field, run_sweep, summarise
from spsll.physics.material import Material
from spsll.studies.common import set_threads
from spsll.units import NM

log = logging.getLogger("hysteresis")

FIELD_CONVENTION = ("H is the reverse field: the applied field's component along -z (A/m), positive while "
                    "reversing from +z saturation")
HK_DEFINITION = ("H_K = the material's gap field Hk - Ms with the local shape term (Hk without magnetostatics): "
                 "the coherent switching field of the defect-free chain")


def _number(name: str, value, *, zero: bool = False) -> float:
    """A finite number > 0 (≥ 0 with ``zero``), refused naming the config key."""
    try:
        v = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number, got {value!r}") from err
    if not math.isfinite(v) or v < 0 or (v == 0 and not zero):
        raise ValueError(f"{name} must be a finite number {'>= 0' if zero else '> 0'}, got {value!r}")
    return v


def setup(cfg: DictConfig):
    """Material, grid, chains and sweep settings of the config, validated."""
    material = Material.from_config(OmegaConf.to_container(cfg.material, resolve=True))
    shape = list(cfg.grid.shape)
    if len(shape) != 1:
        raise ValueError(f"grid.shape must be [N] (a chain), got {shape}")
    grid = Grid(tuple(shape), material.a)
    geo, kind = cfg.geometry, str(cfg.geometry.kind)
    if kind not in ("wire", "film"):
        raise ValueError(f"geometry must be wire (free ends) or film (the periodic chain) for a chain, got {kind!r}")
    length = geo.get("length_nm")
    length = (grid.shape[0] - 2) * grid.a if length is None else _number("geometry.length_nm", length) * NM
    occupation = geometry_mask("wire", grid, length=length) if kind == "wire" else None
    d = cfg.defects
    count = d.count
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"defects.count must be an integer >= 1, got {count!r}")
    layer = d.thickness_nm is not None
    if layer == (d.sigma_nm is not None or d.tau_nm is not None):
        raise ValueError("give either defects.thickness_nm (one centre layer) or defects.sigma_nm and "
                         "defects.tau_nm (the RTN), not both and not neither")
    device = torch.device("cuda" if cfg.device == "auto" and torch.cuda.is_available() else
                          "cpu" if cfg.device == "auto" else str(cfg.device))
    settings = SweepSettings(**OmegaConf.to_container(cfg.sweep, resolve=True), seed=int(cfg.seed))
    reading = cfg.get("reading")
    if reading is not None:  # the population under a statistical reading: no defect cell (docs/hysteresis.md)
        if layer or d.sigma_nm is None or d.tau_nm is None:
            raise ValueError(f"reading={reading} reads an RTN population: give defects.sigma_nm and defects.tau_nm "
                             "(not defects.thickness_nm)")
        sig = torch.full((count,), _number("defects.sigma_nm", d.sigma_nm) * NM)
        tau = torch.full((count,), _number("defects.tau_nm", d.tau_nm, zero=True) * NM)
        chains = Chains.reading_of(material, grid, str(reading), sig, tau, geometry=occupation, device=device)
        return material, grid, chains, settings, None, torch.zeros(count, dtype=torch.float64)
    if layer:
        n = layer_cells(_number("defects.thickness_nm", d.thickness_nm) * NM, grid.a)
        cells = centre_layer(grid.shape[0], n).expand(count, -1)
    else:
        if d.sigma_nm is None or d.tau_nm is None:
            raise ValueError("the RTN defects need both defects.sigma_nm and defects.tau_nm")
        cells = rtn_defect_cells(grid.shape[0], grid.a, _number("defects.sigma_nm", d.sigma_nm) * NM,
                                 _number("defects.tau_nm", d.tau_nm, zero=True) * NM, count, int(cfg.seed))
    chains = Chains.build(material, grid, str(d.kind), cells, kappa=d.kappa, geometry=occupation, device=device)
    inside = torch.ones(grid.shape[0], dtype=torch.float64) if occupation is None else occupation
    return material, grid, chains, settings, (n if layer else None), (cells * inside).sum(-1)


def layer_theory(material: Material, n: int, kappa: float) -> float | None:
    """h_N of the centre layer by the lattice linear theory, in the chain's H_K (None where the theory does not
    hold: thin-film magnetostatics or DMI)."""
    if material.magnetostatics == "thin_film" or material.D != 0:
        return None
    shape = material.Ms if material.local_shape_term else 0.0
    delta = math.sqrt(material.A / material.K_U)
    return lattice_nucleation_field(n, delta / material.a, kappa=(kappa * material.Hk - shape) / material.gap_field)


def run_hysteresis(cfg: DictConfig) -> dict:
    set_threads(cfg.get("threads"))
    material, grid, chains, settings, n_layer, defect_cells = setup(cfg)
    H_K = material.gap_field
    span = settings.max_HK - settings.start_HK
    with tqdm(total=1000, desc="field sweep", unit="‰", disable=not cfg.progress) as bar:
        def progress(h):
            bar.update(max(0, round(1000 * (h - settings.start_HK) / span) - bar.n))
        curves = run_sweep(chains, H_K, settings, progress=progress)
        bar.update(bar.total - bar.n)  # every sample has reversed (they leave early)
    summaries = [summarise(c, H_K, settings) for c in curves]
    out = {
        "material": material.name, "H_K_A_per_m": H_K, "H_K_definition": HK_DEFINITION,
        "field_convention": FIELD_CONVENTION, "finest_step_HK": settings.finest_HK,
        "inputs": {"grid_shape": list(grid.shape), "cell_nm": grid.a / NM,
                   "geometry": OmegaConf.to_container(cfg.geometry, resolve=True),
                   "defects": OmegaConf.to_container(cfg.defects, resolve=True), "seed": int(cfg.seed),
                   "reading": chains.reading,
                   "sweep": OmegaConf.to_container(cfg.sweep, resolve=True)},
        "samples": [s.to_dict(H_K) | {"defect_cells": round(float(defect_cells[i]), 6)}
                    for i, s in enumerate(summaries)],
    }
    if n_layer is not None:
        out["inputs"]["layer_cells"] = n_layer
        if chains.kind == "soft":
            out["theory_nucleation_field_over_HK"] = layer_theory(material, n_layer, float(cfg.defects.kappa))
    path = Path(str(cfg.output))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    what = f"{chains.kind} defects" if chains.reading is None else f"{chains.reading} reading"
    curves_figure(summaries, H_K, f"{material.name}, {what}, {grid.shape[0]} cells").savefig(
        path.with_suffix(".png"), dpi=120)
    log.info("wrote %s and %s", path, path.with_suffix(".png"))
    print(json.dumps([{k: s[k] for k in ("coercivity_over_HK", "nucleation_field_over_HK", "reversal_mode")}
                      for s in out["samples"]], indent=1))
    return out


def curves_figure(summaries, H_K: float, title: str) -> Figure:
    """M/Ms against the reverse field H/H_K, one line per sample, the coercive fields marked."""
    fig = Figure(figsize=(6.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    for i, s in enumerate(summaries[:20]):  # more lines are unreadable
        line, = ax.plot([h / H_K for h in s.H_A_per_m], s.M, lw=1.2, label=f"sample {i}: {s.reversal_mode}")
        if math.isfinite(s.coercivity_A_per_m):
            ax.plot([s.coercivity_A_per_m / H_K], [0.0], "o", color=line.get_color(), ms=4)
    ax.axhline(0, color="0.7", lw=0.6)
    ax.set_xlabel("reverse field H / H_K")
    ax.set_ylabel("M / Ms")
    ax.set_title(title, fontsize=10)
    if len(summaries) <= 8:
        ax.legend(fontsize=7)
    return fig
