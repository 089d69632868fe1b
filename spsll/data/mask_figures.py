"""Summary figures of the microstructure and hysteresis datasets, written next to the file by ``generate.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from spsll.figures import physics as plots


def mask_figures(data: dict, out_dir: Path, n_examples: int = 4) -> list[Path]:
    """Example masks (and their curves), and the hand features (or H_c) over (σ, τ)."""
    n = len(data["sigma_nm"])
    idx = np.linspace(0, n - 1, min(n_examples, n)).astype(int)
    fig = Figure(figsize=(6.5, 1.0 + 0.6 * len(idx)), layout="constrained")
    ax = fig.add_subplot()
    x = data["x_nm"]
    for row, i in enumerate(idx):
        ax.fill_between(x, row, row + 0.8 * data["defect_mask"][i], step="mid", lw=0)
    names = [f"σ={data['sigma_nm'][i]:.1f}, τ={data['tau_nm'][i]:.2f} nm" for i in idx]
    ax.set_yticks(np.arange(len(idx)) + 0.4, names)
    ax.set_xlabel("x (nm); filled: defect cells")
    written = [plots.save(fig, out_dir / "masks.png")]
    if "M_over_Ms" in data:
        fig = Figure(figsize=(5.5, 4.0), layout="constrained")
        ax = fig.add_subplot()
        for i in idx:
            ax.plot(data["H_HK"], data["M_over_Ms"][i], lw=1.2, label=f"σ={data['sigma_nm'][i]:.1f}, "
                    f"τ={data['tau_nm'][i]:.2f} nm")
        ax.set_xlabel("reverse field H / H_K")
        ax.set_ylabel("M / Ms")
        ax.legend(fontsize=7)
        written.append(plots.save(fig, out_dir / "curves.png"))
        colour, label, name = data["coercivity_HK"], "coercivity H_c / H_K", "coercivity_over_sigma_tau.png"
    else:
        colour, label, name = data["longest_defect_run_nm"], "longest defect run (nm)", "features_over_sigma_tau.png"
    fig = Figure(figsize=(5.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    sc = ax.scatter(data["sigma_nm"], data["tau_nm"], c=colour, s=6, cmap="viridis")
    fig.colorbar(sc, ax=ax, label=label)
    ax.set_xlabel("σ (nm)")
    ax.set_ylabel("τ (nm)")
    ax.set_title(f"{n} samples")
    written.append(plots.save(fig, out_dir / name))
    return written
