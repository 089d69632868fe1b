"""Hand features of a surviving skyrmion for the linear maps of the inverse models (docs/skyrmion-models.md#features):
the ridge baseline ``skyrmion_inverse_ridge`` regresses on them, and ``skyrmion_inverse`` with ``readout: ridge``
starts from a ridge map on them (:mod:`spsll.models.readout`).

* **Radial profile**: the azimuthal mean of m_z at ``n_bins`` radii r_b = (b + ½) r_max / n_bins cells,
  r_max = C/2 − 1, about the core — the centroid of max(0, −m_z) of the crop — sampled bilinearly on
  ``N_RAYS`` rays (so no radius is empty, whatever the bins' width).
* **Scalars**: [R, B, log R, B², R·B] (nm, T). The radius is set by B first and by φ second (the
  dataset's survivors: R falls from ~10 to ~2.4 nm across B), so φ is read from where R lies against
  its B-trend; the second-order terms let a linear map follow that curved trend (what each part is worth:
  docs/skyrmion-models.md#features).

Expected measurement noise ν per m_z cell (``input_noise``) in feature units: the variance ν²/n_b of a
bin's mean, n_b = min(N_RAYS, max(1, 2π r_b)) the roughly independent cells on its circle; 0 for the
scalars (the radius is re-measured from the noisy image, not perturbed per cell).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor, nn

F64 = torch.float64
N_RAYS = 64
N_SCALARS = 5
MIN_BIN_CELLS = 0.25  # the profile's radii are at least a quarter cell apart


def profile_radii(crop_cells: int, n_bins: int) -> Tensor:
    """(n_bins,) radii of the profile in cells: (b + ½) r_max / n_bins, r_max = C/2 − 1."""
    r_max = crop_cells / 2 - 1.0
    return (torch.arange(n_bins, dtype=F64) + 0.5) * r_max / n_bins


def check_bins(n_bins, crop_cells: int | None, key: str) -> int:
    """``n_bins`` an integer >= 2 whose radii lie at least ``MIN_BIN_CELLS`` apart in a crop of ``crop_cells``
    (not checked for None: the crop is not known yet)."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 2:
        raise ValueError(f"{key} must be an integer >= 2 (radii of the m_z profile), got {n_bins!r}")
    if crop_cells is None:
        return n_bins
    r_max = crop_cells / 2 - 1.0
    if r_max / n_bins < MIN_BIN_CELLS:
        raise ValueError(f"{key} = {n_bins} spaces the profile's radii by less than {MIN_BIN_CELLS} cell (the crop of "
                         f"{crop_cells} cells reaches {r_max:g} cells); choose fewer")
    return n_bins


def core_centroid(mz: Tensor) -> Tensor:
    """(B, 2) centroid (cell indices) of max(0, −m_z) of crops (B, C, C); the crop's centre C/2 − ½ where
    nothing is reversed."""
    w = (-mz).clamp_min(0)
    c = mz.shape[-1]
    idx = torch.arange(c, dtype=mz.dtype)
    tot = w.sum((1, 2))
    cx = (w.sum(2) * idx).sum(1) / tot.clamp_min(1e-300)
    cy = (w.sum(1) * idx).sum(1) / tot.clamp_min(1e-300)
    centre = torch.full_like(cx, c / 2 - 0.5)
    return torch.stack([torch.where(tot > 0, cx, centre), torch.where(tot > 0, cy, centre)], 1)


def radial_profile(image: Tensor, n_bins: int) -> Tensor:
    """(B, n_bins) float64 azimuthal means of m_z (module docstring) of images (B, 1, C, C) or (B, C, C), [x, y]."""
    mz = (image[:, 0] if image.ndim == 4 else image).to(F64)
    c = mz.shape[-1]
    centre = core_centroid(mz)
    ang = 2 * math.pi * torch.arange(N_RAYS, dtype=F64) / N_RAYS
    r = profile_radii(c, n_bins)
    px = centre[:, 0, None, None] + r[None, :, None] * torch.cos(ang)[None, None, :]  # (B, bins, rays)
    py = centre[:, 1, None, None] + r[None, :, None] * torch.sin(ang)[None, None, :]
    # grid_sample: the grid's last coordinate indexes the image's first spatial dim (x), its first the last (y)
    grid = torch.stack([2 * py / (c - 1) - 1, 2 * px / (c - 1) - 1], -1)
    vals = nn.functional.grid_sample(mz[:, None], grid, mode="bilinear", padding_mode="border", align_corners=True)
    return vals[:, 0].mean(-1)


def scalar_features(radius_nm: Tensor, field_T: Tensor) -> Tensor:
    """(B, 5) float64 [R, B, log R, B², R·B]."""
    r, b = radius_nm.to(F64).reshape(-1), field_T.to(F64).reshape(-1)
    return torch.stack([r, b, r.clamp_min(1e-6).log(), b * b, r * b], 1)


def skyrmion_features(batch: Mapping[str, Tensor], n_bins: int) -> Tensor:
    """(B, n_bins + 5) float64: the radial profile of ``batch["image"]``, then the scalars of R and B."""
    return torch.cat([radial_profile(batch["image"], n_bins), scalar_features(batch["radius_nm"], batch["B_T"])], 1)


def feature_noise_variance(crop_cells: int, n_bins: int, noise_mz: float) -> Tensor:
    """(n_bins + 5,) float64: the expected variance of m_z noise ``noise_mz`` per feature (module docstring)."""
    n_b = (2 * math.pi * profile_radii(crop_cells, n_bins)).clamp(1.0, float(N_RAYS))
    return torch.cat([noise_mz**2 / n_b, torch.zeros(N_SCALARS, dtype=F64)])
