"""The film validation report: ``templates/validation_2d.md`` filled from the JSON of numbers, and the
files written next to it (figures and ``validation-2d.json`` in ``<report stem>/``)."""

from __future__ import annotations

import math
from pathlib import Path

from spsll.studies.common import physics_link, write_json
from spsll.studies.rendering import fill, markdown_table, template_sections
from spsll.studies.validation.compute import DISP_TOL_THZ, WIDTH_TOL_NM
from spsll.studies.validation.film_compute import F_EFF_MIN_THZ
from spsll.studies.validation.film_conclusion import _box_check, conclusion
from spsll.studies.validation.film_figures import write_film_figures

JSON_NAME = "validation-2d.json"
TEMPLATE = "validation_2d.md"
K_SAMPLES = (1.0, 2.0, 4.0, 6.0, 8.0)  # rad/nm where the F_eff table samples the curves (|k_x|, both signs)


def raw_numbers(result: dict, command: str) -> dict:
    """What the JSON holds: the result without its tensors (keys starting with ``_``), and the command."""
    def strip(v):
        return {k: strip(x) for k, x in v.items() if not k.startswith("_")} if isinstance(v, dict) else v

    return {**strip(result), "command": command}


def _num(v) -> float:
    return math.nan if v is None else v


def _fmt(v, spec=".2f") -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def _at_k(curve: list, k: list, k0: float) -> float:
    """Mean of a curve at the two grid points nearest ±k0 (NaN where undefined)."""
    vals = []
    for sign in (1, -1):
        j = min(range(len(k)), key=lambda i: abs(k[i] - sign * k0))
        vals.append(_num(curve[j]))
    ok = [v for v in vals if not math.isnan(v)]
    return sum(ok) / len(ok) if ok else math.nan


def _dispersion_table(t: dict, d: dict) -> str:
    rows = d["reading_rows"]
    heads = "".join(f" spsll, M = {m} |" for m in rows) + "".join(
        f" convolution, M = {m} |" for m in d["convolution_rows"])
    align = "---:|" * (len(rows) + len(d["convolution_rows"]))
    head = fill(t["dispersion_table_head"], {"spsll_heads": heads, "spsll_align": align, "n_rows": d["n_rows"]})
    lines = [head]
    ens = str(d["n_rows"])
    for j in range(len(d["phi"])):
        cells = [_fmt(d["sigma_grid_nm"][j], ".3g"), _fmt(d["tau_grid_nm"][j], ".3g"), _fmt(d["phi"][j], ".3f"),
                 _fmt(d["T_nm"][j]), _fmt(d["box_over_T"][j], ".0f")]
        for name in ("spsll", "spsll_convolution"):
            for r in d[name].values():
                cells.append(f"{_fmt(r['mae_thz'][j])} / {_fmt(r['mae_inner_thz'][j])}")
        cells += [f"{_fmt(d['ideal']['mae_thz'][j])} / {_fmt(d['ideal']['mae_inner_thz'][j])}",
                  f"{_fmt(d['ensemble_noise_thz'][j])} / {_fmt(d['ensemble_noise_inner_thz'][j])}",
                  _fmt(d["k_cut_rad_per_nm"][j], ".1f")]
        x_sp = d["spsll"][ens]["X_thz"][j] if ens in d["spsll"] else math.nan
        cells.append(f"{_fmt(d['X_ensemble_thz'][j])} / {_fmt(x_sp)} / {_fmt(d['X_ideal_thz'])}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _dispersion_summary(d: dict) -> str:
    v = d["verdicts"]
    n = len(d["phi"])
    parts = [f"`spsll` at M = {m}: agrees at {x['inner']['n_agree']} of {n} points on the inner half and "
             f"{x['all']['n_agree']} over all k" for m, x in v["spsll"].items()]
    parts += [f"`spsll_convolution` at M = {m}: {x['inner']['n_agree']} / {x['all']['n_agree']}"
              for m, x in v["spsll_convolution"].items()]
    parts.append(f"the ideal curve: {v['ideal']['inner']['n_agree']} / {v['ideal']['all']['n_agree']}")
    return "Agreement (error ≤ max(0.1 THz, 3 × noise)): " + "; ".join(parts) + "."


def _scan_rows(d: dict) -> list[dict]:
    sc, v = d["scan"], d["verdicts"]
    out = []
    for j in range(len(d["phi"])):
        agree = v["best_box"]["inner"]["agree"][j]
        out.append({"sigma_grid_nm": d["sigma_grid_nm"][j], "tau_grid_nm": d["tau_grid_nm"][j],
                    "best_rows": "∞" if sc["best_rows"][j] == "inf" else sc["best_rows"][j],
                    "best_mae_inner_thz": sc["best_mae_inner_thz"][j], "best_mae_thz": sc["best_mae_thz"][j],
                    "threshold_inner_thz": v["threshold_inner_thz"][j], "best_agree": "yes" if agree else "no",
                    "mae_inf_inner": sc["mae_inner_thz"][j][-1], "mae_inf": sc["mae_thz"][j][-1]})
    return out


def _f_eff_rows(d: dict) -> list[dict]:
    k = d["k_rad_per_nm"]
    out = []
    for j in range(len(d["phi"])):
        filt = d["filter_ensemble_box"][j]
        row = {key: _num(d[key][j]) for key in ("sigma_grid_nm", "tau_grid_nm", "phi", "F_eff_branch_mean",
                                                "F_eff_noise_branch", "F_eff_rms_dev_branch", "F_eff_max_dev_branch",
                                                "F_eff_rms_dev_inner")}
        row["F0"] = max(filt)
        row["ema"] = max(0.0, 2 - 1 / row["phi"])  # 2D Bruggeman, k → 0: (2φ−1)/φ, 0 below φ = ½
        row["f_eff_at"] = " / ".join(_fmt(_at_k(d["F_eff"][j], k, k0)) for k0 in K_SAMPLES)
        row["f_m_at"] = " / ".join(_fmt(_at_k(filt, k, k0)) for k0 in K_SAMPLES)
        out.append(row)
    return out


def _walls_section(t: dict, raw: dict, common: dict) -> str:
    w = raw["walls"]
    if not w:
        return fill(t["walls_missing"], {"reason": raw.get("walls_missing") or "no wall result"})
    rows = w["reading_rows"]
    heads = "".join(f" spsll, M = {m} (err all / unpinned) |" for m in rows)
    lines = [fill(t["wall_table_head"], {"spsll_heads": heads, "spsll_align": "---:|" * len(rows)})]
    for j in range(len(w["phi"])):
        cells = [_fmt(w["sigma_grid_nm"][j], ".3g"), _fmt(w["tau_grid_nm"][j], ".3g"), _fmt(w["phi"][j], ".3f"),
                 _fmt(w["T_nm"][j]), f"{_fmt(w['width_ensemble_nm'][j])} ± {_fmt(w['width_err_ensemble_nm'][j])}",
                 _fmt(w["width_tanh_ensemble_nm"][j]),
                 f"{_fmt(w['row_width_mean_ensemble_nm'][j])} ± {_fmt(w['row_width_std_ensemble_nm'][j])}",
                 _fmt(w.get("crossing_spread_nm", [None] * len(w["phi"]))[j]), _fmt(w["pinned_fraction"][j]),
                 f"{_fmt(w['width_unpinned_ensemble_nm'][j], '.3f')} ± {_fmt(w['width_unpinned_err_nm'][j], '.3f')}",
                 _fmt(w["converged_fraction"][j])]
        for m in rows:
            r = w["spsll"][str(m)]
            cells.append(f"{_fmt(r['width_nm'][j])} ({_fmt(r['err_nm'][j])} / {_fmt(r['err_unpinned_nm'][j])})")
        lines.append("| " + " | ".join(cells) + " |")
    v = w["verdicts"]["spsll"]
    summary = "`spsll` within max(0.1 nm, 3 × the ensemble's standard error): " + "; ".join(
        f"M = {m}: {x['all']['n_agree']} of {len(w['phi'])} (row-averaged width), {x['unpinned']['n_agree']} "
        f"(unpinned rows)" for m, x in v.items()) + "."
    return fill(t["walls_section"], {**common, "w": w, "2n": 2 * w["n_cells"], "wall_table": "\n".join(lines),
                                     "rows_list": ", ".join(map(str, rows)), "wall_summary": summary})


def _reach(c: dict, t_max: float, key: str = "dispersion") -> str:
    """Which part of a dataset's (σ, τ) range this box reaches (T ≤ t_max)."""
    rng = c.get("dataset_ranges", {}).get(key)
    if not rng:
        return ""
    (s_lo, s_hi), (_, t_hi) = rng["sigma_nm"], rng["tau_nm"]

    def tau_max(s):
        return math.inf if s <= t_max else s * t_max / (s - t_max)

    need = s_hi * t_hi / (s_hi + t_hi)
    what = "the dispersion dataset's range" if key == "dispersion" else "the wall dataset's range"
    return (f"In {what} (σ {s_lo:g}–{s_hi:g} nm, τ 0–{t_hi:g} nm) it reaches τ ≤ "
            f"{min(tau_max(s_lo), t_hi):.1f} nm at σ = {s_lo:g} nm and τ ≤ {min(tau_max(s_hi), t_hi):.1f} nm at "
            f"σ = {s_hi:g} nm; the rest (up to T = {need:.1f} nm at ({s_hi:g}, {t_hi:g}) nm) needs a box of "
            f"{c['min_box_over_T'] * need:.0f} nm ({math.ceil(c['min_box_over_T'] * need / c['a_nm'])} cells) per "
            f"side, "
            f"whose ensembles cost ∝ its area and do not fit this run's time on this machine.")


def _point_list(section: dict) -> str:
    return ", ".join(f"({s:g}, {x:g})" for s, x in zip(section["sigma_grid_nm"], section["tau_grid_nm"], strict=True))


def _wall_reach(c: dict, w: dict | None) -> str:
    return " " + _reach(c, min(w["box_nm"]) / c["min_box_over_T"], "walls") if w else ""


def render_report(raw: dict, *, fig_rel: str, physics: str = "physics.md") -> str:
    """The report's Markdown from the numbers of the JSON (figures in ``fig_rel``)."""
    t = template_sections(TEMPLATE)
    d, w, c = raw["dispersion"], raw["walls"], raw["config"]
    rows = d["reading_rows"]
    t_max = min(d["box_nm"]) / c["min_box_over_T"]
    conv = d["convolution_rows"]
    spikes = [x for r in d["spsll"].values() for x in r["convolution_spike"] if x > 1]
    spike = (f"{min(spikes):.0f}–{max(spikes):.0f} for these points at M = {min(rows)}–{max(rows)}" if spikes
             else "1 at τ = 0")
    conv_note = ("Its weight g has a spike g(0) = Σ_j √P_j at the origin that grows with the box (max g = "
                 f"{spike}); the time step shrinks by that factor and, g varying along y, the whole film must be "
                 "integrated (no line reduction). " + (f"Simulated at M = {', '.join(map(str, conv))} only."
                 if conv else "Not simulated here: one point would cost that factor times a film ensemble "
                 "realisation."))
    read_s = "; ".join(f"spsll M = {m} {d['spsll'][str(m)]['seconds']:.0f} s" for m in rows) + "".join(
        f"; convolution M = {m} {d['spsll_convolution'][str(m)]['seconds']:.0f} s" for m in conv)
    if d.get("box_check"):
        read_s += f"; the ensemble again at M = {d['box_check']['rows']} {d['box_check']['seconds']:.0f} s"
    wall_rt = (f" Walls: ensemble {w['seconds_ensemble']:.0f} s; spsll " + ", ".join(
        f"{w['spsll'][str(m)]['seconds']:.0f} s" for m in w["reading_rows"]) + ".") if w else ""
    walls_box = (f"Walls: 2N × M = {2 * w['n_cells']} × {w['n_rows']} cells = {w['box_nm'][0]:.1f} nm × "
                 f"{w['box_nm'][1]:.1f} nm." if w else "")
    common = {"c": c, "physics": physics, "fig": fig_rel, "rows_list": ", ".join(map(str, rows))}
    shrink = math.sqrt(max(rows) / min(rows))
    fields = {
        **common, "d": d, "command": raw["command"], "seconds": raw["seconds"], "minutes": raw["seconds"] / 60,
        "half": d["realisations"] // 2, "seed_2": c["seed"] + 1, "disp_tol": DISP_TOL_THZ, "t_max": t_max,
        "reach": _reach(c, t_max) + _wall_reach(c, w), "walls_box": walls_box, "wall_runtime": wall_rt,
        "reading_seconds": read_s,
        "points": _point_list(d) + (f"; walls {_point_list(w)}" if w else ""),
        "conv_note": conv_note, "dispersion_table": _dispersion_table(t, d),
        "dispersion_summary": _dispersion_summary(d),
        "box_check_text": (" **Box independence of the ensemble.**" + _box_check(d)) if d.get("box_check") else "",
        "scan_table": markdown_table(t["scan_table"], _scan_rows(d)),
        "f_eff_min": F_EFF_MIN_THZ,
        "f_eff_table": _f_eff_table(t, d),
        "walls_section": _walls_section(t, raw, common),
        "conclusion": conclusion(raw, DISP_TOL_THZ, WIDTH_TOL_NM),
        "shrink": shrink, "m_lo": min(rows), "m_hi": max(rows),
    }
    return fill(t["report"], fields) + "\n"


def _f_eff_table(t: dict, d: dict) -> str:
    header, align, row = t["f_eff_table"].split("\n")
    header = fill(header, {"n_rows": d["n_rows"], "k_labels": " / ".join(f"{k:g}" for k in K_SAMPLES)})
    return markdown_table("\n".join([header, align, row]), _f_eff_rows(d))


def write_report(result: dict, out: Path, *, command: str) -> Path:
    """The report at ``out`` (docs/validation-2d.md), its figures and JSON in ``<out stem>/``."""
    out = Path(out)
    fig_dir = out.parent / out.stem
    write_film_figures(result, fig_dir)
    raw = raw_numbers(result, command)
    write_json(fig_dir / JSON_NAME, raw)
    out.write_text(render_report(raw, fig_rel=fig_dir.name, physics=physics_link(out)))
    return out
