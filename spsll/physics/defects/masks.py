"""Explicit vacancy masks: RTN occupation of every cell, reproducible per (seed, σ, τ).

The explicit-defect reference (solver ``rtn_ensemble``) simulates each (σ, τ) as R chains whose
cells are occupied (1) or vacant (0) along one realisation of the telegraph signal
(:func:`spsll.physics.defects.rtn.sample_rtn`). The masks of one sample come from a generator
seeded by a hash of (seed, σ, τ), so a sample's ensemble does not depend on the batch, chunk or
shard that computes it, and different seeds give independent ensembles.
"""

from __future__ import annotations

import hashlib
import struct

import torch

from spsll.physics.checks import require_int_at_least
from spsll.physics.defects import mosaic, rtn


def sample_seed(seed: int, sigma: float, tau: float) -> int:
    """Seed of the mask generator of one sample: a hash of (seed, σ, τ) (σ, τ as float64 metres).

    Stable across processes and platforms (not Python's salted ``hash``).
    """
    data = struct.pack("<qdd", int(seed), float(sigma), float(tau))
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") & ((1 << 63) - 1)


def vacancy_masks(n_cells: int | tuple[int, ...], cell_size: float, sigma, tau, realisations: int, seed: int = 0,
                  *, mirrored: bool = False, dtype=torch.float64, device=None) -> torch.Tensor:
    """RTN occupation masks, shape (B·R, L) of 0./1., sample-major (row b·R + r); for a film or bulk
    shape (Nx, Ny[, Nz]) the coloured Poisson mosaic (docs/physics.md#mosaic), (B·R, *shape).

    Each sample's R chains of ``n_cells`` cells (``cell_size`` m) are drawn with
    :func:`~spsll.physics.defects.rtn.sample_rtn` (means σ_b, τ_b in metres) from a CPU generator
    seeded by :func:`sample_seed`, then moved to ``device`` (the same masks on every device).
    ``mirrored`` appends the flipped copy (L = 2·n_cells, the wall domain); otherwise L = n_cells.
    For a film or bulk ``mirrored`` appends the mosaic's copy flipped along x, (B·R, 2Nx, Ny[, Nz]):
    the film wall domain, whose two walls see the same defects (docs/physics.md#film-walls); the
    first Nx cells are exactly the unmirrored mosaic. τ = 0 gives all ones.
    """
    R = require_int_at_least("realisations", realisations, 1)
    if not isinstance(n_cells, int) and len(n_cells) > 1:
        r = _mosaic_masks(tuple(n_cells), cell_size, sigma, tau, R, seed, dtype, device)
        return torch.cat([r, r.flip(1)], dim=1) if mirrored else r
    n = require_int_at_least("n_cells", n_cells if isinstance(n_cells, int) else n_cells[0], 2)
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    s, t = rtn.batch_params(sigma, tau)
    rows = []
    for sb, tb in zip(s.tolist(), t.tolist(), strict=True):
        g = torch.Generator().manual_seed(sample_seed(seed, sb, tb))
        rows.append(rtn.sample_rtn(R, n, cell_size, sb, tb, generator=g))
    r = torch.cat(rows, dim=0)
    if mirrored:
        r = torch.cat([r, r.flip(-1)], dim=-1)
    return r.to(dtype=dtype, device=device)


def _mosaic_masks(shape, cell_size, sigma, tau, R, seed, dtype, device) -> torch.Tensor:
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    s, t = rtn.batch_params(sigma, tau)
    rows = [mosaic.draw_mosaic(R, shape, cell_size, sb, tb, generator=torch.Generator().manual_seed(
        sample_seed(seed, sb, tb))) for sb, tb in zip(s.tolist(), t.tolist(), strict=True)]
    return torch.cat(rows, dim=0).to(dtype=dtype, device=device)
