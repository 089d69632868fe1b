import torch

from spsll.physics.grid import Grid
from spsll.physics.solvers import SOLVERS


def exchange(name, material, n_cells, sigma=None, tau=None, *, mask=None):
    """The exchange term that solver ``name`` builds on an ``n_cells`` chain (float64, CPU)."""
    kw = {"mask": mask} if SOLVERS[name].explicit_defects else {}
    return SOLVERS[name].exchange(material, Grid(n_cells, material.a), sigma, tau, dtype=torch.float64,
                                  device=None, **kw)
