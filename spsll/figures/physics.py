"""Figures of the paper's Fig. 1 b–f from already-computed data (matplotlib, no pyplot state).

Every function takes SI data (σ, τ, x in m; k in rad/m; f in Hz) or, where the name says so, data
already in nm, converts to nm / THz / rad/nm only for drawing, and returns a
:class:`matplotlib.figure.Figure` built directly (no global pyplot figure manager, so it is safe in
scripts, tests and worker processes; saving uses the Agg canvas). :func:`save` writes a PNG.

* :func:`plot_rtn_spectrum` — Fig. 1b: continuous part of the RTN spectrum S(k), Eq. 3, over k × τ.
* :func:`plot_dispersion_spectrum` — Fig. 1c/d: 2D |FFT| over k × f with the analytic Eq. 6 curve.
* :func:`plot_wall_profiles` — Fig. 1e: m_z(x) of relaxed domain walls.
* :func:`plot_width_surface` — Fig. 1f: domain-wall width over (σ, τ).
* :func:`plot_dispersion_curves` — picked dispersions overlaid on the analytic curve (reports).

Only the S(k) panel evaluates anything physical (the analytic spectrum); nothing here simulates.
The module is ~350 lines because the five panels of one figure share their input checks, colour
scales and saving; split, each part would re-import the same dozen helpers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure

from spsll.physics.defects.rtn import continuous_spectrum
from spsll.physics.material import Material
from spsll.physics.measure.dispersion import DispersionResult

__all__ = [
    "plot_dispersion_curves",
    "plot_dispersion_spectrum",
    "plot_rtn_spectrum",
    "plot_wall_profiles",
    "plot_width_surface",
    "save",
]

NM = 1e-9
THZ = 1e12
DPI = 150

# paper Fig. 1e: ideal wall blue, defective wall red; further curves take the default cycle
_CURVE_COLORS = ("tab:blue", "tab:red", "tab:green", "tab:orange", "tab:purple", "tab:brown")
# dispersion overlays: no red, which is the analytic curve's colour
_DISPERSION_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:gray")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _np(name: str, value, ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
    """A float64 numpy copy of a tensor / array / sequence, with an optional ndim check."""
    if isinstance(value, torch.Tensor):
        arr = value.detach().to("cpu", torch.float64).numpy()
    else:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be numeric, got {type(value).__name__}") from err
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimension(s), "
                             f"got shape {arr.shape}")
    return arr


def _one_row(name: str, value, shape: tuple, axis: str) -> np.ndarray:
    """``value`` as one row of ``shape`` (a (1, n) array is accepted), or a ValueError naming it."""
    row = _np(name, value, ndim=(1, 2))
    if row.ndim == 2:
        if row.shape[0] != 1:
            raise ValueError(f"{name} must be one row, got shape {row.shape}")
        row = row[0]
    if row.shape != shape:
        raise ValueError(f"{name} has shape {row.shape}, {axis} has {shape}")
    return row


def _panel_of_rows(axis_name: str, axis, rows, kind: str, what: str, colors, default_colors):
    """One panel for labelled rows over an axis: (axis values, colours, figure, axes, [(label, row)]),
    every row checked against the axis first."""
    xs = _np(axis_name, axis, ndim=1)
    if not rows:
        raise ValueError(f"{kind}s is empty: give at least one label → {what}")
    fig = _new_figure((6.0, 4.2))
    checked = [(label, _one_row(f"{kind} {label!r}", v, xs.shape, axis_name)) for label, v in rows.items()]
    return xs, tuple(colors) if colors else default_colors, fig, fig.add_subplot(), checked


def _new_figure(figsize=(6.0, 4.5)) -> Figure:
    return Figure(figsize=figsize, layout="constrained")


def _log_norm(values: np.ndarray, dynamic_range: float) -> LogNorm:
    """LogNorm from max/dynamic_range to the max of the finite positive values."""
    finite = values[np.isfinite(values) & (values > 0)]
    if finite.size == 0:
        raise ValueError("nothing positive to draw on a log colour scale")
    vmax = float(finite.max())
    return LogNorm(vmin=vmax / dynamic_range, vmax=vmax, clip=True)


def _cmap(name: str):
    """A copy of a registered colour map whose 'bad' (masked, e.g. log of 0) colour is its lowest."""
    from matplotlib import colormaps

    cmap = colormaps[name]
    return cmap.with_extremes(bad=cmap(0.0), under=cmap(0.0))


def save(fig: Figure, path: str | Path, *, dpi: int = DPI) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix, PNG by default), creating parent dirs."""
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


# --------------------------------------------------------------------------------------------
# Fig. 1b: RTN spectrum
# --------------------------------------------------------------------------------------------
def plot_rtn_spectrum(material_or_cell_size: Material | float, sigma: float, taus, k=None, *,
                      n_k: int = 501, log: bool = True, dynamic_range: float = 1e4,
                      cmap: str = "viridis", title: str | None = None) -> Figure:
    """Fig. 1b: continuous part of S(k), Eq. 3, over k (rad/nm) × τ (nm) for a fixed σ.

    The δ(k) term, of weight (σ/(σ+τ))², is not drawn (it is a single line at k = 0); only the
    Lorentzian (1/π) στ/(σ+τ)² T/(1 + (kT)²) is, in nm/rad. The τ = 0 row is therefore 0 (the
    perfect material is the δ alone) and shows in the lowest colour.

    Args:
        material_or_cell_size: a :class:`Material` (its lattice constant ``a``) or a cell size in m;
            sets the default k range, the first Brillouin zone [−π/a, π/a].
        sigma: mean material length σ (m), a scalar.
        taus: mean vacancy lengths τ (m), shape (T,), ascending.
        k: wavenumbers (rad/m), shape (K,); default ``n_k`` points over the first Brillouin zone.
        log: logarithmic colour scale over ``dynamic_range`` decades below the maximum.
    """
    a = material_or_cell_size.a if isinstance(material_or_cell_size, Material) else material_or_cell_size
    a = float(a)
    if not (math.isfinite(a) and a > 0):
        raise ValueError(f"cell size must be > 0 (m), got {a}")
    sigma_arr = _np("sigma", sigma)
    if sigma_arr.size != 1:
        raise ValueError(f"sigma must be a scalar (m), got shape {sigma_arr.shape}")
    s = float(sigma_arr.reshape(()))
    t = _np("taus", taus, ndim=1)
    if t.size < 2:
        raise ValueError("taus needs at least two values")
    if k is None:
        kk = np.linspace(-math.pi / a, math.pi / a, int(n_k))
    else:
        kk = _np("k", k, ndim=1)
        if kk.size < 2:
            raise ValueError("k needs at least two values")
    S = continuous_spectrum(torch.as_tensor(kk), torch.full((t.size,), s, dtype=torch.float64),
                            torch.as_tensor(t)).numpy() / NM  # m/rad → nm/rad, shape (T, K)

    fig = _new_figure((6.4, 4.6))
    ax = fig.add_subplot()
    norm = _log_norm(S, dynamic_range) if log else Normalize(vmin=0.0, vmax=float(S.max()) or 1.0)
    data = np.ma.masked_less_equal(S, 0.0) if log else S
    mesh = ax.pcolormesh(kk * NM, t / NM, data, shading="nearest", norm=norm, cmap=_cmap(cmap),
                         rasterized=True)
    cb = fig.colorbar(mesh, ax=ax, extend="min" if log else "neither")
    cb.set_label("continuous S(k) (nm/rad)")
    ax.set_xlabel("wavenumber k (rad/nm)")
    ax.set_ylabel("mean vacancy length τ (nm)")
    ax.set_title(title or f"RTN spectrum, Eq. 3, σ = {s / NM:.3g} nm")
    ax.text(0.02, 0.98, "δ(k) term, weight (σ/(σ+τ))², not drawn", transform=ax.transAxes,
            ha="left", va="top", fontsize=8, color="white")
    return fig


# --------------------------------------------------------------------------------------------
# Fig. 1c/d: dispersion spectrum
# --------------------------------------------------------------------------------------------
def _check_result(result: DispersionResult, index: int) -> int:
    if not isinstance(result, DispersionResult):
        raise ValueError(f"result must be a DispersionResult, got {type(result).__name__}")
    B = result.freq.shape[0]
    if not isinstance(index, (int, np.integer)) or not (-B <= int(index) < B):
        raise ValueError(f"index must be an int in [{-B}, {B}), got {index!r}")
    return int(index) % B


def plot_dispersion_spectrum(result: DispersionResult, index: int, material: Material,
                             title: str | None = None, *, dynamic_range: float = 1e4,
                             show_peaks: bool = True, cmap: str = "viridis", ax=None) -> Figure:
    """Fig. 1c/d: |FFT| of m_x over k (rad/nm) × f (THz), log colour, cropped to the stored band.

    ``ax``: draw into this axes (of a multi-panel figure) instead of a new figure.

    The analytic dispersion ``material.ideal_frequency(k)`` (Eq. 6 scaled by γμ0Ms/2π) is drawn as a
    red dashed line and the picked peaks ``result.freq_refined[index]`` as small white dots.

    Raises:
        ValueError: if the result holds no spectrum (simulate with
            ``DispersionSettings(keep_spectrum_below=...)``), if ``index`` is out of range or the
            stored shapes do not match.
    """
    b = _check_result(result, index)
    if result.spectrum is None or result.f is None:
        raise ValueError("this DispersionResult has no stored spectrum: simulate it with "
                         "DispersionSettings(keep_spectrum_below=<Hz>) to plot the 2D spectrum")
    k = _np("result.k", result.k, ndim=1)
    f = _np("result.f", result.f, ndim=1)
    spec = _np("result.spectrum", result.spectrum, ndim=3)
    if spec.shape[1:] != (f.size, k.size):
        raise ValueError(f"result.spectrum has shape {spec.shape}, expected (B, {f.size}, {k.size}) "
                         "from result.f and result.k")
    if spec.shape[0] != result.freq.shape[0] or f.size < 2:
        raise ValueError(f"result.spectrum batch {spec.shape[0]} does not match result.freq "
                         f"{tuple(result.freq.shape)} or the band holds < 2 frequencies")
    img = spec[b]
    peaks = _np("result.freq_refined", result.freq_refined[b], ndim=1)
    ideal = _np("ideal frequency", material.ideal_frequency(result.k.detach().cpu()))

    if ax is None:
        fig = _new_figure((6.4, 4.6))
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    k_nm, f_thz = k * NM, f / THZ
    mesh = ax.pcolormesh(k_nm, f_thz, np.ma.masked_less_equal(img, 0.0), shading="nearest",
                         norm=_log_norm(img, dynamic_range), cmap=_cmap(cmap), rasterized=True)
    cb = fig.colorbar(mesh, ax=ax, extend="min")
    cb.set_label("|FFT of m_x| (arb. units)")
    if show_peaks:
        ax.plot(k_nm, peaks / THZ, ".", color="white", ms=1.0, alpha=0.6, label="spectral peak")
    ax.plot(k_nm, ideal / THZ, "--", color="red", lw=1.3, label="ideal, Eq. 6")
    ax.set_xlim(k_nm[0], k_nm[-1])
    ax.set_ylim(0.0, f_thz[-1])
    ax.set_xlabel("wavenumber k (rad/nm)")
    ax.set_ylabel("frequency f (THz)")
    ax.legend(loc="upper center", fontsize=8, framealpha=0.6, markerscale=5)
    if title is not None:
        ax.set_title(title)
    return fig


# --------------------------------------------------------------------------------------------
# Fig. 1e: wall profiles
# --------------------------------------------------------------------------------------------
def plot_wall_profiles(x, profiles: Mapping[str, object], *,
                       x_range_nm: tuple[float, float] | None = (-10.0, 10.0),
                       colors: Sequence[str] | None = None, markers: bool = True,
                       title: str | None = None) -> Figure:
    """Fig. 1e: m_z against x (nm) for each labelled profile (e.g. ideal vs σ = 10, τ = 5 nm).

    Args:
        x: cell centres (m), shape (N,), wall at 0 (``WallResult.x``).
        profiles: label → m_z, each of shape (N,) (or (1, N)).
        x_range_nm: x window to show (nm); ``None`` shows the whole chain.
    """
    xs, colors, fig, ax, rows = _panel_of_rows("x", x, profiles, "profile", "m_z", colors, _CURVE_COLORS)
    ax.axhline(0.0, color="0.7", lw=0.6)
    ax.axvline(0.0, color="0.7", lw=0.6)
    for i, (label, m) in enumerate(rows):
        ax.plot(xs / NM, m, "-", marker="." if markers else None, ms=3,
                color=colors[i % len(colors)], lw=1.4, label=str(label))
    if x_range_nm is not None:
        ax.set_xlim(*x_range_nm)
    ax.set_ylim(-1.08, 1.08)
    ax.set_xlabel("position x (nm)")
    ax.set_ylabel("m_z (normalised, dimensionless)")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(title or "Relaxed domain walls")
    return fig


# --------------------------------------------------------------------------------------------
# Fig. 1f: width surface
# --------------------------------------------------------------------------------------------
def plot_width_surface(sigma_nm_grid, tau_nm_grid, width_nm, *, cmap: str = "viridis",
                       contours: bool = True, diagonal: bool = True,
                       title: str | None = None) -> Figure:
    """Fig. 1f: domain-wall width (nm) over σ (nm, x axis) × τ (nm, y axis), with a colour bar.

    Either 1-D axes ``sigma_nm_grid`` (S,), ``tau_nm_grid`` (T,) with ``width_nm`` (S, T) (the
    ``meshgrid(sigma, tau, indexing="ij")`` layout), or three 2-D arrays of the same shape.
    Non-finite widths are left blank. ``diagonal`` draws the τ = σ line, where the paper's trends
    turn over; ``contours`` adds labelled iso-width lines.
    """
    s = _np("sigma_nm_grid", sigma_nm_grid, ndim=(1, 2))
    t = _np("tau_nm_grid", tau_nm_grid, ndim=(1, 2))
    w = _np("width_nm", width_nm, ndim=2)
    if s.ndim != t.ndim:
        raise ValueError(f"sigma and tau grids must both be 1-D or both 2-D, got {s.shape}, {t.shape}")
    if s.ndim == 1:
        if w.shape != (s.size, t.size):
            raise ValueError(f"width_nm has shape {w.shape}, expected (len(sigma), len(tau)) = "
                             f"({s.size}, {t.size})")
        S, T = np.meshgrid(s, t, indexing="ij")
    else:
        if not (s.shape == t.shape == w.shape):
            raise ValueError(f"2-D grids must share one shape, got sigma {s.shape}, tau {t.shape}, "
                             f"width {w.shape}")
        S, T = s, t
    if min(w.shape) < 2:
        raise ValueError(f"the width grid needs at least 2 × 2 points, got {w.shape}")
    finite = np.isfinite(w)
    if not finite.any():
        raise ValueError("width_nm has no finite value")
    W = np.ma.masked_invalid(w)

    fig = _new_figure((6.4, 4.6))
    ax = fig.add_subplot()
    mesh = ax.pcolormesh(S, T, W, shading="nearest", cmap=cmap, rasterized=True,
                         vmin=float(w[finite].min()), vmax=float(w[finite].max()))
    cb = fig.colorbar(mesh, ax=ax)
    cb.set_label("domain-wall width w (nm)")
    if contours and finite.all():
        cs = ax.contour(S, T, w, levels=6, colors="white", linewidths=0.6, alpha=0.8)
        ax.clabel(cs, fontsize=7, fmt="%.2g")
    if diagonal:
        lo = max(float(S.min()), float(T.min()))
        hi = min(float(S.max()), float(T.max()))
        if hi > lo:
            ax.plot([lo, hi], [lo, hi], "--", color="red", lw=1.0, label="τ = σ")
            ax.legend(loc="upper right", fontsize=8, framealpha=0.6)
    ax.set_xlabel("mean material length σ (nm)")
    ax.set_ylabel("mean vacancy length τ (nm)")
    ax.set_title(title or "Domain-wall width")
    return fig


# --------------------------------------------------------------------------------------------
# overlay of dispersions
# --------------------------------------------------------------------------------------------
def plot_dispersion_curves(k, curves: Mapping[str, object], material: Material, *,
                           colors: Sequence[str] | None = None, title: str | None = None) -> Figure:
    """Dispersions f(k) (THz) against k (rad/nm) with the analytic ideal curve (red dashed).

    Args:
        k: wavenumbers (rad/m), shape (K,) (``DispersionResult.k``).
        curves: label → frequencies (Hz), each of shape (K,) (or (1, K)).
        material: gives the analytic ``ideal_frequency(k)``.
    """
    kk, colors, fig, ax, rows = _panel_of_rows("k", k, curves, "curve", "frequencies", colors, _DISPERSION_COLORS)
    for i, (label, fr) in enumerate(rows):
        ax.plot(kk * NM, fr / THZ, "-", color=colors[i % len(colors)], lw=1.2, label=str(label))
    ideal = _np("ideal frequency", material.ideal_frequency(torch.as_tensor(kk)))
    ax.plot(kk * NM, ideal / THZ, "--", color="red", lw=1.3, label="ideal, Eq. 6")
    ax.set_xlim(kk[0] * NM, kk[-1] * NM)
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel("wavenumber k (rad/nm)")
    ax.set_ylabel("frequency f (THz)")
    ax.legend(loc="upper center", fontsize=8)
    ax.set_title(title or "Dispersion relations")
    return fig
