"""The identifiability report: the numbers as JSON (``identifiability.json``), and
``templates/identifiability.md`` filled from them."""

from __future__ import annotations

import platform

import numpy as np
import torch

from spsll.studies.identifiability.compute import (
    FD_REL_STEP,
    GOOD_FRACTION,
    PHI_LINE,
    PHI_TARGET,
    T_LINE_M,
    IdentifiabilityMap,
    Setup,
    phi_T,
)
from spsll.studies.rendering import fill, markdown_table, template_sections
from spsll.units import NM

JSON_NAME = "identifiability.json"
_STDS = ("std_sigma", "std_tau", "std_phi", "std_T")


def numbers(setup: Setup, maps: list[IdentifiabilityMap], spreads: dict, command: str, seconds: float) -> dict:
    """What the report states, JSON-able (lengths in m, frequencies in Hz, maps as nested lists)."""
    def map_numbers(m: IdentifiabilityMap) -> dict:
        arrays = {"sigma_m": m.sigma, "tau_m": m.tau, "summary": m.summary, **m.crb,
                  "angle_sloppy_deg": m.angle_sloppy_deg, "angle_summary_deg": m.angle_summary_deg}
        return {"box_m": [list(b) for b in m.box], "seconds": m.seconds, **{k: v.tolist() for k, v in arrays.items()}}

    return {
        "command": command, "seconds": seconds, "machine": platform.machine(), "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "setup": {"material": setup.material.name, "solver": setup.solver.name,
                  "n_cells_dispersion": setup.n_cells_dispersion, "wall_n_cells": setup.walls.n_cells,
                  "wall_method": setup.walls.method, "torque_tol": setup.walls.torque_tol,
                  "box_dispersion_m": [list(b) for b in setup.box_dispersion],
                  "box_walls_m": [list(b) for b in setup.box_walls]},
        "spreads": spreads,
        "maps": {m.kind: map_numbers(m) for m in maps},
    }


def map_of(kind: str, n: dict) -> IdentifiabilityMap:
    """An :class:`IdentifiabilityMap` back from its JSON numbers."""
    crb = {k: np.asarray(n[k]) for k in (*_STDS, "std_phi_T_known", "stiffness_ratio", "sloppy")}
    return IdentifiabilityMap(kind, tuple(tuple(b) for b in n["box_m"]), np.asarray(n["sigma_m"]),
                              np.asarray(n["tau_m"]), np.asarray(n["summary"]), crb,
                              np.asarray(n["angle_sloppy_deg"]), np.asarray(n["angle_summary_deg"]), n["seconds"])


def verdict(rel: np.ndarray) -> str:
    """std/span over a grid → recoverable (everywhere < GOOD_FRACTION) / not recoverable (median > 1) / partly."""
    if rel.max() < GOOD_FRACTION:
        return "recoverable"
    return "not recoverable" if np.median(rel) > 1 else "partly"


def _at(m: IdentifiabilityMap, flat_index) -> str:
    i = np.unravel_index(flat_index, m.sigma.shape)
    _, T = phi_T(m.sigma[i], m.tau[i])
    return f"σ = {m.sigma[i] / NM:.3g} nm, τ = {m.tau[i] / NM:.3g} nm, T = {T / NM:.2g} nm"


def _rng(a, scale=1.0, fmt="{:.3g}"):
    a = np.asarray(a) / scale
    return f"{fmt.format(a.min())} / {fmt.format(np.median(a))} / {fmt.format(a.max())}"


def _numbers_row(m: IdentifiabilityMap) -> dict:
    c = m.crb
    return {"kind": m.kind, "grid": f"{m.sigma.shape[1]} × {m.sigma.shape[0]}", "std_sigma": _rng(c["std_sigma"], NM),
            "std_tau": _rng(c["std_tau"], NM), "std_phi": _rng(c["std_phi"]), "std_T": _rng(c["std_T"], NM),
            "stiffness_ratio": _rng(c["stiffness_ratio"], fmt="{:.3g}"),
            "angle_sloppy": _rng(m.angle_sloppy_deg, fmt="{:.2g}"),
            "angle_summary": _rng(m.angle_summary_deg, fmt="{:.2g}"), "seconds": m.seconds}


def _verdict_row(m: IdentifiabilityMap) -> dict:
    """(median, worst, verdict) of std / span per quantity."""
    phi, T = phi_T(m.sigma, m.tau)
    spans = {"std_sigma": np.ptp(m.sigma), "std_tau": np.ptp(m.tau), "std_phi": np.ptp(phi), "std_T": np.ptp(T)}
    row: dict = {"kind": m.kind}
    for key, span in spans.items():
        rel = m.crb[key] / span
        row[key] = (np.median(rel), rel.max(), verdict(rel))
    return row


def _map_fields(prefix: str, m: IdentifiabilityMap) -> dict:
    """Medians (and a few worst cases) of one map, as ``<prefix>_<name>`` fields."""
    c, med = m.crb, np.median
    return {f"{prefix}_{k}": v for k, v in {
        "angle_sloppy": med(m.angle_sloppy_deg), "angle_summary": med(m.angle_summary_deg),
        "stiffness": med(c["stiffness_ratio"]), "std_phi": med(c["std_phi"]), "std_phi_max": c["std_phi"].max(),
        "std_sigma_nm": med(c["std_sigma"]) / NM, "std_sigma_max_nm": c["std_sigma"].max() / NM,
        "std_tau_nm": med(c["std_tau"]) / NM, "std_T_nm": med(c["std_T"]) / NM,
        "std_phi_T_known": med(c["std_phi_T_known"]), "cost": med(c["std_phi"] / c["std_phi_T_known"]),
        "above_target": np.mean(c["std_phi"] > PHI_TARGET), "where_sigma": _at(m, np.argmax(c["std_sigma"])),
        "where_phi": _at(m, np.argmax(c["std_phi"])),
    }.items()}


def render_report(raw: dict, *, fig_dir: str, physics: str = "physics.md") -> str:
    """The report's Markdown from the numbers of ``identifiability.json`` (figures in ``fig_dir``, the
    physics reference at ``physics``)."""
    t = template_sections("identifiability.md")
    s, spreads = raw["setup"], raw["spreads"]
    maps = [map_of(kind, n) for kind, n in raw["maps"].items()]
    d, w = (next(m for m in maps if m.kind == kind) for kind in ("dispersion", "walls"))
    verdicts = [_verdict_row(m) for m in maps]
    dw_dphi_nm = spreads["width_mid_nm"] / (2 * PHI_LINE)  # w ≈ w0 √φ ⇒ dw/dφ ≈ w/(2φ)
    cost_w = w.crb["std_phi"] / w.crb["std_phi_T_known"]
    fields = {
        **{k: raw[k] for k in ("command", "seconds", "machine", "torch", "threads")}, **s, "spreads": spreads,
        "disp_box": [[v / NM for v in b] for b in s["box_dispersion_m"]],
        "wall_box": [[v / NM for v in b] for b in s["box_walls_m"]],
        "fd_rel_step": FD_REL_STEP, "good_fraction": GOOD_FRACTION, "phi_line": PHI_LINE, "T_line_nm": T_LINE_M / NM,
        "phi_target": PHI_TARGET, "dw_dphi_nm": dw_dphi_nm, "phi_ambiguity": spreads["width_phi_nm"] / dw_dphi_nm,
        **_map_fields("d", d), **_map_fields("w", w), "w_cost_max": cost_w.max(),
        "w_where_cost": _at(w, np.argmax(cost_w)),
        "verdicts": {r["kind"]: {k: r[k][2] for k in _STDS} for r in verdicts},
        "numbers_table": markdown_table(t["numbers_table"], [_numbers_row(m) for m in maps]),
        "verdict_table": markdown_table(t["verdict_table"], verdicts), "fig": fig_dir, "physics": physics,
    }
    return fill(t["report"], fields) + "\n"
