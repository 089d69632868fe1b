"""The "Textures: isolated skyrmions" section of RESULTS.md from results.json: the data, then the forward models
(survival: Brier, ECE; radius: relative MAE, fraction within 2 %) and the inverse models (MAE of σ, τ, φ, T and the
calibrated coverage of φ's ±1 sd) on each test set — the spsll test split (the inverse models also with m_z noise)
and the explicit-defect re-simulation of its first test points — networks as mean ± std over seeds, the baselines
once and, closing each noiseless and explicit-defect group, the answer that ignores the input
(prose: ``spsll/studies/templates/results.md``, sections ``textures*``)."""

from __future__ import annotations

import re

from spsll.studies.rendering import fill, template_sections
from spsll.studies.results.tables import INVERSE_Q, fmt

FORWARD_COLUMNS = (("brier", "Brier", 3), ("ece", "ECE", 2), ("radius_rel_mae", "radius rel. MAE", 2),
                   ("radius_within_2pct", "radius within 2 %", 2))
NOISE = re.compile(r"^test/(noise[0-9p]+mz)_mae_phi$")
NO_RUNS = "(no runs of this kind in the study yet)"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _entries(results: dict, part: dict, direction: str) -> list[str]:
    return [eid for eid in part["entries"] if eid in results and results[eid].get("direction") == direction]


def _one(value: float | None, digits: int) -> str:
    return fmt({"mean": value, "n": 1}, digits)


def _level(label: str) -> str:
    return label.removeprefix("noise").removesuffix("mz").replace("p", ".") + " m_z"


def _test_sets(part: dict) -> list[tuple[str, str, dict | None]]:
    """(metric prefix, what, its constant answers) of every test set: the test split, then each other solver's."""
    data = part["data"]
    sets = [("test/", f"test split, {data.get('solver', 'spsll')}", (part.get("constant_answers") or {}).get("test"))]
    for solver, c in (part.get("cross") or {}).items():
        n = f", {c['n_samples']} points" if "n_samples" in c else ""
        sets.append((f"test_{solver}/", f"explicit defects: {solver}{n}", c.get("constant_answers")))
    return sets


def forward_table(results: dict, part: dict) -> str:
    eids = _entries(results, part, "forward")
    if not any(results[eid]["runs"] for eid in eids):
        return NO_RUNS
    rows = []
    for prefix, what, constant in _test_sets(part):
        for eid in eids:
            e = results[eid]
            rows.append([e["label"], what] + [fmt(e["metrics"].get(f"{prefix}{k}"), d) for k, _, d in FORWARD_COLUMNS]
                        + [str(len(e["runs"]))])
        if constant and constant.get("forward"):
            label = (f"constant: the training base rate p = {constant['survival_probability']:.3f}, "
                     f"R = {constant['radius_nm']:.2f} nm")
            rows.append([label, what] + [_one(constant["forward"].get(k), d) for k, _, d in FORWARD_COLUMNS] + ["–"])
    return _table(["model", "test data"] + [name for _, name, _ in FORWARD_COLUMNS] + ["seeds"], rows)


def _inverse_row(e: dict, prefix: str, what: str) -> list[str]:
    m = e["metrics"]
    return [e["label"], what, " / ".join(fmt(m.get(f"{prefix}mae_{q}")) for q, _ in INVERSE_Q),
            fmt(m.get(f"{prefix}net_coverage_phi_1sd"), 2), str(len(e["runs"]))]


def inverse_table(results: dict, part: dict) -> str:
    eids = _entries(results, part, "inverse")
    if not any(results[eid]["runs"] for eid in eids):
        return NO_RUNS
    levels = sorted({g.group(1) for eid in eids for k in results[eid]["metrics"] if (g := NOISE.match(k))},
                    key=lambda s: float(_level(s).split()[0]))
    rows = []
    for i, (prefix, what, constant) in enumerate(_test_sets(part)):
        rows += [_inverse_row(results[eid], prefix, what + (", noiseless" if i == 0 else "")) for eid in eids]
        if constant and constant.get("inverse"):
            mean = constant["params_nm"]
            rows.append([f"constant: the training survivors' mean (σ, τ) = ({mean[0]:.1f}, {mean[1]:.2f}) nm",
                         what + (", noiseless" if i == 0 else ""),
                         " / ".join(_one(constant["inverse"].get(q), 3) for q, _ in INVERSE_Q), "–", "–"])
        if i == 0:  # the test split's noisy rows follow its noiseless group
            for lab in levels:
                rows += [_inverse_row(results[eid], f"test/{lab}_", f"{what}, {_level(lab)} noise") for eid in eids]
    return _table(["model", "test data", "MAE σ / τ / φ / T", "network φ coverage", "seeds"], rows)


def _range(r, unit: str) -> str:
    return f"{r[0]:g}–{r[1]:g} {unit}"


def data_statement(part: dict) -> str:
    """The training file (material, box, ranges, split, survivors) and each explicit-defect file (points, survivors)."""
    d = part["data"]
    text = f"Data: `dataset={d['group']}` (`{d['path']}`"
    if "n_samples" not in d:
        return text + "); the file is not generated yet."
    (bx, by), (lx, ly) = d["box_cells"], d["box_nm"]
    share = 100 * d["n_survived"] / d["n_samples"]
    per_split = " / ".join(str(d[f"n_{s}_survived"]) for s in ("train", "val", "test"))
    crop, ranges = d["crop_cells"], (f"σ {_range(d['sigma_nm'], 'nm')}, τ {_range(d['tau_nm'], 'nm')}, "
                                     f"B {_range(d['B_T'], 'T')}")
    text += (f", the `{d['solver']}` reading): {d['n_samples']} isolated skyrmions, each relaxed in a periodic "
             f"{d['material']} film of {bx} × {by} cells ({lx:g} × {ly:g} nm) at (σ, τ, B) of a `{d['sampling']}` "
             f"plan over {ranges}; the image is the {crop} × {crop} crop about the core. Split {d['n_train']} / "
             f"{d['n_val']} / {d['n_test']} (train / validation / test). **{d['n_survived']} of the {d['n_samples']} "
             f"skyrmions survived ({share:.1f} %)**: {per_split} per split, the inverse models' samples; "
             f"{d['n_unconverged']} did not converge ({d['n_test_unconverged']} in the test split) and have no "
             "decided fate (left out of every score).")
    for solver, c in (part.get("cross") or {}).items():
        if "n_samples" not in c:
            text += f" `{solver}` data: not generated yet."
            continue
        cap = "" if c.get("max_samples") is None else f", capped by `max_samples: {c['max_samples']}`"
        of = f" of the {c['n_source_test']}" if "n_source_test" in c else ""
        films = " (one explicit mosaic film per sample)" if c.get("mosaics_per_sample") == 1 else ""
        same = (f", against {c['n_source_survived']} of the same points under `{d['solver']}`"
                if "n_source_survived" in c else "")
        text += (f" **Explicit-defect data**: the first {c['n_samples']}{of} test points{cap}, re-simulated under "
                 f"`{solver}`{films}: **{c['n_survived']} survived**{same}; {c['n_unconverged']} did not converge; "
                 f"pinned survivors (a vacancy cluster on the wall): {c['n_pinned']}.")
    return text


def textures_section(results: dict, part: dict | None) -> str:
    """The section, or "" when the study has no textures part (the other sections render as before)."""
    if not part:
        return ""
    levels = ", ".join(f"{v:g}" for v in part.get("noise_mz") or []) or "none"
    return fill(template_sections("results.md")["textures"], {
        "data_statement": data_statement(part), "forward_table": forward_table(results, part),
        "inverse_table": inverse_table(results, part), "levels": levels})
