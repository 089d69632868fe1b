"""The "Films (2D)" section of RESULTS.md: per film data kind, its box, solver, ranges and split, then
every model on the test split (noiseless and with each noise level) and on the explicit-defect
re-simulation of the test points, the ridge baseline next to each network and, on each test set, two
answers that ignore the data (the training mean; no defects).

An entry is a film result when the rows of its data (``dataset.n_rows``) exceed 1
(:func:`.report.is_film`); results without that record (written before films were added) are chains.
"""

from __future__ import annotations

import re

from spsll.studies.rendering import fill, template_sections
from spsll.studies.results.tables import CROSS_KEY, INVERSE_Q, NOISE_KEY, fmt, is_film

KIND_TITLE = {"dispersion": "Dispersions → (σ, τ)", "domain_wall": "Domain walls → (σ, τ)"}


def _range(r) -> str:
    return f"{r[0]:g}–{r[1]:g} nm"


def data_statement(info: dict) -> str:
    """The box, solver, ranges and split of a film kind, and how its explicit-defect data was made."""
    solver = f"`{info['solver']}`"
    text = f"Training and test data: `dataset={info['group']} solver={info['solver']}` ({solver} reading)"
    if "box_cells" not in info:
        return text + f", a film of {info['n_rows']} rows; the file is not generated yet."
    (bx, by), (lx, ly) = info["box_cells"], info["box_nm"]
    shape = (f"N × M = {bx} × {by} cells" if info["kind"] == "dispersion"
             else f"2N × M = {bx} × {by} cells (the mirrored film; N = {info['n_cells']} stored)")
    s_max, t_max = info["sigma_nm"][1], info["tau_nm"][1]
    T = s_max * t_max / (s_max + t_max)
    text += (f"; box {shape}, {lx:.1f} × {ly:.1f} nm; σ {_range(info['sigma_nm'])}, τ {_range(info['tau_nm'])} "
             f"(T ≤ {T:.2f} nm, box / T_max = {min(lx, ly) / T:.1f}); {info['n_samples']} samples, "
             f"{info['n_train']} / {info['n_val']} / {info['n_test']} train / validation / test.")
    for solver, c in (info.get("cross") or {}).items():
        if "n_samples" not in c:
            text += f" `{solver}` data: not generated yet."
            continue
        cap = "" if c["max_samples"] is None else f" (capped by `max_samples: {c['max_samples']}`)"
        reals = f", {c['realisations']} realisations each" if c.get("realisations") else ""
        text += (f" Explicit-defect data: `{solver}` on the first {c['n_samples']} of the {info['n_test']} test "
                 f"points{cap}{reals}.")
    return text


def _row(results, eid, prefix: str, what: str, walls: bool) -> list[str]:
    e = results[eid]
    m = e["metrics"]
    row = [e["label"], what, " / ".join(fmt(m.get(f"{prefix}mae_{q}")) for q, _ in INVERSE_Q),
           fmt(m.get(f"{prefix}net_coverage_phi_1sd"), 2), fmt(m.get(f"{prefix}flagged_fraction"), 2)]
    if walls:
        row.append(f"{fmt(m.get(f'{prefix}width_error_mean_nm'))} / {fmt(m.get(f'{prefix}width_error_std_nm'))}")
    return row + [str(len(e["runs"]))]


CONSTANT_LABELS = {"train_mean": "constant: the training split's mean (σ, τ)",
                   "no_defects": "constant: no defects (τ = 0; σ not scored)"}


def _constant_rows(answers: dict | None, what: str, walls: bool) -> list[list[str]]:
    """Rows of the answers that ignore the data (:func:`.collect.constant_answers`), when recorded."""
    rows = []
    for name, label in CONSTANT_LABELS.items() if answers else ():
        mae = answers[name]
        row = [label, what, " / ".join(f"{mae[q]:.3g}" if q in mae else "–" for q, _ in INVERSE_Q), "–", "–"]
        rows.append(row + (["– / –"] if walls else []) + ["–"])
    return rows


def _level(label: str) -> str:
    return label.replace("noise", "").replace("p", ".").replace("ghz", " GHz").replace("mz", " m_z")


def kind_table(results: dict, eids: list[str], info: dict) -> str:
    """Rows grouped by test data (noiseless, each noise level, each other model's data), each group
    listing the kind's entries in config order (networks next to their baseline)."""
    walls = info["kind"] == "domain_wall"
    metrics = [results[eid]["metrics"] for eid in eids]
    levels = sorted({g.group(1) for m in metrics for k in m if (g := NOISE_KEY.match(k))},
                    key=lambda s: float(re.sub(r"[a-z]", "", s.replace("p", ".")) or 0))
    solvers = sorted({g.group(1) for m in metrics for k in m if (g := CROSS_KEY.match(k))})
    what = f"test split, {info['solver']}, noiseless"
    rows = [_row(results, eid, "test/", what, walls) for eid in eids]
    rows += _constant_rows((info.get("constant_answers") or {}).get("test"), what, walls)
    for lab in levels:
        rows += [_row(results, eid, f"test/{lab}_", f"test split, {info['solver']}, {_level(lab)} noise", walls)
                 for eid in eids]
    for solver in solvers:
        c = (info.get("cross") or {}).get(solver) or {}
        n = f", {c['n_samples']} points" if "n_samples" in c else ""
        r = f", R = {c['realisations']}" if c.get("realisations") else ""
        what = f"explicit defects: {solver}{n}{r}"
        rows += [_row(results, eid, f"test_{solver}/", what, walls) for eid in eids]
        rows += _constant_rows(c.get("constant_answers"), what, walls)
    if not any(results[eid]["runs"] for eid in eids):
        return "(no runs of this kind in the study yet)"
    header = ["model", "test data", "MAE σ / τ / φ / T", "network φ coverage", "flagged"]
    header += ["closed loop mean / std (nm)"] if walls else []
    header += ["seeds"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def films_section(results: dict) -> str:
    """The section, or "" when the results hold no film entry (so chain-only results render as before)."""
    by_data: dict[str, list[str]] = {}
    for eid, e in results.items():
        if is_film(e) and e["task"] != "forward":
            by_data.setdefault(e.get("data", ""), []).append(eid)
    if not by_data:
        return ""
    sections = template_sections("results.md")
    parts = []
    for data, eids in by_data.items():
        info = results[eids[0]]["dataset"]
        parts.append(fill(sections["films_kind"], {
            "title": f"{KIND_TITLE[info['kind']]}, `{info['solver']}` data ({data})",
            "data_statement": data_statement(info), "table": kind_table(results, eids, info)}))
    return fill(sections["films"], {"kinds": "\n\n".join(parts)})
