"""``python -m spsll.relax``: relax one texture of a material in a geometry and write what it measures.

The config (``conf/relax.yaml``) composes a material, a solver, a texture and a geometry; the result
is a JSON (``converged``, ``max_torque``, ``energy_J``, ``topological_charge``, ``survived``,
``radius_nm``, ``width_nm``, ``m_edge``, with the inputs) and a picture next to it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import warnings
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from spsll.figures.textures import texture_figure
from spsll.physics.geometry import geometry_mask
from spsll.physics.grid import Grid
from spsll.physics.material import Material
from spsll.physics.measure.relaxed_texture import relax_texture
from spsll.physics.solvers import SolverConfig
from spsll.studies.common import set_threads
from spsll.units import NM

log = logging.getLogger("relax")


def _nm(value) -> float | None:
    return None if value is None else float(value) * NM


def setup(cfg: DictConfig) -> tuple[Material, Grid, SolverConfig]:
    """Material (with the applied field added), grid and solver of the config, validated."""
    material = Material.from_config(OmegaConf.to_container(cfg.material, resolve=True))
    field_t = [float(b) for b in cfg.field_T]
    if len(field_t) != 3 or not all(math.isfinite(b) for b in field_t):
        raise ValueError(f"field_T must be three finite numbers (T), got {list(cfg.field_T)}")
    applied = tuple(h + b / material.mu0 for h, b in zip(material.applied_field, field_t, strict=True))
    material = dataclasses.replace(material, applied_field=applied)
    cell = material.a if cfg.grid.cell_nm is None else float(cfg.grid.cell_nm) * NM
    if cell != material.a:
        material = dataclasses.replace(material, a=cell)
    grid = Grid(tuple(cfg.grid.shape), cell)
    if cell > material.lambda_ex:
        warnings.warn(f"cell size {cell / NM:g} nm exceeds the exchange length {material.lambda_ex / NM:.3g} nm: "
                      "the lattice then departs from the continuum", stacklevel=2)
    solver = SolverConfig.from_config(OmegaConf.to_container(cfg.solver, resolve=True))
    return material, grid, solver


def run_relax(cfg: DictConfig) -> dict:
    set_threads(cfg.get("threads"))
    material, grid, solver = setup(cfg)
    tex, geo = cfg.texture, cfg.geometry
    mask = geometry_mask(geo.kind, grid, diameter=_nm(geo.get("diameter_nm")), length=_nm(geo.get("length_nm")),
                         width=_nm(geo.get("width_nm")))
    if tex.kind == "skyrmion" and mask is None and material.K_U > 0 and abs(material.D) >= material.critical_dmi:
        warnings.warn(f"|D| = {abs(material.D):.3g} J/m² >= D_c = {material.critical_dmi:.3g} J/m²: no isolated "
                      "skyrmion is metastable in an unbounded film and the texture may elongate (a finite geometry "
                      "can still hold one)", stacklevel=2)
    sigma = None if cfg.sigma_nm is None else [float(cfg.sigma_nm) * NM]
    tau = None if cfg.tau_nm is None else [float(cfg.tau_nm) * NM]
    defects = None
    if solver.solver.explicit_defects:  # R realisations of explicit vacancies (mosaic masks in films)
        if sigma is None or tau is None:
            raise ValueError(f"solver {solver.name} needs sigma_nm and tau_nm")
        defects = solver.solver.masks(solver, material, grid.shape[0] if grid.ndim == 1 else grid.shape, sigma, tau)
        sigma = tau = None
    res = relax_texture(material, grid, tex.kind, solver=solver, sigma=sigma, tau=tau, geometry=mask,
                        radius=_nm(tex.get("radius_nm")), width=_nm(tex.get("width_nm")),
                        torque_tol=float(cfg.torque_tol), max_iter=int(cfg.max_iter), mask=defects)
    out = _summary(cfg, material, grid, res)
    path = Path(str(cfg.output))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    title = f"{tex.kind} in a {geo.kind}, {material.name}, solver {solver.name}"
    texture_figure(res.m[0], grid, title).savefig(path.with_suffix(".png"), dpi=120)
    log.info("wrote %s and %s", path, path.with_suffix(".png"))
    print(json.dumps({k: v for k, v in out.items() if k != "inputs"}, indent=2))
    return out


def _summary(cfg: DictConfig, material: Material, grid: Grid, res) -> dict:
    """The measurements of the one texture; with explicit defects, one value per realisation (lists)
    and the survival fraction."""
    many = res.m.shape[0] > 1

    def value(t, scale=1.0, kind=float):
        if t is None:
            return None
        vals = [kind(v * scale) if kind is float else kind(v) for v in t.tolist()]
        return vals if many else vals[0]

    out = {
        "converged": value(res.converged, kind=bool), "max_torque": value(res.max_torque),
        "energy_J": value(res.energy_J), "topological_charge": value(res.topological_charge),
        "survived": value(res.survived, kind=bool), "radius_nm": value(res.radius, 1 / NM),
        "width_nm": value(res.width, 1 / NM),
        "m_edge": None if res.m_edge is None else (res.m_edge.tolist() if many else res.m_edge[0].tolist()),
        "inputs": {"texture": OmegaConf.to_container(cfg.texture), "geometry": OmegaConf.to_container(cfg.geometry),
                   "material": material.name, "solver": cfg.solver.name, "grid_shape": list(grid.shape),
                   "cell_nm": grid.a / NM, "sigma_nm": cfg.sigma_nm, "tau_nm": cfg.tau_nm,
                   "field_T": list(cfg.field_T)},
    }
    if many:
        out["realisations"] = res.m.shape[0]
        if res.survived is not None:
            out["survival_fraction"] = float(res.survived.to(float).mean())
    return out
