"""The threshold report: one JSON of numbers per material in ``<report stem>/`` and
``templates/thresholds.md`` filled from every material's JSON found there (running the study for a
second material adds its section; re-running one replaces it)."""

from __future__ import annotations

import math
import platform
from pathlib import Path

import torch

from spsll.studies.common import physics_link, read_json, write_json
from spsll.studies.rendering import fill, markdown_table, template_sections
from spsll.studies.thresholds.answer import answer_from_map, sentence, slug
from spsll.studies.thresholds.compute import ENSEMBLE
from spsll.studies.thresholds.config import AUTO
from spsll.studies.thresholds.figures import figure_name, write_figures

TEMPLATE = "thresholds.md"
NM = 1e-9
KT_300K = 1.380649e-23 * 300  # J


def _f(v, spec: str = ".3f") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if v == math.inf:
        return "> window"
    if v == -math.inf:
        return "< window"
    return format(v, spec)


def _bc(v, half) -> str:
    return _f(v) if not math.isfinite(v) else f"{v:.3f} ± {half:.3f}"


def answer_fields(m: dict, cfg: dict) -> list[float]:
    """The fields of the plain answer: the configured ones, or the window's lowest field and one and two
    thirds of the way to the ideal film's B_c (rounded to 10 mT)."""
    if cfg["answer_fields_T"] != AUTO:
        return [b for b in cfg["answer_fields_T"] if m["field_min_T"] <= b <= m["field_max_T"]]
    lo, top = m["field_min_T"], m["ideal"]["B_c_T"]
    top = top if math.isfinite(top) else m["field_max_T"]
    return sorted({round(lo + f * (top - lo), 2) for f in (0.0, 1 / 3, 2 / 3)})


def _bc_table(t: dict, block: dict) -> str:
    names = list(block["readings"])
    readings = [n for n in names if n != ENSEMBLE]
    head = ("| τ (nm) | φ | T (nm) | " + " | ".join(f"`{n}` B_c (T)" for n in readings)
            + " | ensemble B_c (T) [95 %] | " + " | ".join(f"`{n}` − ensemble (T)" for n in readings) + " |")
    align = "|" + "---:|" * (3 + 2 * len(readings) + 1)
    lines = [head, align]
    ens = block["readings"][ENSEMBLE]
    for j, tau in enumerate(block["tau_nm"]):
        cells = [f"{tau:g}", f"{block['phi'][j]:.3f}", f"{block['T_nm'][j]:.3g}"]
        cells += [_bc(block["readings"][n]["B_c_T"][j], block["readings"][n]["half_bracket_T"][j]) for n in readings]
        cells.append(f"{_f(ens['B_c_T'][j])} [{_f(ens['ci_lo_T'][j])}, {_f(ens['ci_hi_T'][j])}]")
        for n in readings:
            a, b = block["readings"][n]["B_c_T"][j], ens["B_c_T"][j]
            cells.append(_f(a - b, "+.3f") if math.isfinite(a) and math.isfinite(b) else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _range(a: float, b: float) -> str:
    return "–" if math.isnan(a) else f"{a:.2f}–{b:.2f}"


def _at_min_rows(block: dict) -> list[dict]:
    ens = block["readings"][ENSEMBLE]["at_min"]
    readings = [n for n in block["readings"] if n != ENSEMBLE]
    rows = []
    for j, tau in enumerate(block["tau_nm"]):
        r = {"tau": tau, "phi": block["phi"][j], "p": ens["survival"][j], "p_lo": ens["survival_lo"][j],
             "p_hi": ens["survival_hi"][j], "n": ens["survivors"][j],
             "radius": ens["radius_mean"][j] / NM, "radius_std": ens["radius_std"][j] / NM,
             "range": _range(ens["radius_q10"][j] / NM, ens["radius_q90"][j] / NM),
             "pinned": ens["pinned_fraction"][j], "shift": ens["core_shift_mean"][j] / NM,
             "energy": ens["energy_mean"][j] * 1e18 if "energy_mean" in ens else math.nan,
             "energy_kT": ens["energy_mean"][j] / KT_300K if "energy_mean" in ens else math.nan,
             "undecided": ens["undecided"][j]}
        r["readings"] = "; ".join(
            f"{n}: {'yes' if block['readings'][n]['at_min']['survival'][j] else 'no'}, "
            f"{_f(block['readings'][n]['at_min']['radius_mean'][j] / NM, '.2f')} nm" for n in readings)
        rows.append(r)
    return rows


def _differences(block: dict, fields: list[float]) -> str:
    """Where and by how much each reading's threshold differs from the explicit one."""
    ens = block["readings"][ENSEMBLE]["B_c_T"]
    parts = []
    for n, entry in block["readings"].items():
        if n == ENSEMBLE:
            continue
        diffs = [(a - b, t) for a, b, t in zip(entry["B_c_T"], ens, block["tau_nm"], strict=True)
                 if t > 0 and math.isfinite(a) and math.isfinite(b)]
        beyond = [t for a, b, t in zip(entry["B_c_T"], ens, block["tau_nm"], strict=True)
                  if t > 0 and math.isfinite(a) and b == -math.inf]
        text = f"`{n}`"
        if diffs:
            big = max(diffs, key=lambda d: abs(d[0]))
            text += (f": B_c(reading) − B_c(ensemble) = {sum(d for d, _ in diffs) / len(diffs):+.3f} T on average "
                     f"over {len(diffs)} τ > 0 points (largest {big[0]:+.3f} T at τ = {big[1]:g} nm)")
        if beyond:
            text += (f"{';' if diffs else ':'} at τ = {', '.join(f'{t:g}' for t in beyond)} nm the reading still holds "
                     "a skyrmion up to its B_c while fewer than half the ensemble's films hold one at any field of the "
                     "window")
        if not diffs and not beyond:
            text += ": no point where both thresholds lie inside the window"
        parts.append(text)
    return "* " + "\n* ".join(parts)


def _answers(material: str, m: dict, block: dict, fields: list[float]) -> tuple[str, list[dict]]:
    lines, records = [], []
    for b in fields:
        ans = answer_from_map(m, b, block["sigma_nm"])
        for name in ans["answers"]:
            who = "explicit ensembles" if name == ENSEMBLE else f"`{name}`"
            lines.append(f"* {who}: {sentence(material, ans, name)}.")
        ens, rec = ans["answers"][ENSEMBLE], {"field_T": b}
        for name, a in ans["answers"].items():
            rec[name] = {k: a[k] for k in ("status", "tau_nm", "tau_lo_nm", "tau_hi_nm", "phi_min", "T_max_nm")}
            if name != ENSEMBLE and not math.isnan(a["phi_min"]) and not math.isnan(ens["phi_min"]):
                rec[name]["phi_min_minus_ensemble"] = a["phi_min"] - ens["phi_min"]
        records.append(rec)
    return "\n".join(lines), records


def _timing(m: dict) -> str:
    return "; ".join(f"{n}: {t['relaxations']} relaxations, {t['seconds']:.0f} s ({t['seconds_per_relaxation']:.2f} s "
                     f"per relaxed skyrmion, {t['ms_per_iteration']:.2f} ms per iteration)"
                     for n, t in m["timing"].items())


def material_section(raw: dict, fig_rel: str) -> str:
    t = template_sections(TEMPLATE)
    c = raw["config"]
    blocks = []
    for m in raw["maps"]:
        fields = answer_fields(m, c)
        for block in m["sigma"]:
            answers, _ = _answers(c["material"], m, block, fields)
            blocks.append(fill(t["sigma_block"], {
                "sigma": block["sigma_nm"], "D_mJ": m["D_J_per_m2"] * 1e3, "Dc_mJ": m["critical_dmi_J_per_m2"] * 1e3,
                "b_min": m["field_min_T"], "b_max": m["field_max_T"], "m": m,
                "ideal_radius": m["ideal"]["radius_at_min_nm"], "bc_table": _bc_table(t, block),
                "at_min_table": markdown_table(t["at_min_table"], _at_min_rows(block)),
                "figure": f"{fig_rel}/{slug(c['material'])}_{figure_name(m, block)}",
                "answers": answers, "differences": _differences(block, fields), "timing": _timing(m)}))
    zero = ("holds a metastable isolated skyrmion at B = 0 (|D| < D_c)" if abs(c["D_J_per_m2"])
            < c["critical_dmi_J_per_m2"] else "holds none at B = 0: with |D| ≥ D_c the skyrmion grows to the box, "
            "so the window starts at the first field of the ladder 0, 0.02, 0.05, 0.1, 0.2, 0.5 T where the ideal "
            "film's skyrmion is isolated")
    return fill(t["material"], {"c": c, "command": raw["command"], "seconds": raw["seconds"],
                                "minutes": raw["seconds"] / 60, "zero": zero, "blocks": "\n\n".join(blocks),
                                "machine": raw.get("machine", "–"), "threads": raw.get("threads", "–"),
                                "D_mJ": abs(c["D_J_per_m2"]) * 1e3, "Dc_mJ": c["critical_dmi_J_per_m2"] * 1e3,
                                "ratio": abs(c["D_J_per_m2"]) / c["critical_dmi_J_per_m2"],
                                "by_reading": _by_reading(c)})


def _by_reading(c: dict) -> str:
    parts = [f"`{k}` at most {v} iterations" for k, v in c["max_iter_by_reading"].items()]
    parts += [f"`{k}` to {v:g} Ms" for k, v in c.get("torque_tol_by_reading", {}).items()]
    return "; ".join(parts) or "the same for every reading"


def raw_numbers(result: dict, command: str) -> dict:
    """What a material's JSON holds: the result, the command and the machine; every answer at the
    report's fields, for readers who do not render the report."""
    raw = {**result, "command": command, "machine": platform.machine(), "torch": torch.__version__,
           "threads": torch.get_num_threads()}
    raw["answers"] = []
    for m in raw["maps"]:
        for block in m["sigma"]:
            _, rec = _answers(raw["config"]["material"], m, block, answer_fields(m, raw["config"]))
            raw["answers"].append({"dmi_scale": m["dmi_scale"], "sigma_nm": block["sigma_nm"], "fields": rec})
    return raw


def render_report(raws: list[dict], *, fig_rel: str, physics: str = "physics.md") -> str:
    t = template_sections(TEMPLATE)
    sections = "\n\n".join(material_section(r, fig_rel) for r in sorted(raws, key=lambda r: r["config"]["material"]))
    return fill(t["report"], {"sections": sections, "physics": physics,
                              "materials": ", ".join(r["config"]["material"] for r in raws)}) + "\n"


def write_report(result: dict, out: Path, *, command: str) -> Path:
    """This material's JSON and figures in ``<out stem>/``, and the report at ``out`` from every
    material's JSON there."""
    out = Path(out)
    fig_dir = out.parent / out.stem
    raw = raw_numbers(result, command)
    name = slug(raw["config"]["material"])
    write_figures(raw, fig_dir, name)
    write_json(fig_dir / f"{name}.json", raw)
    raws = [read_json(p) for p in sorted(fig_dir.glob("*.json"))]
    out.write_text(render_report(raws, fig_rel=fig_dir.name, physics=physics_link(out)))
    return out
