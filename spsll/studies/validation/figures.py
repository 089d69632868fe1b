"""The validation's figures, drawn from its result (the numbers plus curves and profiles)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def _heat(ax, values, xs, ys, title, vmax, fmt="{:.2f}"):
    arr = np.asarray(values, dtype=float).reshape(len(xs), len(ys)).T  # rows τ, columns σ
    im = ax.imshow(arr, origin="lower", cmap="viridis", vmin=0, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(xs)), [f"{x:.3g}" for x in xs])
    ax.set_yticks(range(len(ys)), [f"{y:.3g}" for y in ys])
    ax.set_xlabel("σ (nm)")
    ax.set_ylabel("τ (nm)")
    ax.set_title(title, fontsize=9)
    for i in range(arr.shape[0]):
        for j in range(arr.shape[1]):
            v = arr[i, j]
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=7,
                    color="white" if v < 0.6 * vmax else "black")
    return im


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def dispersion_mae(d: dict, path: Path) -> Path:
    """MAE maps against the ensemble, whole zone and inner half."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(12, 6.6), constrained_layout=True)
    keys = ("spsll", "spsll_convolution", "ideal")
    titles = ("spsll (filter)", "spsll_convolution", "ideal psll (no defects)")
    vmax = max(max(d[f"mae_{k}_thz"]) for k in keys)
    for row, (pre, where) in enumerate((("mae_", "all k"), ("mae_inner_", "|k| ≤ π/2a"))):
        for ax, key, title in zip(axes[row], keys, titles, strict=True):
            im = _heat(ax, d[f"{pre}{key}_thz"], d["sigma_nm"], d["tau_nm"], f"MAE vs ensemble, {where}: {title}",
                       vmax)
    fig.colorbar(im, ax=axes, shrink=0.8, label="MAE (THz)")
    return _save(fig, path)


def dispersion_examples(d: dict, path: Path) -> Path:
    """The four dispersions at the grid's corners."""
    import matplotlib.pyplot as plt

    k = np.asarray(d["k_rad_per_nm"])
    n_s, n_t = len(d["sigma_nm"]), len(d["tau_nm"])
    corners = sorted({0, n_t - 1, (n_s - 1) * n_t, n_s * n_t - 1})
    fig, axes = plt.subplots(1, len(corners), figsize=(4 * len(corners), 3.4), constrained_layout=True,
                             squeeze=False)
    for ax, j in zip(axes[0], corners, strict=True):
        ax.plot(k, d["freq_ideal_thz"], color="0.6", lw=1, ls=":", label="ideal (psll)")
        ax.plot(k, d["freq_spsll_thz"][j], color="C0", lw=1.2, label="spsll")
        ax.plot(k, d["freq_spsll_convolution_thz"][j], color="C1", lw=1.2, label="spsll_convolution")
        ax.plot(k, d["freq_ensemble_thz"][j], color="k", lw=1.0, label="ensemble (explicit)")
        ax.set_title(f"σ = {d['sigma_grid_nm'][j]:.3g} nm, τ = {d['tau_grid_nm'][j]:.3g} nm", fontsize=9)
        ax.set_xlabel("k (rad/nm)")
        ax.set_ylabel("f (THz)")
    axes[0][0].legend(fontsize=7)
    return _save(fig, path)


def ensemble_spectrum(d: dict, path: Path) -> Path:
    """The averaged ensemble spectrum of one point, with the picked peaks."""
    import matplotlib.pyplot as plt

    k = np.asarray(d["k_rad_per_nm"])
    j = d["spectrum_point"]
    spec = d["_spectrum"].numpy()
    f = np.asarray(d["spectrum_f_thz"])
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    ax.pcolormesh(k, f, np.log10(spec + spec.max() * 1e-6), shading="auto", cmap="magma")
    ax.plot(k, d["freq_ensemble_thz"][j], color="w", lw=0.8, ls="--", label="ensemble peak")
    ax.plot(k, d["freq_spsll_thz"][j], color="C0", lw=0.8, label="spsll")
    ax.plot(k, d["freq_spsll_convolution_thz"][j], color="C1", lw=0.8, label="spsll_convolution")
    ax.set_xlabel("k (rad/nm)")
    ax.set_ylabel("f (THz)")
    ax.set_title(f"ensemble-averaged √⟨|m_x(k,f)|²⟩ (log), σ = {d['sigma_grid_nm'][j]:.3g} nm, "
                 f"τ = {d['tau_grid_nm'][j]:.3g} nm", fontsize=8)
    ax.legend(fontsize=7, loc="upper center")
    return _save(fig, path)


def wall_widths(w: dict, path: Path) -> Path:
    """Width error maps (all walls, unpinned walls) and the widths against φ."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(13, 6.4), constrained_layout=True)
    gs = fig.add_gridspec(2, 3)
    errs = [abs(v) for key in ("err_spsll_nm", "err_spsll_convolution_nm", "err_unpinned_spsll_nm",
                               "err_unpinned_spsll_convolution_nm") for v in w[key] if not math.isnan(v)]
    vmax = max(errs + [1e-3])
    for row, (pre, what) in enumerate((("err_", "all walls"), ("err_unpinned_", "unpinned walls"))):
        for col, (name, label) in enumerate((("spsll", "spsll"), ("spsll_convolution", "convolution"))):
            ax = fig.add_subplot(gs[row, col])
            im = _heat(ax, [abs(v) for v in w[f"{pre}{name}_nm"]], w["sigma_nm"], w["tau_nm"],
                       f"|w({label}) − w(ensemble, {what})| (nm)", vmax)
    fig.colorbar(im, ax=fig.axes, shrink=0.8, location="left", label="width error (nm)")
    ax = fig.add_subplot(gs[:, 2])
    phi = np.asarray(w["phi"])
    ax.errorbar(phi, w["width_ensemble_nm"], yerr=w["width_err_ensemble_nm"], fmt="o", color="k", ms=4,
                label="ensemble, all walls")
    ax.plot(phi, w["width_unpinned_ensemble_nm"], "s", mfc="none", color="k", ms=6, label="ensemble, unpinned")
    ax.plot(phi, w["width_spsll_nm"], "^", color="C0", label="spsll")
    ax.plot(phi, w["width_spsll_convolution_nm"], "v", color="C1", label="spsll_convolution")
    ax.axhline(w["width_ideal_nm"], color="0.5", ls=":", label="ideal")
    ax.set_yscale("log")
    ax.set_xlabel("φ = σ/(σ+τ)")
    ax.set_ylabel("width, cosine series (nm)")
    ax.legend(fontsize=7)
    return _save(fig, path)


def wall_profiles(w: dict, path: Path) -> Path:
    """The profiles of the point nearest σ = 34 nm, τ = 10 nm."""
    import matplotlib.pyplot as plt

    j = int(np.argmin((np.asarray(w["sigma_grid_nm"]) - 34) ** 2 + (np.asarray(w["tau_grid_nm"]) - 10) ** 2))
    x = np.asarray(w["x_nm"])
    fig, ax = plt.subplots(figsize=(6, 3.6), constrained_layout=True)
    ax.plot(x, w["mz_ideal"], color="0.5", ls=":", label="ideal")
    ax.plot(x, w["mz_spsll"][j], color="C0", label="spsll")
    ax.plot(x, w["mz_spsll_convolution"][j], color="C1", label="spsll_convolution")
    ax.plot(x, w["mz_ensemble"][j], color="k", lw=1.2, label="ensemble mean (aligned walls)")
    ax.set_xlim(-10, 10)
    ax.set_xlabel("x (nm)")
    ax.set_ylabel("m_z")
    ax.set_title(f"σ = {w['sigma_grid_nm'][j]:.3g} nm, τ = {w['tau_grid_nm'][j]:.3g} nm", fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)


def write_figures(result: dict, fig_dir: Path) -> list[Path]:
    """The five figures of the report into ``fig_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    fig_dir.mkdir(parents=True, exist_ok=True)
    d, w = result["dispersion"], result["walls"]
    return [dispersion_mae(d, fig_dir / "dispersion_mae.png"),
            dispersion_examples(d, fig_dir / "dispersion_examples.png"),
            ensemble_spectrum(d, fig_dir / "dispersion_ensemble_spectrum.png"),
            wall_widths(w, fig_dir / "wall_widths.png"),
            wall_profiles(w, fig_dir / "wall_profiles.png")]
