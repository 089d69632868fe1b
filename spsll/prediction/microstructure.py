"""A user's microstructure profile → the coercivity models' mask, refusing what cannot be right.

The profile is a chain's defect indicator or its anisotropy along x, as a table x (nm), value (CSV or
whitespace, :func:`spsll.prediction.observed.read_table`) or a ``.npy`` array of values with its
cell size ``cell_nm``. ``kind``:

* ``mask``: 1 a soft defect, 0 the material; values must lie in [0, 1];
* ``anisotropy``: the local anisotropy in units of the material's K, κ(x) ≥ 0; the defect indicator
  is 1 − κ. The models learnt soft defects of κ = 0 in a material of κ = 1, so κ > 1 (a harder
  region) is refused, not extrapolated.

Graded values (neither 0 nor 1) are rounded at 0.5, with a note: the models were trained on 0/1
masks. The samples must be evenly spaced (within ``SPACING_TOL``); a spacing other than the model's
cell is resampled by nearest neighbour, with a note, when it lies within a factor ``MAX_RESAMPLE``
(coarser data cannot hold the runs of one or two cells the model reads). The chain's length must be
the model's (``n_cells`` cells, to one cell): H_c is a weakest-link property that grows weaker with
length (docs/coercivity-map.md), so a profile of another length is not the model's chain and is
refused with the length it needs.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from spsll.prediction.observed import InputError, read_table

KINDS = ("mask", "anisotropy")
SPACING_TOL = 0.01    # relative spread of the sample spacing that still counts as even
MAX_RESAMPLE = 2.0    # the profile's spacing may differ from the model's cell by this factor at most
MIN_SAMPLES = 16


def read_profile(path, cell_nm: float | None) -> tuple[np.ndarray, float, list[str]]:
    """(values, spacing in nm, notes) from a table x (nm), value or a ``.npy`` of values with ``cell_nm``."""
    path = Path(path)
    notes: list[str] = []
    if path.suffix.lower() == ".npy":
        if not path.is_file():
            raise InputError(f"no input file at {path}")
        try:
            v = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as err:
            raise InputError(f"{path} is not a readable .npy array: {err}") from err
        if v.ndim != 1 or not np.issubdtype(v.dtype, np.number):
            raise InputError(f"{path}: a profile is a 1D array of numbers, got shape {v.shape}, dtype {v.dtype}")
        if cell_nm is None or not (isinstance(cell_nm, int | float) and math.isfinite(cell_nm) and cell_nm > 0):
            raise InputError(f"a .npy profile needs its cell size: cell_nm=<nm> (> 0), got {cell_nm!r}")
        v = v.astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(v))
        if len(bad):
            raise InputError(f"{path}: NaN or infinite values at index {bad[:10].tolist()}; fill them")
        if len(v) < MIN_SAMPLES:
            raise InputError(f"{path}: {len(v)} values; at least {MIN_SAMPLES} are needed")
        return v, float(cell_nm), notes
    x, v, _ = read_table(path)
    order = np.argsort(x, kind="stable")
    x, v = x[order], v[order]
    dx = np.diff(x)
    if (dx <= 0).any():
        raise InputError(f"{path}: x = {x[np.flatnonzero(dx <= 0)[0]]:g} nm appears more than once")
    spacing = float(np.median(dx))
    if np.abs(dx / spacing - 1).max() > SPACING_TOL:
        raise InputError(f"{path}: the x spacing varies from {dx.min():g} to {dx.max():g} nm; give the profile on "
                         "an even grid (one value per cell)")
    if cell_nm is not None and abs(float(cell_nm) / spacing - 1) > SPACING_TOL:
        raise InputError(f"cell_nm = {cell_nm} disagrees with the table's x spacing {spacing:g} nm; drop cell_nm or "
                         "fix the table")
    return v, spacing, notes


def profile_to_mask(values: np.ndarray, spacing_nm: float, kind: str, model_cell_nm: float,
                    n_cells: int) -> tuple[np.ndarray, list[str]]:
    """The defect mask (n_cells,) float32 of 0/1 on the model's cells; see the module docstring."""
    if kind not in KINDS:
        raise InputError(f"profile_kind must be one of {KINDS}, got {kind!r}")
    v = np.asarray(values, dtype=np.float64)
    notes: list[str] = []
    if kind == "anisotropy":
        if (v < 0).any():
            raise InputError(f"negative anisotropy (min {v.min():g} K) at index {int(np.argmin(v))}: κ(x) must be ≥ 0")
        if (v > 1 + 1e-9).any():
            raise InputError(f"anisotropy above the material's (max {v.max():g} K): the models know soft defects "
                             "(κ ≤ 1) in a uniform hard material only")
        d = 1.0 - v
    else:
        if (v < 0).any() or (v > 1).any():
            raise InputError(f"mask values must lie in [0, 1] (1 a defect), got min {v.min():g}, max {v.max():g}; for "
                             "an anisotropy profile use profile_kind=anisotropy")
        d = v
    graded = int(((d > 1e-9) & (d < 1 - 1e-9)).sum())
    if graded:
        notes.append(f"{graded} graded value(s) rounded at 0.5 to 0/1: the models were trained on 0/1 masks")
    d = (d >= 0.5).astype(np.float64)
    ratio = spacing_nm / model_cell_nm
    if not 1 / MAX_RESAMPLE <= ratio <= MAX_RESAMPLE:
        raise InputError(f"the profile's spacing {spacing_nm:g} nm differs from the model's cell {model_cell_nm:g} nm "
                         f"by a factor {ratio:.2f} (at most {MAX_RESAMPLE:g} either way)")
    length_nm, need_nm = len(d) * spacing_nm, n_cells * model_cell_nm
    if abs(length_nm - need_nm) > model_cell_nm:
        raise InputError(f"the profile is {length_nm:.2f} nm long; the model predicts chains of {need_nm:.2f} nm "
                         f"({n_cells} cells of {model_cell_nm:g} nm). H_c depends on the chain's length (weakest "
                         "link), so give a profile of that length")
    if abs(ratio - 1) > SPACING_TOL:
        centres = (np.arange(n_cells) + 0.5) * model_cell_nm
        d = d[np.clip(np.floor(centres / spacing_nm).astype(int), 0, len(d) - 1)]
        notes.append(f"resampled from {spacing_nm:g} nm to the model's {model_cell_nm:g} nm cells (nearest)")
    elif len(d) != n_cells:  # within one cell of the length at the model's spacing: trim or pad the last cell
        d = np.concatenate([d, d[-1:]])[:n_cells]
        notes.append(f"{len(values)} samples fitted to the model's {n_cells} cells (last cell trimmed or repeated)")
    if d.sum() == 0:
        notes.append("no defect in the profile: a defect-free chain reverses coherently at H_K")
    return d.astype(np.float32), notes
