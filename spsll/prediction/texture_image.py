"""A user's m_z image of one texture → the skyrmion models' input, refusing what cannot be right.

The image is what processed MFM, XMCD or LTEM data give: a 2D grid of m_z/Ms (CSV/whitespace table or
``.npy``) with its cell size in nm. Rows are y and columns x (as an image is shown); the models'
arrays are (x, y), so the image is transposed on reading. In order:

1. **Finite and normalised.** NaN or infinite cells are refused with their (row, column); |m_z| must
   not exceed 1 (+ ``RANGE_SLACK`` for noise): an image not normalised by Ms is refused.
2. **A saturated background.** The median of the outermost ring of cells sets the background's sign;
   its |m_z| must be ≥ ``BACKGROUND_MIN`` (an isolated texture sits in a saturated film). The models
   assume background +z and core −z, with B along the background: an image with a −z background is
   flipped, m_z → −m_z, and the field's sign with it (interfacial DMI, exchange and anisotropy are
   even in m, Zeeman odd: the flipped image in −B is the same physics), with a note.
3. **One texture, inside the image.** The reversed cells (m_z < 0 after the flip) are grouped into
   8-connected regions; regions of fewer than ``MIN_TEXTURE_CELLS`` cells are noise and are ignored
   with a note. None left: no texture. Several: the image holds several textures (crop to one). A
   region touching the border: the texture is cut by the image edge and cannot be measured.
4. **The model's cell size.** A different cell size is resampled (bilinear) onto the model's, with a
   note, when the ratio lies within [1/``MAX_RESAMPLE``, ``MAX_RESAMPLE``]; outside it the image is
   refused (coarser data do not hold what the model reads; much finer data would be mostly
   interpolated away, so bin them first).
5. **The crop.** ``crop_cells`` × ``crop_cells`` about the core's centroid c (cell indices) exactly as the
   dataset's crops (spsll/data/skyrmion.py): origin o = round(c − (C/2 − ½)), so the core lies within half a
   cell of the crop's centre C/2 − ½ (the corner of the four central cells for even C); padded with the
   saturated background where the image is smaller, with a note.

Every function raises :class:`spsll.prediction.observed.InputError` with the reason and the fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from spsll.physics.grid import Grid
from spsll.physics.measure.texture import skyrmion_radius
from spsll.prediction.observed import InputError
from spsll.units import NM

RANGE_SLACK = 0.02        # |m_z| up to 1.02 passes as noise on a normalised image
BACKGROUND_MIN = 0.8      # the border's median |m_z|: a saturated film around the texture
MIN_TEXTURE_CELLS = 3     # reversed regions smaller than this are noise, not textures
MAX_RESAMPLE = 2.0        # the image's cell size may differ from the model's by this factor at most
MIN_CELLS = 8             # an image narrower than this holds no texture and a border


@dataclass
class TextureImage:
    """The model's input: ``mz`` (crop, crop) float32 in (x, y) order, background +z."""

    mz: np.ndarray
    cell_nm: float
    flipped: bool                    # the background was −z: m_z and the field's sign were flipped
    radius_nm: float                 # mean radius of the m_z = 0 contour (NaN if none is found)
    notes: list[str] = field(default_factory=list)

    def field_for_model(self, b_t: float) -> float:
        """The applied field along the model's background (+z) for a user's field ``b_t`` along lab +z."""
        return -b_t if self.flipped else b_t


def read_image(path) -> np.ndarray:
    """A 2D float array from ``.npy`` or a CSV/whitespace table (``#`` comments; no header)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no image file at {path}")
    if path.suffix.lower() == ".npy":
        try:
            a = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as err:
            raise InputError(f"{path} is not a readable .npy array: {err}") from err
    else:
        lines = [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if not lines:
            raise InputError(f"{path} holds no data")
        delim = "," if "," in lines[0] else ";" if ";" in lines[0] else None
        rows = []
        for i, ln in enumerate(lines, 1):
            try:
                rows.append([float(c) for c in (ln.split(delim) if delim else ln.split())])
            except ValueError as err:
                raise InputError(f"{path}, data line {i}: not a number ({err}); the image must be a grid of "
                                 "m_z values without a header") from err
        if len({len(r) for r in rows}) != 1:
            raise InputError(f"{path}: rows have different lengths {sorted({len(r) for r in rows})}; an image is a "
                             "rectangular grid")
        a = np.array(rows)
    if a.ndim != 2 or min(a.shape) < MIN_CELLS:
        raise InputError(f"{path}: an m_z image must be a 2D grid of at least {MIN_CELLS} x {MIN_CELLS} cells, got "
                         f"shape {a.shape}")
    if not np.issubdtype(a.dtype, np.number):
        raise InputError(f"{path}: the image must hold numbers, got dtype {a.dtype}")
    return a.astype(np.float64)


def _check_values(img: np.ndarray) -> None:
    bad = np.argwhere(~np.isfinite(img))
    if len(bad):
        where = ", ".join(f"(row {r}, column {c})" for r, c in bad[:5])
        raise InputError(f"the image holds {len(bad)} NaN or infinite cells, e.g. {where}; fill or crop them")
    peak = float(np.abs(img).max())
    if peak > 1 + RANGE_SLACK:
        raise InputError(f"m_z reaches {peak:.3g}: the image must be m_z/Ms in [-1, 1]; divide by the "
                         "saturation value")


def _border(img: np.ndarray) -> np.ndarray:
    return np.concatenate([img[0], img[-1], img[1:-1, 0], img[1:-1, -1]])


def _texture_region(mz: np.ndarray, notes: list[str]) -> np.ndarray:
    """The boolean mask of the one reversed region (see the module docstring, step 3)."""
    labels, n = ndimage.label(mz < 0, structure=np.ones((3, 3)))
    sizes = ndimage.sum_labels(np.ones_like(mz), labels, index=np.arange(1, n + 1)) if n else np.zeros(0)
    keep = [i + 1 for i, s in enumerate(sizes) if s >= MIN_TEXTURE_CELLS]
    if n > len(keep):
        notes.append(f"ignored {n - len(keep)} reversed speck(s) of fewer than {MIN_TEXTURE_CELLS} cells (noise)")
    if not keep:
        raise InputError("no texture in the image: no region of reversed m_z (opposite to the background) of "
                         f"{MIN_TEXTURE_CELLS} cells or more")
    if len(keep) > 1:
        raise InputError(f"the image holds {len(keep)} separate textures; crop it to one isolated texture")
    region = labels == keep[0]
    if region[0].any() or region[-1].any() or region[:, 0].any() or region[:, -1].any():
        raise InputError("the texture touches the image border: it is cut by the edge and cannot be measured; "
                         "use an image with saturated film all around it")
    return region


def texture_on_grid(image: np.ndarray, cell_nm: float, model_cell_nm: float, crop_cells: int) -> TextureImage:
    """The user's image (rows y, columns x) → the model's crop; see the module docstring."""
    if isinstance(cell_nm, bool) or not (isinstance(cell_nm, int | float) and math.isfinite(cell_nm) and cell_nm > 0):
        raise InputError(f"cell_nm must be a positive number (the image's cell size in nm), got {cell_nm!r}")
    if isinstance(crop_cells, bool) or not isinstance(crop_cells, int) or crop_cells < MIN_CELLS:
        raise InputError(f"crop_cells must be an integer >= {MIN_CELLS}, got {crop_cells!r}")
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2 or min(img.shape) < MIN_CELLS:
        raise InputError(f"an m_z image must be 2D with at least {MIN_CELLS} cells per side, got shape {img.shape}")
    _check_values(img)
    notes: list[str] = []
    mz = np.clip(img.T, -1.0, 1.0)            # (x, y); noise beyond ±1 clipped
    background = float(np.median(_border(mz)))
    if abs(background) < BACKGROUND_MIN:
        raise InputError(f"the image border has median m_z = {background:.2f}: no saturated background "
                         f"(|m_z| >= {BACKGROUND_MIN}) around an isolated texture; crop to one texture in a "
                         "uniform film")
    flipped = background < 0
    if flipped:
        mz = -mz
        notes.append("the background is -z: the image was flipped (m_z -> -m_z) and the applied field's sign "
                     "with it, to the models' background +z")
    _texture_region(mz, notes)
    ratio = cell_nm / model_cell_nm
    if not 1 / MAX_RESAMPLE <= ratio <= MAX_RESAMPLE:
        raise InputError(f"the image's cell size {cell_nm:g} nm differs from the model's {model_cell_nm:g} nm by a "
                         f"factor {ratio:.2f} (at most {MAX_RESAMPLE:g} either way): "
                         + ("the image is too coarse for the model" if ratio > 1 else
                            "bin the image to about the model's cell size first"))
    if abs(ratio - 1) > 1e-6:
        mz = np.clip(ndimage.zoom(mz, ratio, order=1, mode="nearest", grid_mode=True), -1.0, 1.0)
        notes.append(f"resampled from {cell_nm:g} nm to the model's {model_cell_nm:g} nm cells (bilinear)")
    region = _texture_region(mz, [])
    w = np.where(region, -mz, 0.0)
    cx, cy = (float((w.sum(1 - ax) * np.arange(mz.shape[ax])).sum() / w.sum()) for ax in (0, 1))
    # the dataset's origin floor(c − (C/2 − ½) + ½) (spsll.data.skyrmion.crop_origins), not round(c) − C//2,
    # which for even C puts the core half a cell off the training crops' centre
    x0, y0 = (int(math.floor(c - crop_cells / 2 + 1.0)) for c in (cx, cy))
    if x0 < 0 or y0 < 0 or x0 + crop_cells > mz.shape[0] or y0 + crop_cells > mz.shape[1]:
        notes.append(f"the crop of {crop_cells} cells reaches past the image: padded with the saturated background")
    mz = np.pad(mz, crop_cells, constant_values=1.0)
    x0, y0 = x0 + crop_cells, y0 + crop_cells
    crop = mz[x0:x0 + crop_cells, y0:y0 + crop_cells].astype(np.float32)
    m = torch.zeros(1, 3, crop_cells, crop_cells, dtype=torch.float64)
    m[0, 2] = torch.from_numpy(crop.astype(np.float64))
    radius = float(skyrmion_radius(m, Grid((crop_cells, crop_cells), model_cell_nm * NM))[0]) / NM
    return TextureImage(crop, model_cell_nm, flipped, radius, notes)
