"""The "Coercivity" section of RESULTS.md from results.json: the data, the VAE's latent-size choice and its test
reconstruction, the per-target test MAE of every network (mean ± std over seeds) with the baselines beside them,
the statistical reading's answer, and the morphing (prose: ``spsll/studies/templates/results.md``, sections
``coercivity*``)."""

from __future__ import annotations

import os
from pathlib import Path

from spsll.studies.rendering import fill, template_sections
from spsll.studies.results.tables import fmt

TARGETS = (("H_at_M_0.99_HK", "H at M = 0.99 Ms", "H_K"), ("H_at_M_0.9_HK", "H at M = 0.9 Ms", "H_K"),
           ("H_at_M_0.5_HK", "H at M = 0.5 Ms", "H_K"), ("H_at_M_0_HK", "H at M = 0", "H_K"),
           ("H_at_M_-0.9_HK", "H at M = −0.9 Ms", "H_K"), ("M_at_H_0.1_HK", "M at H = 0.1 H_K", "Ms"),
           ("M_at_H_0.2_HK", "M at H = 0.2 H_K", "Ms"), ("coercivity_HK", "H_c", "H_K"))
VAE_VAL = (("val/bce_per_cell", "BCE per cell (nats)"), ("val/cell_error_rate", "cells wrong"),
           ("val/mae_defect_fraction", "defect-fraction MAE"), ("val/kl", "KL (nats per mask)"))
VAE_TEST = (("test/bce_per_cell", "BCE per cell (nats)"), ("test/cell_error_rate", "cells wrong"),
            ("test/mae_defect_fraction", "defect-fraction MAE"), ("test/mae_defect_count", "defect-count MAE"))


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _m(results: dict, eid: str, key: str) -> dict | None:
    return results.get(eid, {}).get("metrics", {}).get(key)


def vae_table(results: dict, part: dict) -> str:
    sel = part.get("selection") or {}
    chosen = (sel.get("chosen") or {}).get("latent_dim")
    rows = []
    for eid, k in zip(part["vae_candidates"], part["latent_dims"], strict=True):
        e = results.get(eid) or {}
        best = _m(results, eid, "val/best_step")
        run = e.get("runs") or []
        rows.append([f"**{k}** (chosen)" if k == chosen else str(k)] + [fmt(_m(results, eid, m), 4) for m, _ in VAE_VAL]
                    + [("–" if not best else f"{best['mean']:.0f}"), f"`{run[0]['run_id']}`" if run else "–"])
    return _table(["latent size"] + [f"val {n}" for _, n in VAE_VAL] + ["kept at training step", "run (seed 0)"],
                  rows)


def vae_test(results: dict) -> str:
    e = results.get("mask_vae") or {}
    if not e.get("runs"):
        return "(not trained yet)"
    n = len(e["runs"])
    return "; ".join(f"{name} {fmt(_m(results, 'mask_vae', m), 3)}" for m, name in VAE_TEST) + \
        f" (mean ± std over {n} seed{'s' if n > 1 else ''})"


def columns(results: dict, part: dict) -> list[tuple[str, list[str]]]:
    """The per-target table's columns in config order: (column, its entries)."""
    out: dict[str, list[str]] = {}
    for eid in part["entries"]:
        if eid in results:
            out.setdefault(results[eid].get("column") or results[eid]["label"], []).append(eid)
    return list(out.items())


def target_table(results: dict, part: dict) -> str:
    cols = columns(results, part)
    rows = []
    for key, name, unit in TARGETS:
        row = [f"{name} (`{key}`)", unit]
        for _, eids in cols:
            cell = next((_m(results, eid, f"test/mae_{key}") for eid in eids if _m(results, eid, f"test/mae_{key}")),
                        None)
            row.append(fmt(cell, 2))
        rows.append(row)
    return _table(["target", "unit"] + [c for c, _ in cols], rows)


def models_table(results: dict, part: dict) -> str:
    rows = []
    for eid in part["entries"]:
        e = results.get(eid)
        if not e:
            continue
        vae = {"seed": "its seed's", "seed0": "seed 0's"}.get(e.get("encoder"), "—")
        rows.append([e["label"], f"`{eid}`", vae, fmt(_m(results, eid, "val/mae_standardised"), 3),
                     fmt(_m(results, eid, "test/mae_standardised"), 3), str(len(e["runs"]))])
    return _table(["model", "entry", "VAE", "val MAE / train std", "test MAE / train std", "seeds"], rows)


def morphing_text(part: dict, out: str | Path) -> str:
    m = part.get("morphing")
    sections = template_sections("results.md")
    if not m or "summary" not in m:
        return sections["coercivity_no_morphing"]
    # a relative report path is the repository's (as every other link of the report); an absolute one is linked
    # from where the report is written
    report = Path(m["report"])
    link = (Path(os.path.relpath(report, Path(out).resolve().parent)) if report.is_absolute() else report).as_posix()
    rows = []
    for t, row in m["summary"]["targets"].items():
        reg, gp = row.get("regressor") or {}, row.get("gp") or {}
        rows.append([f"`{t}`", row["unit"], fmt({"mean": row["simulated_range"], "n": 1}, 2),
                     fmt({"mean": reg.get("mae"), "n": 1}, 2), fmt({"mean": reg.get("r"), "n": 1}, 2),
                     fmt({"mean": gp.get("mae"), "n": 1}, 2)])
    table = _table(["target", "unit", "simulated range", f"{m['regressor']} MAE", "r", "GP MAE"], rows)
    gp = f" and the `{m['gp']}` (a Gaussian process, ± its predictive sd)" if m.get("gp") else ""
    return fill(sections["coercivity_morphing"], {"link": link, "m": m, "s": m["summary"], "table": table, "gp": gp})


def coercivity_section(results: dict, part: dict | None, out: str | Path) -> str:
    """The section, or "" when the study has no coercivity part (chain-only results render as before)."""
    if not part:
        return ""
    hyst, micro = part["data"].get("hysteresis") or {}, part["data"].get("microstructures") or {}
    sel = part.get("selection") or {}
    chosen = sel.get("chosen") or {}
    fields = {"h": hyst, "mi": micro, "reading_mae": fmt({"mean": hyst.get("reading_mae_coercivity_HK"), "n": 1}, 3),
              "test_hc": fmt({"mean": hyst.get("test_coercivity_HK_mean"), "n": 1}, 3),
              "latent": chosen.get("latent_dim", "–"), "tolerance": f"{part['tolerance']:.0%}",
              "vae_table": vae_table(results, part), "vae_test": vae_test(results),
              "target_table": target_table(results, part), "models_table": models_table(results, part),
              "morphing": morphing_text(part, out)}
    if not hyst:
        return fill(template_sections("results.md")["coercivity_no_data"], fields)
    return fill(template_sections("results.md")["coercivity"], fields)
