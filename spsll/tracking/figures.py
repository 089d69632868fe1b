"""Figures logged with a run: error histograms, predicted vs true, per-k MAE (edge units)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def error_histograms(pred: np.ndarray, true: np.ndarray, names: list[str], units: list[str]) -> Figure:
    """One histogram of prediction − truth per target, with mean and standard deviation."""
    fig = Figure(figsize=(4.2 * len(names), 3.4))
    for i, (name, unit) in enumerate(zip(names, units, strict=False)):
        ax = fig.add_subplot(1, len(names), i + 1)
        err = pred[:, i] - true[:, i]
        ax.hist(err, bins=40, color="C0", alpha=0.85)
        ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel(f"{name} error ({unit})" if unit else f"{name} error")
        ax.set_ylabel("count")
        ax.set_title(f"mean {err.mean():.3g}, std {err.std():.3g}", fontsize=9)
    fig.tight_layout()
    return fig


def predicted_vs_true(pred: np.ndarray, true: np.ndarray, names: list[str], units: list[str]) -> Figure:
    fig = Figure(figsize=(4.0 * len(names), 3.8))
    for i, (name, unit) in enumerate(zip(names, units, strict=False)):
        ax = fig.add_subplot(1, len(names), i + 1)
        ax.scatter(true[:, i], pred[:, i], s=6, alpha=0.6)
        lo, hi = float(min(true[:, i].min(), pred[:, i].min())), float(max(true[:, i].max(), pred[:, i].max()))
        ax.plot([lo, hi], [lo, hi], "r--", lw=1)
        u = f" ({unit})" if unit else ""
        ax.set_xlabel(f"true {name}{u}")
        ax.set_ylabel(f"predicted {name}{u}")
    fig.tight_layout()
    return fig


def mae_per_k(k_rad_per_nm: np.ndarray, mae_thz: np.ndarray, split: str = "validation") -> Figure:
    fig = Figure(figsize=(5.5, 3.6))
    ax = fig.add_subplot()
    ax.plot(k_rad_per_nm, mae_thz)
    ax.axhline(0.1, color="r", ls="--", lw=1, label="one frequency bin (0.1 THz)")
    ax.set_xlabel("k (rad/nm)")
    ax.set_ylabel(f"{split} MAE (THz)")
    ax.legend()
    fig.tight_layout()
    return fig


def dispersion_examples(k_rad_per_nm, pred_thz, true_thz, labels) -> Figure:
    fig = Figure(figsize=(5.5, 4.0))
    ax = fig.add_subplot()
    for i, lab in enumerate(labels):
        ax.plot(k_rad_per_nm, true_thz[i], color=f"C{i}", lw=2, alpha=0.5, label=f"SPS-LL {lab}")
        ax.plot(k_rad_per_nm, pred_thz[i], color=f"C{i}", ls="--", lw=1.2, label="predicted")
    ax.set_xlabel("k (rad/nm)")
    ax.set_ylabel("f (THz)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def width_over_T(T_nm, width_true_nm, width_pred_nm) -> Figure:
    """Actual and closed-loop predicted widths against the defect density T (paper Fig. 5a)."""
    fig = Figure(figsize=(5.5, 4.0))
    ax = fig.add_subplot()
    ax.scatter(T_nm, width_true_nm, s=6, color="C0", alpha=0.6, label="SPS-LL (actual)")
    ax.scatter(T_nm, width_pred_nm, s=6, color="C3", alpha=0.6, label="relaxed at predicted (σ, τ)")
    ax.set_xlabel("defect density T (nm)")
    ax.set_ylabel("wall width w (nm)")
    ax.legend()
    fig.tight_layout()
    return fig


def loss_curves(history: dict[str, list[tuple[int, float]]], title: str = "") -> Figure:
    """Train and validation loss per epoch (paper Fig. 3c, 5c), log scale."""
    fig = Figure(figsize=(5.5, 3.8))
    ax = fig.add_subplot()
    for name, points in history.items():
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], label=name)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (normalised units)")
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    return fig


def reliability(z: dict[str, np.ndarray], scales: dict[str, float] | None = None, title: str = "") -> Figure:
    """Observed coverage of central Gaussian intervals against their nominal level, per quantity:
    on the diagonal = calibrated, below = over-confident. ``z`` = |error| / stated sd; dashed lines
    after dividing by the validation-fitted ``scales``."""
    from statistics import NormalDist

    nominal = np.linspace(0.02, 0.99, 60)
    half_width = np.array([NormalDist().inv_cdf(0.5 + p / 2) for p in nominal])
    fig = Figure(figsize=(4.6, 4.2))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="0.6", lw=0.8)
    for i, (name, v) in enumerate(z.items()):
        label = {"sigma": "σ", "tau": "τ", "phi": "φ"}.get(name, name)
        ax.plot(nominal, (v[:, None] <= half_width).mean(0), color=f"C{i}", label=label)
        if scales:
            ax.plot(nominal, ((v / scales[name])[:, None] <= half_width).mean(0), color=f"C{i}", ls="--")
    ax.set_xlabel("nominal coverage")
    ax.set_ylabel("observed coverage (test split)")
    ax.set_title(title + (" (dashed: validation-calibrated)" if scales else ""), fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
