"""The identifiability study's figures: the Cramér–Rao maps and the observables along the lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from spsll.studies.identifiability.compute import (
    NOISE_HZ,
    PHI_LINE,
    T_LINE_M,
    IdentifiabilityMap,
    LineCurves,
    Setup,
    phi_T,
)
from spsll.units import GHZ, NM, THZ

LINE_TITLE = {"phi": f"constant φ = {PHI_LINE:g}", "T": f"constant T = {T_LINE_M / NM:g} nm"}


def _contours(ax, box_nm, label: bool):
    """Constant-φ (white) and constant-T (black dashed) lines, drawn from the formulas on a fine grid."""
    (s_lo, s_hi), (t_lo, t_hi) = box_nm
    sig_nm, tau_nm = np.meshgrid(np.linspace(s_lo, s_hi, 300), np.linspace(t_lo, t_hi, 300))
    phi, T = phi_T(sig_nm, tau_nm)
    cs = ax.contour(sig_nm, tau_nm, phi, levels=[0.3, 0.5, 0.7, 0.8, 0.9, 0.95], colors="w", linewidths=0.8)
    ct = ax.contour(sig_nm, tau_nm, T, levels=[1, 2, 3, 5, 8, 12], colors="k", linewidths=0.8, linestyles="--")
    if label:
        ax.clabel(cs, fmt="φ=%.2g", fontsize=7)
        ax.clabel(ct, fmt="T=%g nm", fontsize=7)


def _segments(ax, sig_nm, tau_nm, direction, box_nm, half_length=0.025):
    """Short red segments along ``direction`` (data space), of equal length in axes fraction."""
    from matplotlib.collections import LineCollection

    span = np.array([np.ptp(box_nm[0]), np.ptp(box_nm[1])])
    d = direction / span  # to axes fractions
    d = d / np.linalg.norm(d, axis=-1, keepdims=True) * half_length * span  # back to data units
    centre = np.stack([sig_nm, tau_nm], -1)
    ax.add_collection(LineCollection(np.stack([centre - d, centre + d], -2).reshape(-1, 2, 2), colors="r", lw=1.5))


def map_figure(m: IdentifiabilityMap, path: Path):
    """The summary observable, the best/worst ratio with the sloppy directions, and the four CRB stds."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    sig_nm, tau_nm = m.sigma / NM, m.tau / NM
    is_disp = m.kind == "dispersion"
    box_nm = tuple((lo / NM, hi / NM) for lo, hi in m.box)
    panels = [
        (m.summary / (THZ if is_disp else NM), "f(π/a) (THz)" if is_disp else "wall width w (nm)", None),
        (m.crb["stiffness_ratio"], "best / worst determined combination", LogNorm()),
        (m.crb["std_sigma"] / NM, "CRB std σ (nm)", LogNorm()),
        (m.crb["std_tau"] / NM, "CRB std τ (nm)", LogNorm()),
        (m.crb["std_phi"], "CRB std φ", LogNorm()),
        (m.crb["std_T"] / NM, "CRB std T (nm)", LogNorm()),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.4), layout="constrained")
    for i, (ax, (val, title, norm)) in enumerate(zip(axes.flat, panels, strict=True)):
        im = ax.pcolormesh(sig_nm, tau_nm, val, shading="nearest", norm=norm, cmap="viridis")
        fig.colorbar(im, ax=ax)
        _contours(ax, box_nm, label=i in (0, 1))
        ax.set(title=title, xlabel="σ (nm)", ylabel="τ (nm)", xlim=box_nm[0], ylim=box_nm[1])
    step = max(1, sig_nm.shape[0] // 10)
    sub = (slice(None, None, step), slice(None, None, step))
    _segments(axes.flat[1], sig_nm[sub], tau_nm[sub], m.crb["sloppy"][sub], box_nm)
    axes.flat[1].set_title("best / worst determined combination\n(red: the worst-determined direction)")
    noise = "1 GHz per k" if is_disp else "1e-3 per m_z cell, 1e-3 nm on w"
    fig.suptitle(f"{'Dispersion' if is_disp else 'Domain wall'}: Cramér–Rao bounds, noise {noise} "
                 "(white: constant φ, black dashed: constant T)")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def dispersion_lines_figure(setup: Setup, curves: LineCurves, path: Path):
    """f(k ≥ 0) along both lines (top) and its difference to the middle curve, with the noise band."""
    import matplotlib.pyplot as plt

    k = setup.k
    pos = k >= 0
    k_nm = (k[pos] * NM).numpy()
    ideal = setup.material.ideal_frequency(k[pos]).numpy()
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), layout="constrained", sharex=True)
    for j, key in enumerate(("phi", "T")):
        f, sig, taus = curves.freq[key], curves.sigma_disp[key], curves.tau_disp[key]
        n = len(f)
        axes[0, j].plot(k_nm, ideal / THZ, "k--", lw=1, label="ideal (τ = 0)")
        for i in range(n):
            axes[0, j].plot(k_nm, f[i] / THZ, label=f"σ = {sig[i] / NM:.3g}, τ = {taus[i] / NM:.3g} nm")
            axes[1, j].plot(k_nm, (f[i] - f[n // 2]) / GHZ)
        axes[1, j].axhspan(-NOISE_HZ / GHZ, NOISE_HZ / GHZ, color="0.8", label="±1 GHz noise")
        axes[0, j].set(title=LINE_TITLE[key], ylabel="f (THz)")
        axes[1, j].set(xlabel="k (rad/nm)", ylabel="f − f(middle curve) (GHz)")
        axes[0, j].legend(fontsize=8)
        axes[1, j].legend(fontsize=8, loc="upper left")
    fig.suptitle(f"Dispersion ({setup.solver.name}, closed form) along a constant-φ ray and a constant-T hyperbola")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def wall_lines_figure(setup: Setup, curves: LineCurves, path: Path):
    """Relaxed m_z(x) along both lines, and the width along both (16 points each)."""
    import matplotlib.pyplot as plt

    n = len(curves.sigma_wall["phi"])
    x_nm = (torch.arange(setup.walls.n_cells, dtype=torch.float64) + 0.5 - setup.walls.n_cells / 2).numpy() \
        * setup.material.a / NM
    mz, width = curves.mz, curves.width
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), layout="constrained")
    for j, key in enumerate(("phi", "T")):
        sig, taus = curves.sigma_wall[key], curves.tau_wall[key]
        for i in range(n):
            r = j * n + i
            axes[j].plot(x_nm, mz[r], ".-", ms=3, label=f"σ = {sig[i] / NM:.3g}, τ = {taus[i] / NM:.3g} nm,"
                         f" w = {width[r] / NM:.3f} nm")
        axes[j].set(xlim=(-6, 6), xlabel="x (nm)", ylabel="m_z", title=LINE_TITLE[key])
        axes[j].legend(fontsize=8, loc="upper left")
        w = width[2 * n + 16 * j : 2 * n + 16 * (j + 1)]
        axes[2].plot(curves.dense_sigma[key] / NM, w / NM, "o-", label=axes[j].get_title())
    axes[2].set(xscale="log", xlabel="σ (nm) along the line", ylabel="width w (nm)", title="wall width along the lines")
    axes[2].legend(fontsize=9)
    fig.suptitle(f"Relaxed domain walls ({setup.solver.name}) along a constant-φ ray and a constant-T hyperbola")
    fig.savefig(path, dpi=100)
    plt.close(fig)
