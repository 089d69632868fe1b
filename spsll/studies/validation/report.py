"""The validation report: ``templates/validation.md`` filled from the JSON of numbers, and the files
written next to it (figures and ``validation.json`` in ``<report stem>/``)."""

from __future__ import annotations

import math
from pathlib import Path

from spsll.studies.common import physics_link, write_json
from spsll.studies.rendering import fill, markdown_table, template_sections
from spsll.studies.validation.compute import DISP_TOL_THZ, WIDTH_TOL_NM
from spsll.studies.validation.figures import write_figures

JSON_NAME = "validation.json"
_CURVES = ("_", "mz_", "freq_", "k_rad", "x_nm", "spectrum_f")  # curves and profiles: figures only


def raw_numbers(result: dict, command: str) -> dict:
    """What ``validation.json`` holds: the result without its curves and profiles, and the command."""
    raw = {k: {kk: vv for kk, vv in v.items() if not kk.startswith(_CURVES)} if isinstance(v, dict) else v
           for k, v in result.items()}
    return {**raw, "command": command}


def _mean(values) -> float:
    v = [x for x in values if not math.isnan(x)]
    return sum(v) / len(v) if v else math.nan


def _points(section: dict, idx) -> str:
    return ", ".join(f"({section['sigma_grid_nm'][j]:.3g}, {section['tau_grid_nm'][j]:.3g})" for j in idx) or "none"


def _which(s) -> tuple[str, float, float]:
    """The closer reading of a summary, its mean |error| and the other's."""
    if s["mean_abs_spsll"] <= s["mean_abs_convolution"]:
        return "spsll", s["mean_abs_spsll"], s["mean_abs_convolution"]
    return "spsll_convolution", s["mean_abs_convolution"], s["mean_abs_spsll"]


def _rows(section: dict, n: int) -> list[dict]:
    """Per (σ, τ) point: the section's per-point values there, and the row's markers."""
    rows = []
    for j in range(n):
        row = {k: v[j] for k, v in section.items() if isinstance(v, list) and len(v) == n}
        row["star"] = "*" if row["tau_grid_nm"] > row["sigma_grid_nm"] else ""
        for name, key in (("spsll", "converged_spsll"), ("convolution", "converged_spsll_convolution")):
            row[f"dagger_{name}"] = "" if row.get(key, True) else "†"
        rows.append(row)
    return rows


def _fields(raw: dict) -> dict:
    d, w, c = raw["dispersion"], raw["walls"], raw["config"]
    named = {"ds": d["summary"], "di": d["summary_inner"], "ws": w["summary"], "wu": w["summary_unpinned"]}
    summaries = {key: {**s, "n_both": len(s["both_fail"])} for key, s in named.items()}
    return {"d": d, "w": w, "c": c, **summaries, "n": len(d["phi"]), "command": raw["command"],
            "seconds": raw["seconds"], "minutes": raw["seconds"] / 60, "half": c["realisations"] // 2,
            "seed_2": c["seed"] + 1, "disp_tol": DISP_TOL_THZ, "width_tol": WIDTH_TOL_NM,
            "mae_ideal": _mean(d["mae_ideal_thz"]), "mae_inner_ideal": _mean(d["mae_inner_ideal_thz"]),
            "unconverged_spsll": sum(not x for x in w["converged_spsll"]),
            "unconverged_convolution": sum(not x for x in w["converged_spsll_convolution"])}


def _dispersion_conclusion(t: dict, f: dict) -> list[str]:
    d, ds, di = f["d"], f["ds"], f["di"]
    b, x, y = _which(ds)
    bi, xi, yi = _which(di)
    out = [fill(t["dispersions"], {**f, "b": b, "x": x, "y": y, "bi": bi, "xi": xi, "yi": yi})]
    if f["mae_inner_ideal"] < min(xi, yi):
        kc = [v for v in d["k_cut_rad_per_nm"] if not math.isnan(v)]
        k_cut = fill(t["k_cut"], {"lo": min(kc), "hi": max(kc)}) if kc else ""
        by_sigma = [_mean([v for v, sg in zip(d["k_cut_rad_per_nm"], d["sigma_grid_nm"], strict=True) if sg == s])
                    for s in d["sigma_nm"]]
        if len(by_sigma) > 1 and not any(math.isnan(v) for v in by_sigma) and by_sigma == sorted(by_sigma):
            k_cut += fill(t["k_cut_by_sigma"], {"values": ", ".join(f"{v:.1f}" for v in by_sigma)})
        out.append(fill(t["branch"], {**f, "k_cut": k_cut, "x_min": min(d["X_ensemble_thz"]),
                                      "x_max": max(d["X_ensemble_thz"])}))
    return out


def _wall_conclusion(t: dict, f: dict) -> list[str]:
    w, ws, wu = f["w"], f["ws"], f["wu"]
    b, x, y = _which(ws)
    bu, xu, yu = _which(wu)
    unpinned = "" if math.isnan(wu["mean_abs_spsll"]) else fill(t["walls_unpinned"], {"b": bu, "x": xu, "y": yu})
    out = [fill(t["walls"], {**f, "b": b, "x": x, "y": y, "unpinned": unpinned})]
    unp = [v for v in w["width_unpinned_ensemble_nm"] if not math.isnan(v)]
    if unp:
        kind = "kinds_ideal" if max(abs(v - w["width_ideal_nm"]) for v in unp) < 0.05 else "kinds_free"
        out.append(fill(t["kinds"], {**f, "p_min": min(w["pinned_fraction"]), "p_max": max(w["pinned_fraction"]),
                                     "u_min": min(unp), "u_max": max(unp), "others": t[kind],
                                     "ending": fill(t[f"{kind}_ending"], {"b": b})}))
    return out


def _both_fail(t: dict, f: dict) -> str:
    parts = []
    for label, summ, src in (("dispersions, all k", f["ds"], f["d"]), ("dispersions, inner half", f["di"], f["d"]),
                             ("walls, all", f["ws"], f["w"]), ("walls, unpinned", f["wu"], f["w"])):
        txt = fill(t["both_fail_part"], {"label": label, **summ})
        for key in ("agree", "inconclusive"):
            if summ[key]:
                txt += fill(t[key], {"points": _points(src, summ[key])})
        parts.append(txt)
    return fill(t["both_fail"], {"parts": "; ".join(parts)})


def _conclusion(t: dict, f: dict) -> str:
    verdicts = {_which(f[x])[0] for x in ("ds", "di", "ws", "wu") if not math.isnan(f[x]["mean_abs_spsll"])}
    head = fill(t["head_one"], {"best": verdicts.pop()}) if len(verdicts) == 1 else t["head_mixed"]
    bullets = _dispersion_conclusion(t, f) + _wall_conclusion(t, f) + [_both_fail(t, f)]
    return head + "\n\n" + "\n".join(bullets)


def render_report(raw: dict, *, fig_rel: str, physics: str = "physics.md") -> str:
    """The report's Markdown from the numbers of ``validation.json`` (figures in ``fig_rel``, the
    physics reference at ``physics``)."""
    t = template_sections("validation.md")
    f = _fields(raw)
    tables = {"dispersion_table": markdown_table(t["dispersion_table"], _rows(f["d"], f["n"])),
              "wall_table": markdown_table(t["wall_table"], _rows(f["w"], f["n"]))}
    return fill(t["report"], {**f, **tables, "conclusion": _conclusion(t, f), "fig": fig_rel,
                              "physics": physics}) + "\n"


def write_report(result: dict, out: Path, *, command: str) -> Path:
    """The report at ``out`` (docs/validation.md), its figures and ``validation.json`` in ``<out stem>/``."""
    out = Path(out)
    fig_dir = out.parent / out.stem
    write_figures(result, fig_dir)
    raw = raw_numbers(result, command)
    write_json(fig_dir / JSON_NAME, raw)
    out.write_text(render_report(raw, fig_rel=fig_dir.name, physics=physics_link(out)))
    return out
