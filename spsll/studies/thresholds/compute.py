"""The threshold study's computation: the ideal film's field window, then for every (σ, τ) point the
critical field B_c above which the isolated skyrmion collapses, by bisection in B batched across the
points (statistical readings: one sample per point) and across every realisation of the explicit
mosaic ensembles (each realisation has its own B_c; the ensemble's is where their survival fraction
crosses ½).

Bisection assumes survival is monotone in B for one sample (a stronger field only shrinks the
skyrmion); the tests check it against direct relaxations at held-out fields. A sample keeps its
masks and placement at every field (common random numbers), so the ensemble's survival curve p(B) is
the fraction of its realisations with B_c,i > B.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from dataclasses import fields as dataclass_fields

import numpy as np
import torch

from spsll.physics.material import Material
from spsll.physics.measure.relaxed_texture import SURVIVAL_Q_TOL
from spsll.physics.measure.skyrmion_ensemble import SkyrmionBatch, point_summary, relax_skyrmions, wilson_interval
from spsll.physics.solvers import SolverConfig
from spsll.studies.thresholds.config import AUTO, ThresholdConfig
from spsll.units import NM, correlation_length, material_fraction

ENSEMBLE = "ensemble"  # the explicit mosaic ensembles' key in the results
IDEAL = "psll"
FIELD_LADDER_LOW_T = (0.0, 0.02, 0.05, 0.1, 0.2, 0.5)  # where the ideal film first holds an isolated skyrmion
FIELD_LADDER_HIGH_T = (0.25, 0.5, 1.0, 2.0, 4.0)  # where the ideal film's skyrmion has collapsed
IDEAL_EXTRA_STEPS = 4  # the ideal film is one sample: a finer bracket costs little
MAP_FIELDS = 81  # fields of the survival maps


@dataclass
class Samples:
    """One solver's samples, one row each: a statistical reading's (σ, τ) or an ensemble's mask."""

    name: str
    solver: SolverConfig
    point: torch.Tensor  # (S,) index of the (σ, τ) point of each row
    sigma: torch.Tensor | None  # (S,) m
    tau: torch.Tensor | None
    mask: torch.Tensor | None  # (S, N, N)
    max_iter: int
    torque_tol: float

    def __len__(self) -> int:
        return int(self.point.numel())


@dataclass
class Bisection:
    """Per row: the last field at which it survived (``lo``) and the first at which it did not (``hi``),
    T; ``status`` bracketed / below (gone at the window's lowest field) / above (alive at its highest) /
    not isolated (grown to the box at the lowest field) / undecided (still moving at the budget at the
    lowest field: counted as below). ``undecided``: evaluations that ended undecided (as collapses)."""

    lo: torch.Tensor
    hi: torch.Tensor
    status: list
    at_min: SkyrmionBatch  # every row measured at the lowest field (energies too)
    relaxations: int
    iterations: int
    seconds: float
    undecided: int = 0

    @property
    def critical(self) -> torch.Tensor:
        """B_c per row (T): the bracket's middle; −inf below the window (and not isolated), +inf above."""
        mid = (self.lo + self.hi) / 2
        below = torch.tensor([s in ("below", "not isolated", "undecided") for s in self.status])
        above = torch.tensor([s == "above" for s in self.status])
        return torch.where(below, -math.inf, torch.where(above, math.inf, mid))

    @property
    def half_bracket(self) -> torch.Tensor:
        return torch.where(torch.tensor([s == "bracketed" for s in self.status]), (self.hi - self.lo) / 2, 0.0)


def relax_rows(cfg: ThresholdConfig, material: Material, s: Samples, rows: torch.Tensor, fields: torch.Tensor, *,
               energy: bool = False) -> SkyrmionBatch:
    """The rows ``rows`` of ``s`` relaxed at ``fields`` (T, one per row), ``cfg.chunk`` at a time."""
    parts = []
    for lo in range(0, rows.numel(), cfg.chunk):
        r, f = rows[lo:lo + cfg.chunk], fields[lo:lo + cfg.chunk]
        kw = {"mask": s.mask[r]} if s.mask is not None else {}
        if s.sigma is not None and s.mask is None:
            kw |= {"sigma": s.sigma[r], "tau": s.tau[r]}
        parts.append(relax_skyrmions(material, cfg.grid, field_T=f, solver=s.solver, radius=cfg.radius_nm * NM,
                                     torque_tol=s.torque_tol, max_iter=s.max_iter, energy=energy,
                                     pinning=cfg.pinning, isolated_fraction=cfg.isolated_fraction, **kw))
    return SkyrmionBatch.cat(parts)


def _grown(b: SkyrmionBatch) -> torch.Tensor:
    """Topology and core kept but not isolated: grown to the box rather than collapsed."""
    return ((b.charge - b.initial_charge).abs() < SURVIVAL_Q_TOL) & b.core_down & ~b.isolated


def bisect(cfg: ThresholdConfig, material: Material, s: Samples, b_min: float, b_max: float, steps: int,
           log=print) -> Bisection:
    """B_c of every row of ``s`` in [b_min, b_max] (T) by ``steps`` bisections, batched across the rows
    still bracketed."""
    t0 = time.perf_counter()
    n = len(s)
    every = torch.arange(n)
    first = relax_rows(cfg, material, s, every, torch.full((n,), b_min, dtype=torch.float64), energy=True)
    count, its, open_ = n, int(first.iterations.sum()), int(first.undecided.sum())
    status = ["bracketed" if a else "undecided" if u else "not isolated" if g else "below" for a, u, g in
              zip(first.survived.tolist(), first.undecided.tolist(), _grown(first).tolist(), strict=True)]
    lo = torch.full((n,), b_min, dtype=torch.float64)
    hi = torch.full((n,), b_max, dtype=torch.float64)
    alive = first.survived.clone()
    if bool(alive.any()):
        rows = every[alive]
        top = relax_rows(cfg, material, s, rows, hi[rows])
        count, its, open_ = count + rows.numel(), its + int(top.iterations.sum()), open_ + int(top.undecided.sum())
        for r, a in zip(rows.tolist(), top.survived.tolist(), strict=True):
            if a:
                status[r] = "above"
    for _ in range(steps):
        rows = torch.tensor([i for i in range(n) if status[i] == "bracketed"], dtype=torch.long)
        if rows.numel() == 0:
            break
        mid = (lo[rows] + hi[rows]) / 2
        res = relax_rows(cfg, material, s, rows, mid)
        count, its, open_ = count + rows.numel(), its + int(res.iterations.sum()), open_ + int(res.undecided.sum())
        lo[rows] = torch.where(res.survived, mid, lo[rows])
        hi[rows] = torch.where(res.survived, hi[rows], mid)
    seconds = time.perf_counter() - t0
    log(f"  {s.name}: {n} samples, {count} relaxations ({open_} undecided), {its} iterations in {seconds:.1f} s")
    return Bisection(lo, hi, status, first, count, its, seconds, open_)


def _solver(cfg: ThresholdConfig, name: str, **options) -> SolverConfig:
    return SolverConfig.of(name, dtype=cfg.dtype, device=cfg.device, compile=False, **options)


def ideal_window(cfg: ThresholdConfig, material: Material, log=print) -> dict:
    """The field window [B_min, B_max] (T) and the ideal film's bisection (τ = 0 of every reading and of
    the ensemble: all are ``psll`` there to the bit)."""
    s = Samples(IDEAL, _solver(cfg, IDEAL), torch.zeros(1, dtype=torch.long), None, None, None, cfg.max_iter,
                cfg.torque_tol)
    t0 = time.perf_counter()
    if cfg.field_min_T == AUTO:
        below_dc = abs(material.D) < material.critical_dmi
        ladder = torch.tensor((0.0,) if below_dc else FIELD_LADDER_LOW_T, dtype=torch.float64)
        res = relax_skyrmions(material, cfg.grid, field_T=ladder, solver=s.solver, radius=cfg.radius_nm * NM,
                              torque_tol=cfg.torque_tol, max_iter=cfg.max_iter, isolated_fraction=cfg.isolated_fraction)
        ok = torch.nonzero(res.survived).flatten()
        if ok.numel() == 0:
            raise ValueError(f"material {material.name!r} (D = {material.D:.3g} J/m², D_c = "
                             f"{material.critical_dmi:.3g} J/m²) holds no isolated skyrmion in the ideal "
                             f"{cfg.grid_cells}-cell film at any of {ladder.tolist()} T; set field_min_T")
        b_min = float(ladder[int(ok[0])])
    else:
        b_min = float(cfg.field_min_T)
    if cfg.field_max_T == AUTO:
        ladder = torch.tensor([b for b in FIELD_LADDER_HIGH_T if b > b_min], dtype=torch.float64)
        res = relax_skyrmions(material, cfg.grid, field_T=ladder, solver=s.solver, radius=cfg.radius_nm * NM,
                              torque_tol=cfg.torque_tol, max_iter=cfg.max_iter, isolated_fraction=cfg.isolated_fraction)
        gone = torch.nonzero(~res.survived).flatten()
        if gone.numel() == 0:
            raise ValueError(f"the ideal film's skyrmion survives up to {ladder[-1]:g} T; set field_max_T")
        k = int(gone[0])
        lo0, hi0 = (b_min if k == 0 else float(ladder[k - 1])), float(ladder[k])
    else:
        lo0, hi0 = b_min, float(cfg.field_max_T)
    ideal = bisect(cfg, material, s, lo0, hi0, cfg.bisection_steps + IDEAL_EXTRA_STEPS, log)
    if ideal.status[0] in ("below", "not isolated", "undecided"):
        raise ValueError(f"the ideal film holds no isolated skyrmion at {lo0:g} T ({ideal.status[0]}): raise "
                         "field_min_T")
    b_max = float(cfg.field_max_T) if cfg.field_max_T != AUTO else round(
        cfg.field_max_over_ideal * float(ideal.hi[0]), 3)
    at_min = ideal.at_min if lo0 == b_min else relax_rows(cfg, material, s, torch.zeros(1, dtype=torch.long),
                                                          torch.full((1,), b_min, dtype=torch.float64), energy=True)
    log(f"  window [{b_min:g}, {b_max:g}] T; ideal B_c in [{float(ideal.lo[0]):.4f}, {float(ideal.hi[0]):.4f}] T "
        f"({time.perf_counter() - t0:.1f} s)")
    return {"b_min": b_min, "b_max": b_max, "ideal": ideal, "ideal_at_min": at_min}


def ensemble_boundary(bc: np.ndarray, half: np.ndarray) -> dict:
    """Where an ensemble's survival fraction p(B) = #(B_c,i > B)/R crosses ½: the largest field up to
    which at least half the realisations survive, c_(⌊R/2⌋) of the ascending B_c,i (the median for odd
    R, the upper middle for even R; ±inf beyond the window), and the range of B over which Wilson's
    95 % interval of p(B) still holds ½, widened by the largest bisection half-bracket."""
    R = bc.size
    c = np.sort(bc)
    valid = []
    for j in range(R + 1):  # between c_(j) and c_(j+1), R − j realisations survive
        lo, hi = wilson_interval(R - j, R)
        if float(lo) <= 0.5 <= float(hi):
            valid.append(j)
    pad = float(half.max()) if half.size else 0.0
    lo = -math.inf if valid[0] == 0 else float(c[valid[0] - 1]) - pad
    hi = math.inf if valid[-1] == R else float(c[valid[-1]]) + pad
    return {"B_c": float(c[R // 2]), "ci_lo": lo, "ci_hi": hi}


def survival_curve(bc: np.ndarray, fields: np.ndarray) -> np.ndarray:
    """p(B) = fraction of realisations with B_c,i > B, on ``fields``."""
    return (bc[None, :] > fields[:, None]).mean(axis=1)


def _batch_summary(b: SkyrmionBatch, points: int, realisations: int) -> dict:
    out = point_summary(b, points, realisations)
    shift = b.core_shift.reshape(points, realisations)
    surv = b.survived.reshape(points, realisations)
    out["core_shift_mean"] = [float(shift[p][surv[p]].mean()) if bool(surv[p].any()) else math.nan
                              for p in range(points)]
    return out


def threshold_map(cfg: ThresholdConfig, material: Material, log=print) -> dict:
    """B_c over the (σ, τ) grid for the ideal film, every reading and the explicit ensembles, at one D."""
    t0 = time.perf_counter()
    window = ideal_window(cfg, material, log)
    b_min, b_max, ideal = window["b_min"], window["b_max"], window["ideal"]
    pts = [(s, t) for s in cfg.sigma_nm for t in cfg.tau_nm]
    defect = [i for i, (_, t) in enumerate(pts) if t > 0]
    sig = torch.tensor([pts[i][0] * NM for i in defect], dtype=torch.float64)
    tau = torch.tensor([pts[i][1] * NM for i in defect], dtype=torch.float64)
    P, R = len(defect), cfg.realisations
    results = {}
    timing = {IDEAL: _timing(ideal)}
    if P:
        for name in cfg.readings:
            s = Samples(name, _solver(cfg, name), torch.arange(P), sig, tau, None, cfg.max_iter_of(name),
                        cfg.torque_tol_of(name))
            results[name] = bisect(cfg, material, s, b_min, b_max, cfg.bisection_steps, log)
            timing[name] = _timing(results[name])
        ens_solver = _solver(cfg, "rtn_ensemble", realisations=R, seed=cfg.seed)
        masks = ens_solver.solver.masks(ens_solver, material, cfg.grid.shape, sig, tau)
        s = Samples(ENSEMBLE, ens_solver, torch.arange(P).repeat_interleave(R), None, None, masks,
                    cfg.max_iter_of("rtn_ensemble"), cfg.torque_tol_of("rtn_ensemble"))
        results[ENSEMBLE] = bisect(cfg, material, s, b_min, b_max, cfg.bisection_steps, log)
        timing[ENSEMBLE] = _timing(results[ENSEMBLE])
    fields = np.linspace(b_min, b_max, MAP_FIELDS)
    ideal_bc = float(ideal.critical[0])
    ideal_half = float(ideal.half_bracket[0])
    per_sigma = []
    for sigma in cfg.sigma_nm:
        idx = [i for i, (s, _) in enumerate(pts) if s == sigma]
        per_sigma.append(_sigma_block(cfg, sigma, idx, defect, results, ideal_bc, ideal_half, fields, window))
    return {"D_J_per_m2": material.D,
            "critical_dmi_J_per_m2": material.critical_dmi, "field_min_T": b_min, "field_max_T": b_max,
            "ideal": {"B_c_T": ideal_bc, "half_bracket_T": ideal_half, "lo_T": float(ideal.lo[0]),
                      "hi_T": float(ideal.hi[0]),
                      "radius_at_min_nm": float(window["ideal_at_min"].radius[0] / NM),
                      "energy_at_min_J": float(window["ideal_at_min"].energy[0])},
            "map_fields_T": fields.tolist(), "sigma": per_sigma, "timing": timing,
            "seconds": time.perf_counter() - t0}


def _timing(b: Bisection) -> dict:
    return {"relaxations": b.relaxations, "iterations": b.iterations, "seconds": b.seconds, "undecided": b.undecided,
            "seconds_per_relaxation": b.seconds / max(b.relaxations, 1),
            "ms_per_iteration": 1e3 * b.seconds / max(b.iterations, 1)}


def _sigma_block(cfg, sigma, idx, defect, results, ideal_bc, ideal_half, fields, window) -> dict:
    """The B_c(τ) curves and the survival map at one σ."""
    taus = [cfg.tau_nm[i % len(cfg.tau_nm)] for i in idx]
    R = cfg.realisations
    block = {"sigma_nm": sigma, "tau_nm": taus,
             "phi": [float(material_fraction(sigma, t)) for t in taus],
             "T_nm": [float(correlation_length(sigma, t)) for t in taus], "readings": {}}
    rows_of = {i: defect.index(i) for i in idx if i in defect}
    for name in (*cfg.readings, ENSEMBLE):
        entry = {"B_c_T": [], "half_bracket_T": [], "status": []}
        if name == ENSEMBLE:
            entry |= {"ci_lo_T": [], "ci_hi_T": [], "realisation_B_c_T": [], "realisation_status": [],
                      "survival_map": []}
        at_min = []
        for i in idx:
            if i not in rows_of:  # τ = 0: the ideal film
                entry["B_c_T"].append(ideal_bc)
                entry["half_bracket_T"].append(ideal_half)
                entry["status"].append("ideal")
                if name == ENSEMBLE:
                    entry["ci_lo_T"].append(ideal_bc - ideal_half)
                    entry["ci_hi_T"].append(ideal_bc + ideal_half)
                    entry["realisation_B_c_T"].append([ideal_bc])
                    entry["realisation_status"].append(["ideal"])
                    entry["survival_map"].append(survival_curve(np.array([ideal_bc]), fields).tolist())
                at_min.append(None)
                continue
            p = rows_of[i]
            b = results[name]
            if name == ENSEMBLE:
                rows = slice(p * R, (p + 1) * R)
                bc = b.critical[rows].numpy()
                half = b.half_bracket[rows].numpy()
                bound = ensemble_boundary(bc, half)
                entry["B_c_T"].append(bound["B_c"])
                entry["half_bracket_T"].append(float(half.max()))
                entry["status"].append(_ensemble_status(bound, window))
                entry["ci_lo_T"].append(bound["ci_lo"])
                entry["ci_hi_T"].append(bound["ci_hi"])
                entry["realisation_B_c_T"].append(bc.tolist())
                entry["realisation_status"].append(b.status[rows])
                entry["survival_map"].append(survival_curve(bc, fields).tolist())
            else:
                entry["B_c_T"].append(float(b.critical[p]))
                entry["half_bracket_T"].append(float(b.half_bracket[p]))
                entry["status"].append(b.status[p])
            at_min.append(p)
        entry["at_min"] = _at_min(results.get(name), at_min, R if name == ENSEMBLE else 1, window)
        block["readings"][name] = entry
    return block


def _ensemble_status(bound: dict, window: dict) -> str:
    if bound["B_c"] == -math.inf:
        return "below"
    if bound["B_c"] == math.inf:
        return "above"
    return "bracketed"


def _at_min(b: Bisection | None, rows: list, realisations: int, window: dict) -> dict:
    """The measurement at the window's lowest field, per point of the block (τ = 0: the ideal film)."""
    ideal = _batch_summary(window["ideal_at_min"], 1, 1)
    out: dict = {}
    for p in rows:
        if p is None:
            one = {k: v[0] for k, v in ideal.items()}
            one["survival_lo"] = one["survival_hi"] = one["survival"]
        else:
            sub = replace(b.at_min, **{f: getattr(b.at_min, f)[p * realisations:(p + 1) * realisations]
                                       for f in _ROW_FIELDS if getattr(b.at_min, f) is not None})
            one = {k: v[0] for k, v in _batch_summary(sub, 1, realisations).items()}
        for k, v in one.items():
            out.setdefault(k, []).append(v)
    return out


_ROW_FIELDS = tuple(f.name for f in dataclass_fields(SkyrmionBatch))


def run_thresholds(cfg: ThresholdConfig, log=print) -> dict:
    """Every D scale's map, with the settings the report states."""
    t0 = time.perf_counter()
    maps = []
    for scale in cfg.dmi_scale:
        material = replace(cfg.material, D=cfg.material.D * scale)
        log(f"{material.name}: D = {material.D * 1e3:.3g} mJ/m² (x{scale:g}), D_c = "
            f"{material.critical_dmi * 1e3:.3g} mJ/m²")
        m = threshold_map(cfg, material, log)
        m["dmi_scale"] = scale
        maps.append(m)
    return {"maps": maps, "seconds": time.perf_counter() - t0, "config": config_summary(cfg)}


def config_summary(cfg: ThresholdConfig) -> dict:
    mat = cfg.material
    return {"material": mat.name, "a_nm": mat.a / NM, "grid_cells": cfg.grid_cells, "box_nm": cfg.box_nm,
            "A_J_per_m": mat.A, "D_J_per_m2": mat.D, "K_eff_J_per_m3": mat.K_U, "Ms_A_per_m": mat.Ms,
            "critical_dmi_J_per_m2": mat.critical_dmi, "delta_nm": math.sqrt(mat.A / mat.K_U) / NM,
            "sigma_nm": list(cfg.sigma_nm), "tau_nm": list(cfg.tau_nm), "readings": list(cfg.readings),
            "realisations": cfg.realisations, "seed": cfg.seed, "bisection_steps": cfg.bisection_steps,
            "dmi_scale": list(cfg.dmi_scale), "radius_nm": cfg.radius_nm, "torque_tol": cfg.torque_tol,
            "max_iter": cfg.max_iter, "max_iter_by_reading": dict(cfg.max_iter_by_reading),
            "torque_tol_by_reading": dict(cfg.torque_tol_by_reading),
            "min_box_over_T": cfg.min_box_over_T, "T_max_nm": cfg.box_nm / cfg.min_box_over_T,
            "isolated_fraction": cfg.isolated_fraction, "min_cluster_cells": cfg.pinning.min_cluster_cells,
            "pin_cells": cfg.pinning.pin_cells, "dtype": cfg.dtype,
            "answer_fields_T": cfg.answer_fields_T if cfg.answer_fields_T == AUTO else list(cfg.answer_fields_T)}
