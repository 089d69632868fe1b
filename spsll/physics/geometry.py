"""Finite samples inside the periodic box: occupation masks of a film, a disk, a wire, a rectangle.

A geometry is a mask r (1 inside, 0 outside) applied exactly as the explicit vacancies are: cells
outside hold m = 0, the total effective field is multiplied by r, so a pair interaction exists only
between two cells of the sample. For the nearest-neighbour exchange (and the central-difference DMI)
this is the free boundary condition of a finite-difference code (docs/physics.md#geometry). The
sample is centred in the box; the box must leave at least one empty cell around it so that the
periodic images do not touch.
"""

from __future__ import annotations

import torch

from spsll.physics.grid import Grid

GEOMETRIES = ("film", "disk", "wire", "rectangle")


def cell_centres(grid: Grid, *, device=None) -> list[torch.Tensor]:
    """Cell-centre coordinates (m) relative to the box centre, one tensor per axis, broadcastable."""
    out = []
    for d, n in enumerate(grid.shape):
        x = (torch.arange(n, dtype=torch.float64, device=device) + 0.5 - n / 2) * grid.a
        view = [1] * grid.ndim
        view[d] = -1
        out.append(x.view(view))
    return out


def _fits(name: str, size: float, grid: Grid, axis: int) -> None:
    room = (grid.shape[axis] - 2) * grid.a  # one empty cell on each side: images must not touch
    if not 0 < size <= room + 1e-12 * grid.a:
        raise ValueError(f"geometry {name} = {size / 1e-9:g} nm does not fit the box: axis {axis} has "
                         f"{grid.shape[axis]} cells of {grid.a / 1e-9:g} nm (at most {room / 1e-9:g} nm with one "
                         "empty cell each side)")


def _within(x: torch.Tensor, size: float, a: float) -> torch.Tensor:
    """Cells wholly inside a centred segment of ``size`` (a tolerance of 1e-6 a absorbs round-off)."""
    return x.abs() + a / 2 <= size / 2 + 1e-6 * a


def geometry_mask(kind: str, grid: Grid, *, diameter: float | None = None, length: float | None = None,
                  width: float | None = None, device=None) -> torch.Tensor | None:
    """Occupation (*shape) of 0./1. float64 of the sample, or None for ``film`` (the whole periodic box).

    disk: ``diameter`` (m), a film grid (Nx, Ny); cells whose centre lies within the circle (as a
    finite-difference code discretises a disk).
    wire: ``length`` (m) along x, centred (a chain, or every row of a film: a strip).
    rectangle: ``length`` along x and ``width`` along y (m), a film grid.
    Wires and rectangles hold the cells wholly inside them (a length of n cells is n cells; the box
    centre is a cell boundary for an even number of cells, so an odd count loses its last cell).
    """
    if kind not in GEOMETRIES:
        raise ValueError(f"geometry must be one of {GEOMETRIES}, got {kind!r}")
    if kind == "film":
        return None
    xs = cell_centres(grid, device=device)
    if kind == "disk":
        if grid.ndim != 2 or diameter is None:
            raise ValueError("a disk needs a film grid (Nx, Ny) and geometry.diameter_nm")
        for axis in (0, 1):
            _fits("diameter", diameter, grid, axis)
        inside = xs[0] ** 2 + xs[1] ** 2 <= (diameter / 2) ** 2
    elif kind == "wire":
        if length is None:
            raise ValueError("a wire needs geometry.length_nm")
        _fits("length", length, grid, 0)
        inside = _within(xs[0], length, grid.a).expand(grid.shape)
    else:
        if grid.ndim != 2 or length is None or width is None:
            raise ValueError("a rectangle needs a film grid (Nx, Ny), geometry.length_nm and geometry.width_nm")
        _fits("length", length, grid, 0)
        _fits("width", width, grid, 1)
        inside = _within(xs[0], length, grid.a) & _within(xs[1], width, grid.a)
    mask = inside.to(torch.float64)
    if not bool(mask.any()):
        raise ValueError(f"the {kind} holds no cell centre: make it larger than one cell ({grid.a / 1e-9:g} nm)")
    return mask

