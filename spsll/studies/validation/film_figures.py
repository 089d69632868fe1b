"""The film validation's figures, drawn from its result (numbers, curves and the one stored spectrum)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from spsll.studies.validation.compute import DISP_TOL_THZ
from spsll.studies.validation.figures import _save


def _title(d: dict, j: int) -> str:
    return (f"σ = {d['sigma_grid_nm'][j]:.3g}, τ = {d['tau_grid_nm'][j]:.3g} nm (φ = {d['phi'][j]:.2f}, "
            f"T = {d['T_nm'][j]:.2f} nm)")


def _panels(n: int):
    import matplotlib.pyplot as plt

    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.5 * rows), constrained_layout=True, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def film_dispersions(d: dict, path: Path) -> Path:
    """Per point: the ideal curve, the ensemble's peaks and each reading at each box height."""
    k = np.asarray(d["k_rad_per_nm"])
    n = len(d["phi"])
    fig, axes = _panels(n)
    for j, ax in zip(range(n), axes, strict=False):
        ax.plot(k, d["freq_ideal_thz"], color="0.6", lw=1, ls=":", label="ideal (psll)")
        for i, rows in enumerate(d["reading_rows"]):
            ax.plot(k, d["spsll"][str(rows)]["freq_thz"][j], color=f"C{i}", lw=1, label=f"spsll, M = {rows}")
        for i, rows in enumerate(d["convolution_rows"]):
            ax.plot(k, d["spsll_convolution"][str(rows)]["freq_thz"][j], color=f"C{i + 5}", lw=1, ls="--",
                    label=f"convolution, M = {rows}")
        ax.plot(k, d["freq_ensemble_thz"][j], color="k", lw=1, label=f"ensemble, M = {d['n_rows']}")
        ax.set_title(_title(d, j), fontsize=8)
        ax.set_xlabel("k_x (rad/nm)")
        ax.set_ylabel("f (THz)")
    axes[0].legend(fontsize=6)
    return _save(fig, path)


def _nan(values) -> np.ndarray:
    return np.asarray([math.nan if v is None else v for v in values], dtype=float)


def effective_filter(d: dict, path: Path) -> Path:
    """Per point: F_eff(k_x) of the ensemble (± the half-difference of the two halves) against the
    reading's F_M at each box height and the infinite box's φ."""
    k = np.asarray(d["k_rad_per_nm"])
    n = len(d["phi"])
    fig, axes = _panels(n)
    for j, ax in zip(range(n), axes, strict=False):
        F, err = _nan(d["F_eff"][j]), _nan(d["F_eff_noise"][j])
        ax.fill_between(k, F - err, F + err, color="0.8", lw=0)
        ax.plot(k, F, color="k", lw=1, label="F_eff (ensemble)")
        for i, rows in enumerate(d["reading_rows"]):
            ax.plot(k, d["spsll"][str(rows)]["filter"][j], color=f"C{i}", lw=1, label=f"φ + √P_cont, M = {rows}")
        ax.axhline(d["phi"][j], color="0.4", ls="--", lw=0.8, label="φ (M → ∞)")
        kc = d["k_cut_rad_per_nm"][j]
        if kc is not None and not math.isnan(kc):
            for x in (-kc, kc):
                ax.axvline(x, color="r", lw=0.6, ls=":")
        ax.set_ylim(0, 1.3)
        ax.set_title(_title(d, j), fontsize=8)
        ax.set_xlabel("k_x (rad/nm)")
        ax.set_ylabel("filter")
    axes[0].legend(fontsize=6)
    return _save(fig, path)


def box_scan(d: dict, path: Path) -> Path:
    """The closed-form spsll's inner-half MAE against the ensemble versus the box height M."""
    import matplotlib.pyplot as plt

    sc = d["scan"]
    rows = [r for r in sc["rows"] if r != "inf"]
    fig, ax = plt.subplots(figsize=(6.5, 4), constrained_layout=True)
    for j in range(len(d["phi"])):
        mae = sc["mae_inner_thz"][j]
        line, = ax.plot(rows, mae[: len(rows)], lw=1, marker=".", label=_title(d, j))
        ax.plot([rows[-1] * 4], [mae[-1]], marker="*", color=line.get_color())
        thr = max(DISP_TOL_THZ, 3 * d["ensemble_noise_inner_thz"][j])
        ax.plot([rows[0], rows[-1] * 4], [thr, thr], color=line.get_color(), lw=0.6, ls=":")
    ax.axvline(d["n_rows"], color="k", lw=0.6, ls="--")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(f"box height M (cells; N = {d['n_cells']}; ★: M → ∞, F = φ; dashed: the ensemble's box)")
    ax.set_ylabel("MAE |k| ≤ π/2a vs ensemble (THz)")
    ax.set_title("closed-form spsll, f_gap + X0[1 − cos k a] F_M(k); dotted: max(0.1 THz, 3 × noise)", fontsize=8)
    ax.legend(fontsize=6)
    return _save(fig, path)


def ensemble_spectrum(d: dict, path: Path) -> Path:
    """The averaged ensemble spectrum of one point, with the picked peaks and the readings."""
    import matplotlib.pyplot as plt

    k = np.asarray(d["k_rad_per_nm"])
    j = d["spectrum_point"]
    spec = d["_spectrum"].numpy()
    f = np.asarray(d["spectrum_f_thz"])
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    ax.pcolormesh(k, f, np.log10(spec + spec.max() * 1e-6), shading="auto", cmap="magma")
    ax.plot(k, d["freq_ensemble_thz"][j], color="w", lw=0.8, ls="--", label="ensemble peak")
    rows = d["reading_rows"][0]
    ax.plot(k, d["spsll"][str(rows)]["freq_thz"][j], color="C0", lw=0.8, label=f"spsll, M = {rows}")
    ax.plot(k, d["freq_ideal_thz"], color="0.7", lw=0.8, ls=":", label="ideal")
    ax.set_xlabel("k_x (rad/nm)")
    ax.set_ylabel("f (THz)")
    ax.set_title(f"film ensemble √⟨|m_x(k_x,f)|²⟩ (log, rows and realisations), {_title(d, j)}", fontsize=7)
    ax.legend(fontsize=7, loc="upper center")
    return _save(fig, path)


def film_walls(w: dict, path: Path) -> Path:
    """Widths against φ: the ensemble (all walls, unpinned, per-row spread) and spsll per box height."""
    import matplotlib.pyplot as plt

    phi = np.asarray(w["phi"])
    fig, ax = plt.subplots(figsize=(6.5, 4.2), constrained_layout=True)
    ax.errorbar(phi, w["width_ensemble_nm"], yerr=w["width_err_ensemble_nm"], fmt="o", color="k", ms=4,
                label="ensemble, row-averaged profile (cos. series)")
    ax.errorbar(phi + 0.004, _nan(w["row_width_mean_ensemble_nm"]), yerr=_nan(w["row_width_std_ensemble_nm"]),
                fmt="s", mfc="none", color="0.4", ms=4, label="ensemble, per-row widths (mean ± std)")
    ax.plot(phi, _nan(w["width_unpinned_ensemble_nm"]), "D", mfc="none", color="k", ms=5, label="ensemble, unpinned")
    for i, rows in enumerate(w["reading_rows"]):
        ax.plot(phi, w["spsll"][str(rows)]["width_nm"], "^", color=f"C{i}", label=f"spsll, M = {rows}")
    ax.axhline(w["width_ideal_nm"], color="0.5", ls=":", label="ideal")
    ax.set_xlabel("φ = σ/(σ+τ)")
    ax.set_ylabel("width (nm)")
    ax.legend(fontsize=6)
    return _save(fig, path)


def write_film_figures(result: dict, fig_dir: Path) -> list[Path]:
    """The report's figures into ``fig_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    fig_dir.mkdir(parents=True, exist_ok=True)
    d, w = result["dispersion"], result.get("walls")
    paths = [film_dispersions(d, fig_dir / "dispersions.png"), effective_filter(d, fig_dir / "effective_filter.png"),
             box_scan(d, fig_dir / "box_scan.png"), ensemble_spectrum(d, fig_dir / "ensemble_spectrum.png")]
    if w:
        paths.append(film_walls(w, fig_dir / "walls.png"))
    return paths
