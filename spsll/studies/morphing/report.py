"""The morphing's numbers, figures and report (docs/coercivity-morphing.md; template
``spsll/studies/templates/morphing.md``).

Along the path, per target: the MAE of each model against the simulation over the converged decoded chains, the
Pearson correlation r of prediction and simulation, and the simulated range. The prediction *follows* the
simulation when r ≥ 0.9 and the MAE is at most a quarter of the simulated range (both stated with the numbers);
a target the simulation hardly moves (range < 0.02, H_K or Ms) is reported as flat, without a verdict.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from spsll.models.anchors import target_units
from spsll.studies.rendering import fill, template_sections

FOLLOW_R, FOLLOW_FRACTION, FLAT = 0.9, 0.25, 0.02


def json_path(out: str | Path) -> Path:
    """``<stem>/morphing.json`` beside the report (the results study reads it there)."""
    out = Path(out)
    return out.parent / out.stem / "morphing.json"


def _corr(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def path_summary(targets: list[str], sim: dict, pred: dict, gp: dict | None, ok: np.ndarray,
                 test_mae: dict) -> dict:
    """Per target: MAE, r and verdict of the regressor (and GP) along the converged steps."""
    out = {"n_steps": int(len(ok)), "n_converged": int(ok.sum()), "targets": {}}
    for t in targets:
        s = np.asarray(sim[t])[ok]
        rng = float(s.max() - s.min()) if len(s) else None
        row = {"unit": target_units(t), "simulated_range": rng, "test_mae": test_mae.get(t)}
        for who, src in (("regressor", pred), ("gp", gp)):
            if src is None or not len(s):
                continue
            p = np.asarray(src["mean"][t])[ok]
            mae, r = float(np.abs(p - s).mean()), _corr(p, s)
            flat = rng is not None and rng < FLAT
            follows = None if flat or r is None else bool(r >= FOLLOW_R and mae <= FOLLOW_FRACTION * rng)
            row[who] = {"mae": mae, "r": r, "follows": follows, "flat": flat}
            if who == "gp" and "sd" in src:
                z = np.abs(p - s) / np.maximum(np.asarray(src["sd"][t])[ok], 1e-300)
                row[who]["coverage_1sd"] = float((z <= 1).mean())
        out["targets"][t] = row
    return out


def path_figure(t: np.ndarray, targets: list[str], sim: dict, ok: np.ndarray, pred: dict, gp: dict | None,
                stored_ends: dict, labels: tuple[str, str]) -> Figure:
    """Predicted against simulated targets along t: one panel per target."""
    fig = Figure(figsize=(4.2 * len(targets), 3.6), layout="constrained")
    for i, name in enumerate(targets):
        ax = fig.add_subplot(1, len(targets), i + 1)
        s = np.asarray(sim[name])
        ax.plot(t, s, "k-", lw=1, alpha=0.5)
        ax.plot(t[ok], s[ok], "ko", ms=5, label="simulated (decoded mask)")
        if (~ok).any():
            ax.plot(t[~ok], s[~ok], "kx", ms=7, label="simulated, not converged")
        ax.plot(t, pred["mean"][name], "o-", color="tab:blue", ms=4, label=labels[0])
        if gp is not None:
            m, sd = np.asarray(gp["mean"][name]), np.asarray(gp["sd"][name])
            ax.plot(t, m, "s--", color="tab:orange", ms=3, label=labels[1])
            ax.fill_between(t, m - sd, m + sd, color="tab:orange", alpha=0.2)
        ax.plot([0, 1], stored_ends[name], "D", mfc="none", mec="tab:red", ms=8, label="original chains (stored)")
        ax.set_xlabel("t (latent path a → b)")
        ax.set_ylabel(f"{name} ({target_units(name)})")
        if i == 0:
            ax.legend(fontsize=7)
    return fig


def masks_figure(t: np.ndarray, decoded: np.ndarray, originals: np.ndarray, pair: tuple[int, int],
                 cell_nm: float) -> Figure:
    """The decoded masks (rows, t from top to bottom) between the two original masks."""
    rows = np.concatenate([originals[:1], decoded, originals[1:]])
    fig = Figure(figsize=(9.0, 0.9 + 0.28 * len(rows)), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    n = rows.shape[1]
    ax.imshow(rows, aspect="auto", cmap="gray_r", vmin=0, vmax=1, interpolation="nearest",
              extent=(0, n * cell_nm, len(rows) - 0.5, -0.5))
    ax.set_yticks(range(len(rows)), [f"sample {pair[0]}"] + [f"t = {v:.2f}" for v in t] + [f"sample {pair[1]}"])
    ax.set_xlabel("x (nm); black: soft defect")
    return fig


def _f(v, digits: int = 3) -> str:
    return "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.{digits}f}"


def _verdict(who: dict | None) -> str:
    if not who:
        return "–"
    if who["flat"]:
        return "flat"
    return "–" if who["follows"] is None else ("follows" if who["follows"] else "does not follow")


def summary_table(summary: dict, gp: bool) -> str:
    header = ["target", "unit", "simulated range", "regressor MAE", "r", "verdict"]
    header += ["GP MAE", "GP r", "GP 1 sd coverage", "GP verdict"] if gp else []
    header += ["regressor test MAE"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in summary["targets"].items():
        reg, g = row.get("regressor"), row.get("gp")
        cells = [f"`{name}`", row["unit"], _f(row["simulated_range"]), _f((reg or {}).get("mae")),
                 _f((reg or {}).get("r"), 2), _verdict(reg)]
        if gp:
            cells += [_f((g or {}).get("mae")), _f((g or {}).get("r"), 2), _f((g or {}).get("coverage_1sd"), 2),
                      _verdict(g)]
        cells.append(_f(row["test_mae"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def steps_table(data: dict) -> str:
    targets, gp = data["inputs"]["targets"], data.get("gp")
    header = ["t", "defects", "converged"] + [f"`{n}` sim / pred" + (" / GP ± sd" if gp else "") for n in targets]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for i, t in enumerate(data["t"]):
        cells = [f"{t:.2f}", f"{data['defect_fraction'][i]:.3f}", "yes" if data["converged"][i] else "**no**"]
        for n in targets:
            c = f"{data['simulated'][n][i]:.3f} / {data['predicted'][n][i]:.3f}"
            if gp:
                c += f" / {gp['mean'][n][i]:.3f} ± {gp['sd'][n][i]:.3f}"
            cells.append(c)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def reading(summary: dict, model: str) -> str:
    parts = []
    for name, row in summary["targets"].items():
        reg = row.get("regressor")
        if not reg:
            continue
        if reg["flat"]:
            parts.append(f"`{name}` hardly moves along the path (simulated range {_f(row['simulated_range'])} "
                         f"{row['unit']}); the {model} is off by {_f(reg['mae'])} on average")
            continue
        parts.append(f"the {model}'s `{name}` {_verdict(reg)} the simulation (r = {_f(reg['r'], 2)}, MAE "
                     f"{_f(reg['mae'])} {row['unit']} against a simulated range of {_f(row['simulated_range'])} "
                     f"{row['unit']}; its test MAE {_f(row['test_mae'])})")
    if not parts:
        return "No converged decoded chain: nothing to compare."
    return "Along the path, " + "; ".join(parts) + "."


def render(data: dict, out: Path) -> Path:
    inputs, summary = data["inputs"], data["summary"]
    gp = data.get("gp") is not None
    fields = {**inputs, "stem": out.stem, "summary_table": summary_table(summary, gp),
              "steps_table": steps_table(data), "reading": reading(summary, inputs["regressor_model"]),
              "gp_phrase": (f" and by the Gaussian process `{inputs['gp_model']}` (run `{inputs['gp_run']}`, ± its "
                            "predictive sd)") if gp else "",
              "ends": data["ends"], "repro": data["endpoint_reproduction"],
              "ends_fraction": [data["defect_fraction"][0], data["defect_fraction"][-1]],
              "original_fraction": data["original_defect_fraction"], "seconds": data["seconds_simulation"],
              "n_chains": len(data["t"]) + 2, "n_converged": summary["n_converged"], "n_steps": summary["n_steps"],
              "follow_r": FOLLOW_R, "follow_fraction": FOLLOW_FRACTION, "flat": FLAT}
    text = fill(template_sections("morphing.md")["report"], fields)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    return out
