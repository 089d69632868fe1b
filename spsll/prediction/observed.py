"""A user's own measurement → the model's input grid, refusing what cannot be right.

* Dispersion: a table of k (rad/nm) and f (THz). Frequencies that look like GHz or Hz are detected
  and converted with a note (a magnon frequency of this model is a few THz; 100 "THz" is not one),
  or refused when the unit was given as THz. k must lie in the first Brillouin zone |k| ≤ π/a;
  a half zone k ≥ 0 is mirrored (f(−k) = f(k): the dispersion is even, docs/physics.md#dispersion); another grid is
  resampled linearly onto the model's (across the zone boundary through the periodic image
  f(k ± 2π/a) = f(k)), with a note.
* Wall: a table of x (nm) and m_z. |m_z| ≤ 1 (a profile not normalised by Ms is refused), the wall
  is turned to go from −1 to +1, centred at its m_z = 0 crossing and resampled onto the model's
  cell centres; saturated domains (|m_z| ≥ 0.99 at both ends) are extended to the window.

Every function returns the values on the grid and a list of notes (what was done to the data),
and raises :class:`InputError` with the reason and the fix otherwise. NaN or infinite entries are
refused with their line numbers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

MIN_POINTS = 16  # fewer cannot resolve a curve of 500 points (nor the network's first conv layer)
END_TOLERANCE_STEPS = 1.5  # the data may stop this many steps (grid's or data's) short of each zone boundary
THZ_MAX = 100.0  # no magnon of a ferromagnet in this model reaches 100 THz (FePt: ≈ 11 THz at the zone edge)
SATURATED = 0.99


class InputError(ValueError):
    """The measurement cannot be used as given; the message says why and what to do."""


def read_table(path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The first two numeric columns of a CSV/whitespace table (an optional header line is read
    as column names) → (first, second, names)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no input file at {path}")
    lines = [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise InputError(f"{path} holds no data")
    delim = "," if "," in lines[0] else ";" if ";" in lines[0] else None

    def cells(line):
        return [c.strip() for c in (line.split(delim) if delim else line.split())]

    names: list[str] = []
    try:
        [float(c) for c in cells(lines[0])[:2]]
    except ValueError:
        names, lines = cells(lines[0]), lines[1:]
    rows, bad = [], []
    for i, line in enumerate(lines, start=2 if names else 1):
        c = cells(line)
        try:
            row = [float(v) for v in c[:2]]
        except ValueError as err:
            raise InputError(f"{path}, data line {i}: {line!r} is not two numbers") from err
        if len(row) < 2:
            raise InputError(f"{path}, data line {i}: expected two columns, got {line!r}")
        if not all(math.isfinite(v) for v in row):
            bad.append(i)
        rows.append(row)
    if bad:
        raise InputError(f"{path}: NaN or infinite values on data line(s) {bad[:10]}{' …' if len(bad) > 10 else ''}; "
                         "remove or fill them (the model needs a value at every point)")
    if len(rows) < MIN_POINTS:
        raise InputError(f"{path}: {len(rows)} points; at least {MIN_POINTS} are needed")
    a = np.asarray(rows, dtype=np.float64)
    return a[:, 0], a[:, 1], names


def _sorted_unique(x: np.ndarray, y: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    dup = np.flatnonzero(np.diff(x) == 0)
    if len(dup):
        raise InputError(f"{what} {x[dup[0]]:g} appears more than once; give one value per point")
    return x, y


def frequencies_in_thz(f: np.ndarray, unit: str = "auto") -> tuple[np.ndarray, list[str]]:
    """f in THz; ``unit`` auto | thz | ghz | hz."""
    scale = {"thz": 1.0, "ghz": 1e-3, "hz": 1e-12}
    if unit not in ("auto", *scale):
        raise InputError(f"freq_unit must be auto, thz, ghz or hz, got {unit!r}")
    if (f < 0).any():
        raise InputError(f"negative frequencies (min {f.min():g}); give the magnon frequency f ≥ 0")
    top = float(np.max(f))
    if unit != "auto":
        if unit == "thz" and top > THZ_MAX:
            raise InputError(f"frequencies up to {top:g} 'THz' are not magnons of this model (≲ {THZ_MAX:g} THz); "
                             f"they look like {'Hz' if top > 1e9 else 'GHz'}: pass freq_unit="
                             f"{'hz' if top > 1e9 else 'ghz'} or convert the file")
        return f * scale[unit], []
    if top > 1e9:
        return f * 1e-12, [f"frequencies up to {top:.4g} look like Hz, not THz: divided by 1e12 "
                           "(pass freq_unit=thz to refuse instead)"]
    if top > THZ_MAX:
        return f * 1e-3, [f"frequencies up to {top:.4g} look like GHz, not THz: divided by 1000 "
                          "(pass freq_unit=thz to refuse instead)"]
    return f, []


def dispersion_on_grid(k_rad_per_nm: np.ndarray, f: np.ndarray, grid_rad_per_nm: np.ndarray,
                       lattice_constant_nm: float, freq_unit: str = "auto") -> tuple[np.ndarray, list[str]]:
    """A measured f(k) → THz on the model's k grid (ascending, −π/a … π/a − Δk)."""
    f, notes = frequencies_in_thz(np.asarray(f, dtype=np.float64), freq_unit)
    k, f = _sorted_unique(np.asarray(k_rad_per_nm, dtype=np.float64), f, "k")
    k_zone = math.pi / lattice_constant_nm
    dk = float(grid_rad_per_nm[1] - grid_rad_per_nm[0])
    if np.abs(k).max() > k_zone + 0.5 * dk:
        hint = " (k looks like rad/m: divide by 1e9)" if np.abs(k).max() * 1e-9 <= k_zone + 0.5 * dk else ""
        raise InputError(f"k up to {np.abs(k).max():.4g} rad/nm lies outside the first Brillouin zone "
                         f"|k| ≤ π/a = {k_zone:.4g} rad/nm (a = {lattice_constant_nm} nm){hint}")
    if k.min() >= -0.5 * dk and k.max() > 0.5 * k_zone:
        # the dispersion is even in k: a half zone determines the whole one
        k, f = _sorted_unique(np.concatenate([-k[k > 0][::-1], k]), np.concatenate([f[k > 0][::-1], f]), "k")
        notes.append("only k ≥ 0 given: mirrored to k < 0 (the dispersion is even, f(−k) = f(k))")
    lo, hi = float(grid_rad_per_nm[0]), float(grid_rad_per_nm[-1])
    gap = 2 * k_zone - (k.max() - k.min())  # across the zone boundary: f is periodic in k with 2π/a
    if gap > 2 * END_TOLERANCE_STEPS * max(dk, float(np.median(np.diff(k)))):  # in the grid's or the data's steps
        raise InputError(f"the measurement covers k ∈ [{k.min():.3g}, {k.max():.3g}] rad/nm but the model reads the "
                         f"whole zone [{lo:.3g}, {hi:.3g}] rad/nm; a partial curve cannot be extrapolated")
    same = len(k) == len(grid_rad_per_nm) and np.allclose(k, grid_rad_per_nm, atol=1e-6 * dk, rtol=0)
    if not same:
        notes.append(f"resampled {len(k)} points onto the model's {len(grid_rad_per_nm)}-point k grid "
                     "(linear interpolation)")
    images = np.concatenate([k - 2 * k_zone, k, k + 2 * k_zone])  # periodic images bridge the zone boundary
    return np.interp(grid_rad_per_nm, images, np.tile(f, 3)), notes


def wall_on_grid(x_nm: np.ndarray, mz: np.ndarray, grid_nm: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """A measured m_z(x) → m_z on the model's cell centres, wall centred at 0 going from −1 to +1."""
    x, mz = _sorted_unique(np.asarray(x_nm, dtype=np.float64), np.asarray(mz, dtype=np.float64), "x")
    notes: list[str] = []
    if np.abs(mz).max() > 1.05:
        raise InputError(f"|m_z| reaches {np.abs(mz).max():.4g}; the profile must be normalised, "
                         "m_z = M_z/Ms ∈ [−1, 1]")
    if np.abs(mz).max() > 1:
        notes.append(f"|m_z| up to {np.abs(mz).max():.4f} clipped to 1")
        mz = np.clip(mz, -1, 1)
    if mz[-1] < mz[0]:
        x, mz, = -x[::-1], mz[::-1]
        notes.append("the wall goes from +1 to −1: mirrored (x → −x) to the model's −1 → +1")
    cross = np.flatnonzero((mz[:-1] < 0) & (mz[1:] >= 0))
    if not len(cross):
        raise InputError("m_z never changes sign: there is no wall in the profile")
    if len(cross) > 1:
        raise InputError(f"m_z changes sign {len(cross)} times: give a profile holding one wall")
    i = cross[0]
    x0 = x[i] - mz[i] * (x[i + 1] - x[i]) / (mz[i + 1] - mz[i])
    x = x - x0
    step = float(grid_nm[1] - grid_nm[0])
    if abs(x0) > 0.5 * step:
        notes.append(f"wall centred: its m_z = 0 crossing was at x = {x0:.4g} nm")
    lo, hi = float(grid_nm[0]), float(grid_nm[-1])
    if x.min() > lo + step or x.max() < hi - step:
        if min(-mz[0], mz[-1]) < SATURATED:
            raise InputError(f"the profile covers x ∈ [{x.min():.3g}, {x.max():.3g}] nm around the wall and its ends "
                             f"(m_z = {mz[0]:.3f}, {mz[-1]:.3f}) are not saturated; the model reads "
                             f"[{lo:.3g}, {hi:.3g}] nm")
        x = np.concatenate([[min(lo, x.min()) - step], x, [max(hi, x.max()) + step]])
        mz = np.concatenate([[-1.0], mz, [1.0]])
        notes.append(f"the saturated domains were extended from [{x[1]:.3g}, {x[-2]:.3g}] nm to the model's window "
                     f"[{lo:.3g}, {hi:.3g}] nm (m_z = ∓1)")
    if not (len(x) == len(grid_nm) and np.allclose(x, grid_nm, atol=1e-6 * step, rtol=0)):
        notes.append(f"resampled onto the model's {len(grid_nm)} cell centres (linear interpolation)")
    return np.interp(grid_nm, x, mz), notes
