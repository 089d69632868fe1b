"""The plain answer of the threshold study: at a field B, how few defects an isolated skyrmion needs.

Along a B_c(τ) curve at fixed σ the skyrmion survives where B_c(τ) > B. The largest such τ is read
off where the curve first crosses B: linearly between the two grid points around the crossing when
both have a B_c inside the field window, else the crossing is only known to lie between them.
φ = σ/(σ+τ) and T = στ/(σ+τ) follow; a skyrmion needs φ ≥ φ_min (equivalently T ≤ T_max, τ ≤ τ_max).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from spsll.studies.common import DOCS, ROOT, read_json
from spsll.units import correlation_length, material_fraction

JSON_DIR = DOCS / "thresholds"


def slug(material_name: str) -> str:
    """File-name form of a material's name: ``Pt-Co`` → ``pt-co``."""
    return re.sub(r"[^a-z0-9]+", "-", material_name.lower()).strip("-")


def tau_threshold(tau_nm: list, b_c: list, field_T: float) -> dict:
    """The largest τ (nm) at which B_c(τ) > ``field_T`` before the curve first drops to it:
    ``tau_nm`` the estimate (NaN where it is only bracketed), ``tau_lo_nm``/``tau_hi_nm`` the grid
    points around the crossing; ``status`` interpolated / bracketed / beyond grid (B_c > B on the whole
    grid) / none (not even at the grid's first τ)."""
    above = [b > field_T for b in b_c]
    if not above[0]:
        return {"tau_nm": math.nan, "tau_lo_nm": math.nan, "tau_hi_nm": tau_nm[0], "status": "none"}
    k = next((i for i, a in enumerate(above) if not a), None)
    if k is None:
        return {"tau_nm": math.nan, "tau_lo_nm": tau_nm[-1], "tau_hi_nm": math.inf, "status": "beyond grid"}
    t0, t1, b0, b1 = tau_nm[k - 1], tau_nm[k], b_c[k - 1], b_c[k]
    if math.isfinite(b0) and math.isfinite(b1):
        return {"tau_nm": t0 + (t1 - t0) * (b0 - field_T) / (b0 - b1), "tau_lo_nm": t0, "tau_hi_nm": t1,
                "status": "interpolated"}
    return {"tau_nm": math.nan, "tau_lo_nm": t0, "tau_hi_nm": t1, "status": "bracketed"}


def _requirement(sigma_nm: float, th: dict) -> dict:
    """φ_min and T_max from a τ threshold (from the estimate, or from the bracket's ends)."""
    out = dict(th)
    for key, tau in (("", th["tau_nm"]), ("_lo", th["tau_lo_nm"]), ("_hi", th["tau_hi_nm"])):
        ok = tau is not None and not math.isnan(tau)
        out[f"phi_min{key}"] = (0.0 if tau == math.inf else material_fraction(sigma_nm, tau)) if ok else math.nan
        out[f"T_max{key}_nm"] = (sigma_nm if tau == math.inf else correlation_length(sigma_nm, tau)) if ok else math.nan
    # the requirement φ ≥ φ_min: the smaller τ end of a bracket is the safe one
    if th["status"] == "beyond grid":
        out["phi_min"], out["T_max_nm"] = out["phi_min_lo"], out["T_max_lo_nm"]
    return out


def answer_from_map(m: dict, field_T: float, sigma_nm: float | None = None) -> dict:
    """Per reading and for the ensemble: τ_max, φ_min, T_max at ``field_T`` along σ = ``sigma_nm`` (the
    map's first σ by default), from one map of the study's JSON."""
    blocks = m["sigma"]
    block = blocks[0] if sigma_nm is None else next((b for b in blocks if b["sigma_nm"] == sigma_nm), None)
    if block is None:
        raise ValueError(f"sigma_nm = {sigma_nm} is not on the study's grid {[b['sigma_nm'] for b in blocks]}")
    if not m["field_min_T"] <= field_T <= m["field_max_T"]:
        raise ValueError(f"field_T = {field_T:g} T is outside the study's window [{m['field_min_T']:g}, "
                         f"{m['field_max_T']:g}] T")
    out = {}
    for name, entry in block["readings"].items():
        out[name] = _requirement(block["sigma_nm"], tau_threshold(block["tau_nm"], entry["B_c_T"], field_T))
    return {"sigma_nm": block["sigma_nm"], "field_T": field_T, "answers": out}


def sentence(material: str, ans: dict, name: str) -> str:
    """"for <material> at B, skyrmions need φ ≥ … (T ≤ …)" for one reading."""
    a = ans["answers"][name]
    head = f"for {material} at B = {ans['field_T']:.3g} T along σ = {ans['sigma_nm']:g} nm"
    if a["status"] == "none":
        return f"{head} no isolated skyrmion survives even at τ = {a['tau_hi_nm']:g} nm"
    if a["status"] == "beyond grid":
        return (f"{head} skyrmions survive over the whole grid: φ ≥ {a['phi_min']:.3f} (T ≤ {a['T_max_nm']:.3g} nm) "
                "is enough, and the true limit lies beyond it")
    if a["status"] == "bracketed":
        return (f"{head} skyrmions need φ ≥ {a['phi_min_hi']:.3f}–{a['phi_min_lo']:.3f} (T ≤ "
                f"{a['T_max_lo_nm']:.3g}–{a['T_max_hi_nm']:.3g} nm; τ ≤ {a['tau_lo_nm']:g}–{a['tau_hi_nm']:g} nm)")
    return (f"{head} skyrmions need φ ≥ {a['phi_min']:.3f} (T ≤ {a['T_max_nm']:.3g} nm, τ ≤ {a['tau_nm']:.3g} nm; "
            f"between the grid points τ = {a['tau_lo_nm']:g} and {a['tau_hi_nm']:g} nm)")


def _material_name(material) -> str:
    if hasattr(material, "name"):
        return material.name
    path = ROOT / "conf" / "material" / f"{material}.yaml"
    if path.exists():  # a config name (ptco) rather than the material's own name (Pt-Co)
        from spsll.data.provenance import load_material

        return load_material(path).name
    return str(material)


def design_answer(material, field_T: float, *, sigma_nm: float | None = None, dmi_scale: float = 1.0,
                  results: dict | None = None, json_dir: str | Path | None = None) -> dict:
    """What the threshold study says for ``material`` (a :class:`Material`, its name or its config name,
    e.g. ``"ptco"``) at ``field_T`` (T along +ẑ): per statistical reading and for the explicit
    ensemble, τ_max, φ_min, T_max and a sentence. ``results``: the study's JSON for that material
    (default: ``docs/thresholds/<material>.json``, written by ``python -m spsll.studies.thresholds``)."""
    name = _material_name(material)
    if results is None:
        path = Path(json_dir or JSON_DIR) / f"{slug(name)}.json"
        if not path.exists():
            raise ValueError(f"no threshold study for {name!r} at {path}: run python -m spsll.studies.thresholds "
                             f"material=<its config name>")
        results = read_json(path)
    maps = [m for m in results["maps"] if m["dmi_scale"] == dmi_scale]
    if not maps:
        raise ValueError(f"dmi_scale = {dmi_scale} was not computed (have {[m['dmi_scale'] for m in results['maps']]})")
    ans = answer_from_map(maps[0], float(field_T), sigma_nm)
    ans["material"] = name
    ans["sentences"] = {k: sentence(name, ans, k) for k in ans["answers"]}
    return ans
