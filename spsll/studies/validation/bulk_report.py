"""The bulk validation report: ``templates/validation_3d.md`` filled from the JSON of numbers, its
figures, and the Conclusion written from the numbers (so that a rerun cannot contradict it)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from spsll.studies.common import physics_link, write_json
from spsll.studies.rendering import fill, markdown_table, template_sections
from spsll.studies.validation.compute import DISP_TOL_THZ
from spsll.studies.validation.figures import _save
from spsll.studies.validation.film_compute import F_EFF_MIN_THZ
from spsll.studies.validation.film_conclusion import K_HIGH, K_LOW, _band, _mean, _pts
from spsll.studies.validation.film_figures import _nan, _panels, _title
from spsll.studies.validation.film_report import K_SAMPLES, _at_k, _fmt, _num, raw_numbers

JSON_NAME = "validation-3d.json"
TEMPLATE = "validation_3d.md"


def _ens_side(d: dict) -> str:
    """The simulated cross-section that is the ensemble's box (M = L), else the first one."""
    own = str(d["n_rows"])
    return own if d["n_rows"] == d["n_layers"] and own in d["spsll"] else next(iter(d["spsll"]))


def _ema(phi: float) -> float:
    """3D symmetric Bruggeman with a non-exchanging phase, k → 0: (3φ−1)/(2φ), 0 below φ = 1/3."""
    return max(0.0, (3 * phi - 1) / (2 * phi))


# -- tables -----------------------------------------------------------------------------------------
def _dispersion_table(t: dict, d: dict) -> str:
    sides = d["reading_sides"]
    heads = "".join(f" spsll, s = {s} |" for s in sides)
    lines = [fill(t["dispersion_table_head"], {"spsll_heads": heads, "spsll_align": "---:|" * len(sides),
                                               "n_rows": _ens_side(d)})]
    for j in range(len(d["phi"])):
        cells = [_fmt(d["sigma_grid_nm"][j], ".3g"), _fmt(d["tau_grid_nm"][j], ".3g"), _fmt(d["phi"][j], ".3f"),
                 _fmt(d["T_nm"][j], ".3f"), _fmt(d["box_over_T"][j], ".0f")]
        cells += [f"{_fmt(r['mae_thz'][j])} / {_fmt(r['mae_inner_thz'][j])}" for r in d["spsll"].values()]
        cells += [f"{_fmt(d['ideal']['mae_thz'][j])} / {_fmt(d['ideal']['mae_inner_thz'][j])}",
                  f"{_fmt(d['ensemble_noise_thz'][j])} / {_fmt(d['ensemble_noise_inner_thz'][j])}",
                  _fmt(d["k_cut_rad_per_nm"][j], ".1f"),
                  f"{_fmt(d['X_ensemble_thz'][j])} / {_fmt(d['spsll'][_ens_side(d)]['X_thz'][j])} / "
                  f"{_fmt(d['X_ideal_thz'])}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _dispersion_summary(d: dict) -> str:
    v, n = d["verdicts"], len(d["phi"])
    parts = [f"`spsll` at s = {s}: agrees at {x['inner']['n_agree']} of {n} points on the inner half and "
             f"{x['all']['n_agree']} over all k" for s, x in v["spsll"].items()]
    parts.append(f"the ideal curve: {v['ideal']['inner']['n_agree']} / {v['ideal']['all']['n_agree']}")
    return "Agreement (error ≤ max(0.1 THz, 3 × noise)): " + "; ".join(parts) + "."


def _scan_rows(d: dict) -> list[dict]:
    sc, v = d["scan"], d["verdicts"]
    return [{"sigma_grid_nm": d["sigma_grid_nm"][j], "tau_grid_nm": d["tau_grid_nm"][j],
             "best_sides": "∞" if sc["best_sides"][j] == "inf" else sc["best_sides"][j],
             "best_mae_inner_thz": sc["best_mae_inner_thz"][j], "best_mae_thz": sc["best_mae_thz"][j],
             "threshold_inner_thz": v["threshold_inner_thz"][j],
             "best_agree": "yes" if v["best_box"]["inner"]["agree"][j] else "no",
             "mae_inf_inner": sc["mae_inner_thz"][j][-1], "mae_inf": sc["mae_thz"][j][-1]}
            for j in range(len(d["phi"]))]


def _f_eff_table(t: dict, d: dict) -> str:
    header, align, row = t["f_eff_table"].split("\n")
    header = fill(header, {"n_rows": f"{d['n_rows']} × {d['n_layers']}",
                           "k_labels": " / ".join(f"{k:g}" for k in K_SAMPLES)})
    k, rows = d["k_rad_per_nm"], []
    for j in range(len(d["phi"])):
        filt = d["filter_ensemble_box"][j]
        r = {key: _num(d[key][j]) for key in ("sigma_grid_nm", "tau_grid_nm", "phi", "F_eff_branch_mean",
                                              "F_eff_noise_branch", "F_eff_rms_dev_branch", "F_eff_max_dev_branch",
                                              "F_eff_rms_dev_inner")}
        r.update(F0=max(filt), ema=_ema(r["phi"]),
                 f_eff_at=" / ".join(_fmt(_at_k(d["F_eff"][j], k, k0)) for k0 in K_SAMPLES),
                 f_m_at=" / ".join(_fmt(_at_k(filt, k, k0)) for k0 in K_SAMPLES))
        rows.append(r)
    return markdown_table("\n".join([header, align, row]), rows)


# -- the conclusion ---------------------------------------------------------------------------------
def _head(d: dict) -> str:
    v, n, side = d["verdicts"], len(d["phi"]), _ens_side(d)
    inner, whole = v["spsll"][side]["inner"]["n_agree"], v["spsll"][side]["all"]["n_agree"]
    box = f"{d['n_cells']} × {side} × {side}"
    agree = [j for j, a in enumerate(v["spsll"][side]["inner"]["agree"]) if a]
    ideal_in = v["ideal"]["inner"]["n_agree"]
    if inner == n and whole == n:
        answer = (f"**Yes: in bulk `spsll` reproduces the explicit 3D mosaic ensembles** at all {n} points, over the "
                  f"whole zone, in the ensemble's own box {box}.")
    elif inner == 0:
        answer = (f"**No: in bulk the statistical model does not reproduce the explicit 3D mosaic ensembles.** In the "
                  f"ensemble's own box {box}, `spsll` fails at all {n} points on the inner half of the zone and at "
                  f"{n - whole} of {n} over all k.")
    else:
        answer = (f"**Partly: in bulk `spsll` reproduces the explicit 3D mosaic ensembles only at some points.** In "
                  f"the ensemble's own box {box} it agrees on the inner half of the zone at {inner} of {n} points "
                  f"({_pts(d, agree)}) and over all k at {whole} of {n}.")
    return answer + (f" The defect-free curve agrees with the ensembles on the inner half at {ideal_in} of {n} "
                     f"points.")


def _bullets(d: dict, c: dict) -> list[str]:
    n, k, v = len(d["phi"]), d["k_rad_per_nm"], d["verdicts"]
    side = _ens_side(d)
    sp = d["spsll"][side]
    out = [f"* **Dispersions, box {d['n_cells']} × {d['n_rows']} × {d['n_layers']}.** Mean MAE against the ensemble, "
           f"all k / inner half: `spsll` {_mean(sp['mae_thz']):.2f} / {_mean(sp['mae_inner_thz']):.2f} THz, the "
           f"defect-free curve {_mean(d['ideal']['mae_thz']):.2f} / {_mean(d['ideal']['mae_inner_thz']):.2f} THz, "
           f"ensemble noise {_mean(d['ensemble_noise_thz']):.3f} / {_mean(d['ensemble_noise_inner_thz']):.3f} THz. "
           f"Amplitude X on the inner half: ensemble {min(d['X_ensemble_thz']):.2f}–{max(d['X_ensemble_thz']):.2f}, "
           f"`spsll` {min(sp['X_thz']):.2f}–{max(sp['X_thz']):.2f}, ideal {d['X_ideal_thz']:.2f} THz."]
    kc = [_num(x) for x in d["k_cut_rad_per_nm"]]
    cut = [j for j in range(n) if not math.isnan(kc[j])]
    k_half = math.pi / (2 * c["a_nm"])
    if cut:
        where = ", ".join(f"{kc[j]:.1f} at ({d['sigma_grid_nm'][j]:g}, {d['tau_grid_nm'][j]:g})" for j in cut)
        inside = [j for j in cut if kc[j] < k_half]
        out.append(f"* **The branch.** The ensemble's peak leaves the spin-wave branch (exchange part below half the "
                   f"ideal's) at k_cut = {where} rad/nm; inside the inner half (k_cut < π/2a = {k_half:.2f} rad/nm) "
                   f"at {_pts(d, inside)}. A smooth filter fails beyond k_cut.")
    else:
        out.append("* **The branch.** The ensemble's peak stays on the spin-wave branch over the whole zone at every "
                   "point (no k_cut).")
    lo = [_band(d["F_eff"][j], k, *K_LOW, kc[j]) for j in range(n)]
    hi = [_band(d["F_eff"][j], k, *K_HIGH, kc[j]) for j in range(n)]
    trend = _mean([h - low for h, low in zip(hi, lo, strict=True)])
    shape = ("has no k-trend to read (the branch ends below the high band)" if math.isnan(trend) else
             "rises with |k_x|" if trend > 0.02 else "falls with |k_x|" if trend < -0.02 else "is flat in k_x")
    fb = [_num(x) for x in d["F_eff_branch_mean"]]
    dphi = [f - p for f, p in zip(fb, d["phi"], strict=True)]
    ema = [_ema(p) for p in d["phi"]]
    out.append(f"* **The effective filter.** F_eff on the branch is {min(fb):.3f}–{max(fb):.3f} per point (noise "
               f"{_mean(d['F_eff_noise_branch']):.3f}) against φ = {min(d['phi']):.3f}–{max(d['phi']):.3f} "
               f"(F_eff − φ = {min(dphi):+.3f} to {max(dphi):+.3f}) and the 3D effective medium's (3φ−1)/(2φ) = "
               f"{min(ema):.3f}–{max(ema):.3f}; it {shape} on the branch (mean {_mean(lo):.3f} at "
               f"{K_LOW[0]:g}–{K_LOW[1]:g} rad/nm, {_mean(hi):.3f} at {K_HIGH[0]:g}–{K_HIGH[1]:g} rad/nm). RMS "
               f"|F_eff − F| on the branch: {_mean(d['F_eff_rms_dev_branch']):.3f}.")
    excess = [max(f) - p for f, p in zip(d["filter_ensemble_box"], d["phi"], strict=True)]
    by_side = "; ".join(f"s = {s}: {_mean(r['mae_inner_thz']):.2f}" for s, r in d["spsll"].items())
    sc = d["scan"]
    agree = [j for j, a in enumerate(v["best_box"]["inner"]["agree"]) if a]
    best = ", ".join(str(b) for b in sorted(set(sc["best_sides"]), key=str))
    small = (f", so `spsll` is φ times the ideal exchange to within {max(excess):.1%}" if max(excess) < 0.01 else "")
    out.append(f"* **The box.** `spsll`'s mean inner-half MAE by cross-section: {by_side} THz; s → ∞ (F = φ): "
               f"{_mean([r[-1] for r in sc['mae_inner_thz']]):.2f} THz. The continuous part of the filter is "
               f"F(0) − φ ≤ {max(excess):.4f} in the ensemble's box{small}; the best side of the closed-form scan "
               f"({best}) makes it agree at {len(agree)} of {n} points ({_pts(d, agree)}).")
    t_max = min(d["box_nm"]) / c["min_box_over_T"]
    out.append(f"* **Reach.** These points cover T ≤ {t_max:.3f} nm = {t_max / c['a_nm']:.2f} a only (see Notes): "
               f"the dataset's larger T need boxes whose ensembles do not fit one core (Costs and sizing).")
    return out


def conclusion(raw: dict) -> str:
    d = raw["dispersion"]
    return _head(d) + "\n\n" + "\n".join(_bullets(d, raw["config"]))


# -- the report -------------------------------------------------------------------------------------
def _reach(c: dict, t_max: float) -> str:
    """Which part of the dispersion dataset's (σ, τ) range this box reaches (T ≤ t_max)."""
    rng = c.get("dataset_ranges", {}).get("dispersion")
    if not rng:
        return ""
    (s_lo, s_hi), (_, t_hi) = rng["sigma_nm"], rng["tau_nm"]

    def tau_max(s):
        return math.inf if s <= t_max else s * t_max / (s - t_max)

    need = s_hi * t_hi / (s_hi + t_hi)
    cells = math.ceil(c["min_box_over_T"] * need / c["a_nm"])
    tau_lo = min(tau_max(s_lo), t_hi)
    return (f"In the dispersion dataset's range (σ {s_lo:g}–{s_hi:g} nm, τ 0–{t_hi:g} nm) it reaches τ ≤ "
            f"{tau_lo:.2f} nm at σ = {s_lo:g} nm (φ ≥ {s_lo / (s_lo + tau_lo):.3f}) "
            f"and τ ≤ {min(tau_max(s_hi), t_hi):.2f} nm at σ = {s_hi:g} nm; the rest (up to T = {need:.1f} nm at "
            f"({s_hi:g}, {t_hi:g}) nm) needs a box of {c['min_box_over_T'] * need:.0f} nm ({cells} cells) per side, "
            f"{(cells / c['box_cells'][0]) ** 3:.0f}× the cells of this one.")


def render_report(raw: dict, *, fig_rel: str, physics: str = "physics.md") -> str:
    """The report's Markdown from the numbers of the JSON (figures in ``fig_rel``)."""
    t = template_sections(TEMPLATE)
    d, c = raw["dispersion"], raw["config"]
    sides = d["reading_sides"]
    t_max = min(d["box_nm"]) / c["min_box_over_T"]
    a_over_t = [c["a_nm"] / x for x in d["T_nm"] if x > 0]
    factors = [x / -math.expm1(-x) for x in a_over_t]
    lo, hi = (min(factors), max(factors)) if factors else (1.0, 1.0)
    grid_factor = f"× {lo:.2f}" if f"{lo:.2f}" == f"{hi:.2f}" else f"× {lo:.2f}–{hi:.2f}"
    box_cells = f"{d['n_cells']} × {d['n_rows']} × {d['n_layers']}"
    fields = {
        "c": c, "d": d, "physics": physics, "fig": fig_rel, "command": raw["command"], "seconds": raw["seconds"],
        "minutes": raw["seconds"] / 60, "half": d["realisations"] // 2, "seed_2": c["seed"] + 1,
        "disp_tol": DISP_TOL_THZ, "t_max": t_max, "t_over_a": t_max / c["a_nm"], "reach": _reach(c, t_max),
        "points": ", ".join(f"({s:g}, {x:g})" for s, x in zip(d["sigma_grid_nm"], d["tau_grid_nm"], strict=True)),
        "lines": d["n_rows"] * d["n_layers"], "box_cells": box_cells, "sides_list": ", ".join(map(str, sides)),
        "reading_seconds": "; ".join(f"spsll s = {s} {d['spsll'][str(s)]['seconds']:.0f} s" for s in sides),
        "dispersion_table": _dispersion_table(t, d), "dispersion_summary": _dispersion_summary(d),
        "scan_table": markdown_table(t["scan_table"], _scan_rows(d)), "f_eff_min": F_EFF_MIN_THZ,
        "f_eff_table": _f_eff_table(t, d), "conclusion": conclusion(raw), "grid_factor": grid_factor,
        "shrink": max(sides) / min(sides), "s_lo": min(sides), "s_hi": max(sides),
    }
    return fill(t["report"], fields) + "\n"


# -- figures ----------------------------------------------------------------------------------------
def _dispersions(d: dict, path: Path) -> Path:
    """Per point: the ideal curve, the ensemble's peaks and spsll at each cross-section."""
    k = np.asarray(d["k_rad_per_nm"])
    fig, axes = _panels(len(d["phi"]))
    for j, ax in zip(range(len(d["phi"])), axes, strict=False):
        ax.plot(k, d["freq_ideal_thz"], color="0.6", lw=1, ls=":", label="ideal (psll)")
        for i, s in enumerate(d["reading_sides"]):
            ax.plot(k, d["spsll"][str(s)]["freq_thz"][j], color=f"C{i}", lw=1, label=f"spsll, s = {s}")
        ax.plot(k, d["freq_ensemble_thz"][j], color="k", lw=1, label=f"ensemble, {d['n_rows']} × {d['n_layers']}")
        ax.set_title(_title(d, j), fontsize=8)
        ax.set_xlabel("k_x (rad/nm)")
        ax.set_ylabel("f (THz)")
    axes[0].legend(fontsize=6)
    return _save(fig, path)


def _effective_filter(d: dict, path: Path) -> Path:
    """Per point: F_eff(k_x) (± the half-difference of the two halves) against spsll's F and φ."""
    k = np.asarray(d["k_rad_per_nm"])
    fig, axes = _panels(len(d["phi"]))
    for j, ax in zip(range(len(d["phi"])), axes, strict=False):
        F, err = _nan(d["F_eff"][j]), _nan(d["F_eff_noise"][j])
        ax.fill_between(k, F - err, F + err, color="0.8", lw=0)
        ax.plot(k, F, color="k", lw=1, label="F_eff (ensemble)")
        ax.plot(k, d["filter_ensemble_box"][j], color="C0", lw=1, label="φ + √P_cont, ensemble's box")
        ax.axhline(d["phi"][j], color="0.4", ls="--", lw=0.8, label="φ (s → ∞)")
        ax.axhline(_ema(d["phi"][j]), color="C2", ls=":", lw=0.8, label="(3φ−1)/(2φ)")
        kc = _num(d["k_cut_rad_per_nm"][j])
        if not math.isnan(kc):
            for x in (-kc, kc):
                ax.axvline(x, color="r", lw=0.6, ls=":")
        ax.set_ylim(0, 1.3)
        ax.set_title(_title(d, j), fontsize=8)
        ax.set_xlabel("k_x (rad/nm)")
        ax.set_ylabel("filter")
    axes[0].legend(fontsize=6)
    return _save(fig, path)


def _box_scan(d: dict, path: Path) -> Path:
    """The closed-form spsll's inner-half MAE against the ensemble versus the cross-section side s."""
    import matplotlib.pyplot as plt

    sc = d["scan"]
    sides = [s for s in sc["sides"] if s != "inf"]
    fig, ax = plt.subplots(figsize=(6.5, 4), constrained_layout=True)
    for j in range(len(d["phi"])):
        mae = sc["mae_inner_thz"][j]
        line, = ax.plot(sides, mae[: len(sides)], lw=1, marker=".", label=_title(d, j))
        ax.plot([sides[-1] * 4], [mae[-1]], marker="*", color=line.get_color())
        thr = max(DISP_TOL_THZ, 3 * d["ensemble_noise_inner_thz"][j])
        ax.plot([sides[0], sides[-1] * 4], [thr, thr], color=line.get_color(), lw=0.6, ls=":")
    ax.axvline(d["n_rows"], color="k", lw=0.6, ls="--")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(f"cross-section side s (cells; box {d['n_cells']} × s × s; ★: s → ∞, F = φ; dashed: the ensemble's)")
    ax.set_ylabel("MAE |k| ≤ π/2a vs ensemble (THz)")
    ax.set_title("closed-form spsll, f_gap + X0[1 − cos k a] F(k); dotted: max(0.1 THz, 3 × noise)", fontsize=8)
    ax.legend(fontsize=6)
    return _save(fig, path)


def _ensemble_spectrum(d: dict, path: Path) -> Path:
    """The averaged ensemble spectrum of one point, with the picked peaks and spsll."""
    import matplotlib.pyplot as plt

    k, j = np.asarray(d["k_rad_per_nm"]), d["spectrum_point"]
    spec, f = d["_spectrum"].numpy(), np.asarray(d["spectrum_f_thz"])
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    ax.pcolormesh(k, f, np.log10(spec + spec.max() * 1e-6), shading="auto", cmap="magma")
    ax.plot(k, d["freq_ensemble_thz"][j], color="w", lw=0.8, ls="--", label="ensemble peak")
    side = _ens_side(d)
    ax.plot(k, d["spsll"][side]["freq_thz"][j], color="C0", lw=0.8, label=f"spsll, s = {side}")
    ax.plot(k, d["freq_ideal_thz"], color="0.7", lw=0.8, ls=":", label="ideal")
    ax.set_xlabel("k_x (rad/nm)")
    ax.set_ylabel("f (THz)")
    ax.set_title(f"bulk ensemble √⟨|m_x(k_x,f)|²⟩ (log, rows and realisations), {_title(d, j)}", fontsize=7)
    ax.legend(fontsize=7, loc="upper center")
    return _save(fig, path)


def write_figures(result: dict, fig_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    fig_dir.mkdir(parents=True, exist_ok=True)
    d = result["dispersion"]
    return [_dispersions(d, fig_dir / "dispersions.png"), _effective_filter(d, fig_dir / "effective_filter.png"),
            _box_scan(d, fig_dir / "box_scan.png"), _ensemble_spectrum(d, fig_dir / "ensemble_spectrum.png")]


def write_report(result: dict, out: Path, *, command: str) -> Path:
    """The report at ``out`` (docs/validation-3d.md), its figures and JSON in ``<out stem>/``."""
    out = Path(out)
    fig_dir = out.parent / out.stem
    write_figures(result, fig_dir)
    raw = raw_numbers(result, command)
    write_json(fig_dir / JSON_NAME, raw)
    out.write_text(render_report(raw, fig_rel=fig_dir.name, physics=physics_link(out)))
    return out
