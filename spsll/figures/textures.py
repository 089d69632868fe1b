"""A picture of a relaxed texture: the m_z map of a film (in-plane arrows), or the profile of a chain."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from spsll.physics.grid import Grid
from spsll.units import NM


def texture_figure(m: torch.Tensor, grid: Grid, title: str = "") -> Figure:
    """One sample m (3, *shape): a film's m_z map with the in-plane part as arrows, a chain's
    components along x, or the mid-plane of bulk."""
    m = m.detach().cpu().to(torch.float64).numpy()
    if grid.ndim == 3:
        m = m[..., grid.shape[2] // 2]
    fig = Figure(figsize=(6.0, 5.0 if grid.ndim > 1 else 3.6), layout="constrained")
    ax = fig.add_subplot()
    if grid.ndim == 1:
        x = (np.arange(grid.shape[0]) + 0.5 - grid.shape[0] / 2) * grid.a / NM
        for i, name in enumerate(("m_x", "m_y", "m_z")):
            ax.plot(x, m[i], label=name)
        ax.set_xlabel("x (nm)")
        ax.legend()
    else:
        nx, ny = m.shape[1:3]
        ext = [-nx * grid.a / NM / 2, nx * grid.a / NM / 2, -ny * grid.a / NM / 2, ny * grid.a / NM / 2]
        im = ax.imshow(m[2].T, origin="lower", extent=ext, cmap="RdBu_r", vmin=-1, vmax=1)
        step = max(1, max(nx, ny) // 24)
        xs = (np.arange(0, nx, step) + 0.5 - nx / 2) * grid.a / NM
        ys = (np.arange(0, ny, step) + 0.5 - ny / 2) * grid.a / NM
        X, Y = np.meshgrid(xs, ys, indexing="ij")
        ax.quiver(X, Y, m[0, ::step, ::step], m[1, ::step, ::step], color="k", scale=30, width=0.003)
        fig.colorbar(im, ax=ax, label="m_z")
        ax.set_xlabel("x (nm)")
        ax.set_ylabel("y (nm)")
    ax.set_title(title, fontsize=10)
    return fig
