"""RESULTS.md from results.json: the targets, one table per task, the noisy and cross-model rows, the
films (:mod:`.films`), the coercivity part (:mod:`.coercivity_report`), the textures part
(:mod:`.textures_report`) and the run ids (the prose is ``spsll/studies/templates/results.md``). The chain
tables hold the chain entries only; film, coercivity and textures entries have their own sections."""

from __future__ import annotations

import re
from pathlib import Path

from spsll.studies.rendering import fill, template_sections
from spsll.studies.results.tables import CROSS_KEY, INVERSE_Q, NOISE_KEY, fmt, is_film

TEXTURES = "textures"  # the task of the textures part's entries (:mod:`.textures_plan`): their own section

#: the networks against the ridge under the same conditions: (network, ridge, metric prefix, what)
COMPARISONS = (
    ("inverse_cnn_noiseless", "ridge_inverse_dispersion", "test/", "dispersions, noiseless (both fitted noiseless)"),
    ("inverse_cnn", "ridge_inverse_dispersion_noise", "test/noise10ghz_",
     "dispersions with 10 GHz noise (both fitted for it)"),
    ("width_regressor_noiseless", "ridge_inverse_domain_wall", "test/", "walls, noiseless (both fitted noiseless)"),
    ("width_regressor", "ridge_inverse_domain_wall_noise", "test/noise0p01mz_",
     "walls with 0.01 m_z noise (both fitted for it)"),
)


def _m(results: dict, eid: str, key: str) -> dict | None:
    return results.get(eid, {}).get("metrics", {}).get(key)


def _mean(results, eid, key):
    a = _m(results, eid, key)
    return None if not a or a.get("mean") is None else a["mean"]


def _table(header: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "(no runs of this kind in the study yet)"
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _entries(results: dict, task: str) -> list[str]:
    return [eid for eid, e in results.items() if e["task"] == task and not is_film(e)]


def _mark(ok: bool | None) -> str:
    return "–" if ok is None else ("✅ met" if ok else "❌ not met")


def targets_table(results: dict) -> str:
    rows = []
    for eid, label, limit in (("tfc_pinn_argmax", "forward, arg-max targets: worst-k test MAE", 0.10),
                              ("tfc_pinn", "forward, refined targets: worst-k test MAE", 0.02)):
        if eid in results:
            v = _mean(results, eid, "test/max_mae_k_thz")
            rows.append([label, "0.29–0.36 THz (mean over k)", f"≤ {limit} THz",
                         fmt(_m(results, eid, "test/max_mae_k_thz")), _mark(None if v is None else v <= limit)])
    for net, ridge, prefix, what in COMPARISONS:
        if net not in results or ridge not in results:
            continue
        for q, name in INVERSE_Q:
            key = f"{prefix}mae_{q}"
            v, r = _mean(results, net, key), _mean(results, ridge, key)
            rule = "≤ ridge" if q == "phi" else "< ridge"
            ok = None if v is None or r is None else (v <= r if q == "phi" else v < r)
            rows.append([f"{what}: {name} test MAE, network", "—", f"{rule} ({fmt(_m(results, ridge, key))})",
                         fmt(_m(results, net, key)), _mark(ok)])
    if "width_regressor" in results:
        mean = _mean(results, "width_regressor", "test/width_error_mean_nm")
        std = _mean(results, "width_regressor", "test/width_error_std_nm")
        rows.append(["width closed loop: mean / std of the width error", "0.077 / 0.835 nm",
                     "\\|mean\\| ≤ 0.02, std ≤ 0.10 nm",  # a bare | would end the table cell
                     f"{fmt(_m(results, 'width_regressor', 'test/width_error_mean_nm'))} / "
                     f"{fmt(_m(results, 'width_regressor', 'test/width_error_std_nm'))}",
                     _mark(None if mean is None or std is None else abs(mean) <= 0.02 and std <= 0.10)])
    return _table(["quantity", "paper", "target", "ours (mean ± std over seeds)", ""], rows)


def forward_table(results: dict) -> str:
    rows = []
    for eid in _entries(results, "forward"):
        e = results[eid]
        rows.append([e["label"], fmt(_m(results, eid, "val/mae_thz")), fmt(_m(results, eid, "val/max_mae_k_thz")),
                     fmt(_m(results, eid, "test/mae_thz")), fmt(_m(results, eid, "test/max_mae_k_thz")),
                     str(len(e["runs"]))])
    return _table(["model", "val MAE (THz)", "val worst k", "test MAE (THz)", "test worst k", "seeds"], rows)


def inverse_table(results: dict, task: str) -> str:
    rows = []
    for eid in _entries(results, task):
        e = results[eid]
        val = " / ".join(fmt(_m(results, eid, f"val/mae_{q}")) for q, _ in INVERSE_Q)
        test = " / ".join(fmt(_m(results, eid, f"test/mae_{q}")) for q, _ in INVERSE_Q)
        refined = " / ".join(fmt(_m(results, eid, f"test/refined_mae_{q}")) for q, _ in INVERSE_Q)
        row = [e["label"], val, test, refined if "–" not in refined.replace(" / ", "") else "–"]
        if task == "inverse_domain_wall":
            row.append(f"{fmt(_m(results, eid, 'test/width_error_mean_nm'))} / "
                       f"{fmt(_m(results, eid, 'test/width_error_std_nm'))}")
        row.append(str(len(e["runs"])))
        rows.append(row)
    header = ["model", "val MAE σ / τ / φ / T", "test MAE σ / τ / φ / T", "+ refinement (test)"]
    if task == "inverse_domain_wall":
        header.append("closed loop mean / std (nm)")
    return _table(header + ["seeds"], rows)


def noise_table(results: dict) -> str:
    rows = []
    for eid, e in results.items():
        if e["task"] in ("forward", TEXTURES) or is_film(e):
            continue
        labels = sorted({m.group(1) for k in e["metrics"] if (m := NOISE_KEY.match(k))},
                        key=lambda s: float(re.sub(r"[a-z]", "", s.replace("p", ".")) or 0))
        for lab in labels:
            net = " / ".join(fmt(_m(results, eid, f"test/{lab}_mae_{q}")) for q, _ in INVERSE_Q)
            ref = " / ".join(fmt(_m(results, eid, f"test/{lab}_refined_mae_{q}")) for q, _ in INVERSE_Q)
            cov = fmt(_m(results, eid, f"test/{lab}_refined_coverage_phi_1sd"), 2)
            net_cov = fmt(_m(results, eid, f"test/{lab}_net_coverage_phi_1sd"), 2)
            flagged = fmt(_m(results, eid, f"test/{lab}_flagged_fraction"), 2)
            level = lab.replace("noise", "").replace("p", ".").replace("ghz", " GHz").replace("mz", " (m_z)")
            rows.append([e["label"], level, net, net_cov, ref, cov, flagged])
    return _table(["model", "noise", "network MAE σ / τ / φ / T", "network φ coverage", "refined MAE σ / τ / φ / T",
                   "refined φ coverage", "flagged"], rows)


def cross_table(results: dict) -> str:
    rows = []
    for eid, e in results.items():
        if is_film(e) or e["task"] == TEXTURES:
            continue
        for prefix in sorted({f"test_{m.group(1)}" for k in e["metrics"] if (m := CROSS_KEY.match(k))}):
            net = " / ".join(fmt(_m(results, eid, f"{prefix}/mae_{q}")) for q, _ in INVERSE_Q)
            ref = " / ".join(fmt(_m(results, eid, f"{prefix}/refined_mae_{q}")) for q, _ in INVERSE_Q)
            rows.append([e["label"], prefix.removeprefix("test_"), net, ref,
                         fmt(_m(results, eid, f"{prefix}/refined_coverage_phi_1sd"), 2),
                         fmt(_m(results, eid, f"{prefix}/flagged_fraction"), 2)])
    return _table(["model (trained on spsll data)", "test data made by", "network MAE σ / τ / φ / T",
                   "refined MAE σ / τ / φ / T", "refined φ coverage", "flagged"], rows)


def runs_table(results: dict) -> str:
    rows = [[e["label"], eid, ", ".join(f"seed {r['seed']}: `{r['run_id']}`" for r in e["runs"])]
            for eid, e in results.items()]
    return _table(["configuration", "entry", "MLflow runs"], rows)


def time_statement(meta: dict) -> str:
    """How long the study took: wall time over its invocations, and the jobs' own time."""
    text = f"{meta['minutes']:.0f} min of wall time"
    if meta.get("time_partial"):
        text += ", not counting an earlier, interrupted invocation that kept no time record"
    if "job_minutes" in meta:
        text += (f"; its {meta['n_jobs']} jobs took {meta['job_minutes']:.0f} min of process time together, "
                 f"{meta['jobs']} at a time")
    if meta.get("time_note"):
        text += f" ({meta['time_note']})"
    return text


def provenance(meta: dict) -> str:
    """git commit and date of the numbers; those an earlier invocation made, when some are reused."""
    text = f"git {meta['commit']}, {meta['date']}"
    if meta.get("earlier"):
        text += (f"; numbers of entries an earlier invocation finished: git {meta['earlier']['commit']}, "
                 f"{meta['earlier']['date']}")
    return text


def render(data: dict, out: str | Path) -> Path:
    from spsll.studies.results.coercivity_report import coercivity_section
    from spsll.studies.results.films import films_section
    from spsll.studies.results.textures_report import textures_section

    results, meta = data["results"], data["meta"]
    # the optional sections (films, coercivity, textures) go where the template's films_section field stands
    optional = [films_section(results), coercivity_section(results, data.get("coercivity"), out),
                textures_section(results, data.get("textures"))]
    text = fill(template_sections("results.md")["report"], {
        "meta": meta, "provenance": provenance(meta), "time": time_statement(meta),
        "films_section": "".join(f"\n{s}\n" for s in optional if s), "targets_table": targets_table(results),
        "forward_table": forward_table(results),
        "inverse_dispersion_table": inverse_table(results, "inverse_dispersion"),
        "inverse_domain_wall_table": inverse_table(results, "inverse_domain_wall"),
        "noise_table": noise_table(results), "cross_table": cross_table(results), "runs_table": runs_table(results)})
    out = Path(out)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(text + "\n")
    tmp.replace(out)
    return out
