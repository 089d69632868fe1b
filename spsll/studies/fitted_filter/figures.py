"""The fitted-filter study's figures: the per-point fit and its parametrisation, the held-out dispersions,
and the ensemble spectrum beyond k_cut."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spsll.studies.validation.figures import _save
from spsll.studies.validation.film_figures import _panels


def fit_figure(r: dict, path: Path) -> Path:
    """Per-point F0 and k_cut at the training points against the smooth fit, and the held-out points' own steps."""
    import matplotlib.pyplot as plt

    tr, ho = r["training"]["points"], r["heldout"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    s = np.array([p["point_nm"][0] for p in tr])
    t = np.array([p["point_nm"][1] for p in tr])
    a1.scatter(1 - s / (s + t), [p["F0"] for p in tr], c="k", label="training, per point")
    a1.scatter(1 - s / (s + t), r["training"]["residuals"]["F0_fit"], marker="x", c="C0", label="fit")
    hs = np.array([p[0] for p in ho["points_nm"]])
    ht = np.array([p[1] for p in ho["points_nm"]])
    a1.scatter(1 - hs / (hs + ht), [p["F0"] for p in ho["per_point"]], marker="s", facecolors="none",
               edgecolors="C3", label="held-out, per point")
    a1.axhline(1, color="0.6", lw=0.8)
    a1.set_xlabel("vacancy fraction 1 − φ")
    a1.set_ylabel("F0 (branch stiffness / ideal)")
    a1.legend(fontsize=8)
    sc = a2.scatter(s, [p["k_cut_rad_per_nm"] for p in tr], c=t, cmap="viridis", label="training, per point")
    a2.scatter(s, r["training"]["residuals"]["k_cut_fit_rad_per_nm"], marker="x", c=t, cmap="viridis", label="fit")
    a2.scatter(hs, [p["k_cut_rad_per_nm"] for p in ho["per_point"]], marker="s", facecolors="none", edgecolors="C3",
               label="held-out, per point")
    a2.scatter(hs, ho["k_cut_fit_rad_per_nm"], marker="+", c="C3", s=80, label="held-out, fit")
    a2.set_xscale("log")
    a2.set_yscale("log")
    a2.set_xlabel("σ (nm)")
    a2.set_ylabel("k_cut (rad/nm)")
    fig.colorbar(sc, ax=a2, label="τ (nm)")
    a2.legend(fontsize=8)
    return _save(fig, path)


def heldout_figure(r: dict, path: Path) -> Path:
    """Held-out dispersions: the fresh ensemble's peaks, spsll_fitted, spsll and the perfect film."""
    ho, k = r["heldout"], np.array(r["k_rad_per_nm"])
    n = len(ho["points_nm"])
    fig, axes = _panels(n)
    for j, ax in zip(range(n), axes, strict=False):
        ax.plot(k, ho["freq_ensemble_thz"][j], ".", ms=3, c="k", label="ensemble (fresh seeds)")
        for name, style in (("spsll_fitted", "C3-"), ("spsll", "C0--"), ("psll", "0.6")):
            ax.plot(k, ho[name]["freq_thz"][j], style, lw=1, label=name if name != "psll" else "perfect film")
        s, t = ho["points_nm"][j]
        ax.set_title(f"σ = {s:g}, τ = {t:g} nm: fitted MAE {ho['spsll_fitted']['mae_thz'][j]:.2f} THz", fontsize=9)
        ax.set_xlabel("k_x (rad/nm)")
        ax.set_ylabel("f (THz)")
    axes[0].legend(fontsize=7)
    return _save(fig, path)


def branch_figure(r: dict, spectrum: np.ndarray, df_thz: float, j: int, path: Path) -> Path:
    """The ensemble's amplitude spectrum at training point j, its per-point k_cut and the ideal branch."""
    import matplotlib.pyplot as plt

    p = r["training"]["points"][j]
    k = np.array(r["k_rad_per_nm"])
    f = np.arange(spectrum.shape[0]) * df_thz
    fig, ax = plt.subplots(figsize=(6.5, 4.2), constrained_layout=True)
    norm = spectrum / spectrum.max(axis=0, keepdims=True)
    ax.pcolormesh(k, f, norm, shading="nearest", cmap="magma")
    ax.plot(k, r["freq_ideal_thz"], "w--", lw=0.8, label="perfect film")
    ax.plot(k, p["freq_ensemble_thz"], "c.", ms=2, label="ensemble arg-max")
    for sign in (1, -1):
        ax.axvline(sign * p["k_cut_rad_per_nm"], color="w", lw=0.8)
    s, t = p["point_nm"]
    ax.set_title(f"ensemble spectrum, σ = {s:g}, τ = {t:g} nm (each column / its max); lines: k_cut", fontsize=9)
    ax.set_xlabel("k_x (rad/nm)")
    ax.set_ylabel("f (THz)")
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)
