"""Per-realisation helpers of the explicit-defect measurements: profiles across vacancies.

θ = arccos m_z is undefined in a vacancy (m = 0), so the wall measurements fill vacant cells by
linear interpolation between the nearest occupied cells, and align profiles by a sub-cell shift.
"""

from __future__ import annotations

import math

import torch

from spsll.physics.measure.width import cosine_series_width, tanh_fit_width, zero_crossing


def fill_vacancies(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Fill vacant cells of periodic profiles (M, L) by linear interpolation between the nearest
    occupied cells on either side (wrapping around). Occupied cells are returned unchanged (exactly);
    a row without any occupied cell is returned as is."""
    M, L = values.shape
    occ = mask > 0
    idx = torch.arange(2 * L, device=values.device)
    occ2 = torch.cat([occ, occ], dim=1)
    # previous occupied position (≤ p) for p in the second copy, next occupied (≥ p) in the first
    prev = torch.where(occ2, idx, torch.full_like(idx, -1)).cummax(dim=1).values[:, L:]
    nxt = torch.where(occ2, idx, torch.full_like(idx, 3 * L)).flip(1).cummin(dim=1).values.flip(1)[:, :L]
    p = torch.arange(L, 2 * L, device=values.device).expand(M, L)
    nxt = nxt + L  # positions ≥ p in the same (second-copy) frame
    ok = occ.any(dim=1, keepdim=True) & (prev >= 0)
    prev = torch.where(ok, prev, p)
    nxt = torch.where(ok, nxt, p)
    span = (nxt - prev).clamp_min(1)
    w = ((p - prev).to(values.dtype) / span.to(values.dtype))
    v_prev = values.gather(1, prev % L)
    v_next = values.gather(1, nxt % L)
    filled = v_prev * (1 - w) + v_next * w
    return torch.where(occ | ~ok, values, filled)


def shift_periodic(values: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """out[:, j] = values(j + shift) on periodic rows (M, L), linear interpolation; shift (M,) cells."""
    M, L = values.shape
    x = torch.arange(L, device=values.device, dtype=values.dtype)[None, :] + shift[:, None]
    i0 = torch.floor(x)
    frac = x - i0
    i0 = i0.long() % L
    return values.gather(1, i0) * (1 - frac) + values.gather(1, (i0 + 1) % L) * frac


def filled_profiles(mz_full: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Relaxed m_z on periodic rows (M, L) with its vacant cells filled: θ = arccos m_z linear across a
    vacancy (:func:`fill_vacancies`), m_z = cos θ there; occupied cells unchanged (exactly)."""
    occ64 = masks.to(torch.float64)
    theta = fill_vacancies(torch.arccos(mz_full.clamp(-1.0, 1.0)), occ64)  # θ linear across a vacancy
    return torch.where(occ64 > 0, mz_full, torch.cos(theta))


def _per_sample(x: torch.Tensor, B: int, R: int) -> torch.Tensor:
    return x.reshape(B, R, *x.shape[1:])


def wall_statistics(mz_full: torch.Tensor, masks: torch.Tensor, B: int, R: int, cell_size: float, *,
                    n_harmonics: int, n_error: int) -> dict[str, torch.Tensor]:
    """Per-realisation widths of relaxed masked walls and their per-sample averages.

    ``mz_full`` (B·R, 2N) relaxed m_z on the mirrored domain, ``masks`` its occupation. Vacancies
    are filled (θ linear across them), each realisation's window (first N cells) gets its widths by
    both methods, linearised at its own crossing; realisations without a wall in the window are left
    out of the means (NaN per realisation). Returns the fields of the ensemble wall result
    (docs/physics.md#readings): width, width_err, width_tanh and their spreads, the aligned mean
    profile ``mz`` and its width, the pinned walls (crossing next to a vacancy) and counts.

    One function of ~70 lines: the reductions share the masks and the has-a-wall selection, and
    splitting them would pass half a dozen tensors between the parts.
    """
    N = mz_full.shape[1] // 2
    dev = mz_full.device
    occ64 = masks.to(torch.float64)
    filled = filled_profiles(mz_full, occ64)
    window = filled[:, :N]
    has_wall = (window.amin(dim=1) < 0) & (window.amax(dim=1) > 0)
    # rows without a wall get a stand-in profile so that the batched width code runs; masked below
    x = torch.arange(N, dtype=torch.float64, device=dev) + 0.5
    stand_in = torch.tanh((x - N / 2) / 3.0).expand(B * R, N)
    safe = torch.where(has_wall[:, None], window, stand_in)
    w_cos, w_err = cosine_series_width(safe, cell_size, n_harmonics=n_harmonics, n_error=n_error)
    w_tanh = tanh_fit_width(safe, cell_size)
    nan = torch.full_like(w_cos, math.nan)
    w_cos, w_err, w_tanh = (torch.where(has_wall, v, nan) for v in (w_cos, w_err, w_tanh))
    xc = zero_crossing(safe)  # cells, the ansatz puts it at N/2
    jc = (xc - 0.5).floor().long().clamp(0, N - 2)
    pinned = ((occ64[:, :N].gather(1, jc[:, None]) == 0) | (occ64[:, :N].gather(1, jc[:, None] + 1) == 0))[:, 0]
    aligned = shift_periodic(filled, xc - N / 2)[:, :N]
    aligned = torch.where(has_wall[:, None], aligned, window)

    # per-sample reductions over the realisations that hold a wall
    hw = _per_sample(has_wall, B, R)
    n_walls = hw.sum(dim=1)
    nw = n_walls.to(torch.float64)

    def mean(v):  # v (B·R,) with NaN where no wall
        return torch.nanmean(_per_sample(v, B, R), dim=1)

    def std(v):
        vb = _per_sample(v, B, R)
        mu = torch.nanmean(vb, dim=1, keepdim=True)
        ss = torch.where(hw, (vb - mu) ** 2, torch.zeros_like(vb)).sum(dim=1)
        return torch.where(n_walls > 1, (ss / (nw - 1).clamp_min(1)).sqrt(), torch.zeros_like(ss))

    width_std = std(w_cos)
    trunc2 = torch.nanmean(_per_sample(w_err, B, R) ** 2, dim=1)
    prof = _per_sample(aligned, B, R)
    mz_mean = torch.where((n_walls > 0)[:, None], (prof * hw[..., None]).sum(dim=1) / nw.clamp_min(1)[:, None],
                          prof.mean(dim=1))
    has_mean_wall = (mz_mean.amin(dim=1) < 0) & (mz_mean.amax(dim=1) > 0)
    w_mean = cosine_series_width(torch.where(has_mean_wall[:, None], mz_mean, stand_in[:B]), cell_size,
                                 n_harmonics=n_harmonics, n_error=n_error)[0]
    return {
        "mz": mz_mean, "width": mean(w_cos), "width_err": (width_std**2 / nw.clamp_min(1) + trunc2).sqrt(),
        "width_tanh": mean(w_tanh), "widths": _per_sample(w_cos, B, R), "widths_tanh": _per_sample(w_tanh, B, R),
        "width_std": width_std, "width_tanh_std": std(w_tanh),
        "width_of_mean": torch.where(has_mean_wall, w_mean, torch.full_like(w_mean, math.nan)),
        "n_walls": n_walls,
        "pinned_fraction": torch.where(hw, _per_sample(pinned, B, R), torch.zeros_like(hw)).sum(dim=1)
        / nw.clamp_min(1),
        "pinned": _per_sample(pinned, B, R) & hw, "width_unpinned": mean(torch.where(pinned, nan, w_cos)),
        "occupied_fraction": occ64[:, :N].mean(dim=1).reshape(B, R).mean(dim=1),
    }
