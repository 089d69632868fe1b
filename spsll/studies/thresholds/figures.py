"""The threshold study's figures, drawn from its JSON numbers: per σ (and D), the ensemble's survival
probability over (τ, B) with the B_c(τ) of every reading on it, and the B_c(τ) curves side by side."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from spsll.studies.thresholds.compute import ENSEMBLE

STYLE = {"spsll": ("C0", "o"), "spsll_convolution": ("C1", "s"), "spsll_fitted": ("C2", "^")}


def _clip(values, lo: float, hi: float) -> np.ndarray:
    """B_c with ±inf drawn at the window's edges (the markers say which)."""
    return np.clip(np.asarray(values, dtype=float), lo, hi)


def _curve(ax, tau, entry, name: str, lo: float, hi: float, i: int) -> None:
    bc = np.asarray(entry["B_c_T"], dtype=float)
    y = _clip(bc, lo, hi)
    err = np.asarray(entry["half_bracket_T"], dtype=float)
    color, marker = STYLE.get(name, (f"C{3 + i}", "D"))
    ax.errorbar(tau, y, yerr=err, color=color, marker=marker, ms=4, lw=1.2, capsize=2, label=name)
    out = ~np.isfinite(bc)
    if out.any():  # beyond the window: hollow markers at the edge
        ax.plot(np.asarray(tau)[out], y[out], ls="none", marker=marker, ms=9, mfc="none", color=color)


def _ensemble(ax, tau, entry, lo: float, hi: float) -> None:
    med = _clip(entry["B_c_T"], lo, hi)
    band_lo, band_hi = _clip(entry["ci_lo_T"], lo, hi), _clip(entry["ci_hi_T"], lo, hi)
    ax.fill_between(tau, band_lo, band_hi, color="k", alpha=0.15, lw=0, label="ensemble: Wilson 95 % of p = ½")
    ax.plot(tau, med, color="k", marker="o", ms=4, lw=1.6, label="ensemble: p(B_c) = ½")
    out = ~np.isfinite(np.asarray(entry["B_c_T"], dtype=float))
    if out.any():
        ax.plot(np.asarray(tau)[out], med[out], ls="none", marker="o", ms=9, mfc="none", color="k")


def map_figure(m: dict, block: dict, title: str, path: Path) -> Path:
    """Left: the ensemble's survival probability over (τ, B) (filled contours, the p = ½ line), with the
    readings' B_c(τ) on it. Right: every B_c(τ) on one plot with its uncertainty."""
    import matplotlib.pyplot as plt

    lo, hi = m["field_min_T"], m["field_max_T"]
    tau = np.asarray(block["tau_nm"], dtype=float)
    fields = np.asarray(m["map_fields_T"], dtype=float)
    ens = block["readings"][ENSEMBLE]
    surv = np.asarray(ens["survival_map"], dtype=float).T  # (fields, tau)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    ax = axes[0]
    if tau.size > 1:
        cs = ax.contourf(tau, fields, surv, levels=np.linspace(0, 1, 11), cmap="viridis", vmin=0, vmax=1)
        ax.contour(tau, fields, surv, levels=[0.5], colors="w", linewidths=1.5)
        fig.colorbar(cs, ax=ax, label="ensemble survival probability")
    else:
        ax.scatter(np.repeat(tau, fields.size), fields, c=surv[:, 0], cmap="viridis", vmin=0, vmax=1)
    for i, (name, entry) in enumerate(block["readings"].items()):
        if name != ENSEMBLE:
            ax.plot(tau, _clip(entry["B_c_T"], lo, hi), color=STYLE.get(name, (f"C{3 + i}",))[0], lw=1.5, ls="--",
                    label=f"{name}: B_c")
    ax.set_xlabel("τ (nm)")
    ax.set_ylabel("B (T)")
    ax.set_ylim(lo, hi)
    ax.set_title(f"survival over (τ, B): {title}", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    ax = axes[1]
    _ensemble(ax, tau, ens, lo, hi)
    for i, (name, entry) in enumerate(block["readings"].items()):
        if name != ENSEMBLE:
            _curve(ax, tau, entry, name, lo, hi, i)
    ax.axhline(m["ideal"]["B_c_T"], color="0.5", ls=":", lw=1, label="ideal film (τ = 0)")
    ax.set_xlabel("τ (nm)")
    ax.set_ylabel("B_c (T)")
    ax.set_ylim(lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo))
    ax.set_title("collapse field B_c(τ); hollow: beyond the window", fontsize=9)
    secondary = ax.secondary_xaxis("top", functions=(lambda t: block["sigma_nm"] / (block["sigma_nm"] + t),
                                                     lambda p: block["sigma_nm"] * (1 - p) / np.maximum(p, 1e-9)))
    secondary.set_xlabel("φ", fontsize=8)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def figure_name(m: dict, block: dict) -> str:
    scale = "" if math.isclose(m["dmi_scale"], 1.0) else f"_D{m['dmi_scale']:g}"
    return f"survival_sigma{block['sigma_nm']:g}nm{scale}.png"


def write_figures(raw: dict, fig_dir: Path, prefix: str) -> list[str]:
    """Every (D, σ) map's figure in ``fig_dir``; their names."""
    fig_dir.mkdir(parents=True, exist_ok=True)
    names = []
    for m in raw["maps"]:
        for block in m["sigma"]:
            name = f"{prefix}_{figure_name(m, block)}"
            title = f"{raw['config']['material']}, σ = {block['sigma_nm']:g} nm, D = {m['D_J_per_m2'] * 1e3:.3g} mJ/m²"
            map_figure(m, block, title, fig_dir / name)
            names.append(name)
    return names
