"""Geometries, initial textures and their measurements (topological charge, skyrmion radius)."""

import math

import pytest
import torch

from spsll.physics.geometry import geometry_mask
from spsll.physics.grid import Grid
from spsll.physics.measure.texture import skyrmion_radius, topological_charge
from spsll.physics.textures import initial_texture

NM = 1e-9


@pytest.mark.parametrize("r0_nm", [5.0, 7.3, 12.0])
def test_the_radius_of_the_analytic_profile_is_its_zero_contour(r0_nm):
    # θ = 2 arctan exp((r0 − r)/δ) crosses m_z = 0 exactly at r0; bilinear interpolation of a
    # profile 3 cells wide biases the contour by < 0.5 % (measured 0.1–0.3 %)
    grid = Grid((64, 64), 1 * NM)
    m = initial_texture("skyrmion", grid, radius=r0_nm * NM, width=3 * NM)
    assert float(skyrmion_radius(m, grid)[0]) == pytest.approx(r0_nm * NM, rel=5e-3)


def test_charge_is_an_integer_and_follows_the_core_anywhere():
    grid = Grid((64, 48), 1 * NM)
    m = initial_texture("skyrmion", grid, radius=8 * NM, dmi=-1e-3, batch=2)
    m[1] = torch.roll(m[1], (25, -20), dims=(1, 2))  # across the periodic edges
    q = topological_charge(m)
    torch.testing.assert_close(q, torch.full((2,), -1.0, dtype=torch.float64), rtol=0, atol=1e-12)
    r = skyrmion_radius(m, grid)
    assert float(r[1]) == pytest.approx(float(r[0]), rel=1e-9)
    uniform = initial_texture("uniform", grid)
    assert float(topological_charge(uniform)[0]) == 0.0 and math.isnan(float(skyrmion_radius(uniform, grid)[0]))


def test_the_dmi_sign_sets_the_neel_sense():
    grid = Grid((32, 32), 1 * NM)
    plus = initial_texture("skyrmion", grid, radius=6 * NM, dmi=1e-3)
    minus = initial_texture("skyrmion", grid, radius=6 * NM, dmi=-1e-3)
    torch.testing.assert_close(plus[:, :2], -minus[:, :2])
    # m_x > 0 at +x from the core for D > 0 (radial outwards): docs in spsll/physics/textures.py
    assert float(plus[0, 0, 24, 16]) > 0


def test_geometries_cover_what_they_say():
    grid = Grid((60, 60), 2 * NM)
    disk = geometry_mask("disk", grid, diameter=100 * NM)
    assert float(disk.sum()) * 4 == pytest.approx(math.pi * 50**2, rel=0.02)  # area in nm²
    wire = geometry_mask("wire", Grid(110, 1 * NM), length=100 * NM)
    assert int(wire.sum()) == 100 and wire[:5].sum() == 0 and wire[-5:].sum() == 0
    rect = geometry_mask("rectangle", grid, length=60 * NM, width=30 * NM)
    assert int(rect.sum()) == 30 * 14  # 60 nm = 30 cells; 30 nm = 15 cells, symmetric about a boundary: 14
    assert geometry_mask("film", grid) is None


def test_bad_geometries_and_textures_are_refused():
    with pytest.raises(ValueError, match="does not fit the box"):
        geometry_mask("disk", Grid((50, 50), 2 * NM), diameter=100 * NM)  # no empty cell around it
    with pytest.raises(ValueError, match="geometry must be one of"):
        geometry_mask("torus", Grid((50, 50), 2 * NM))
    with pytest.raises(ValueError, match="film grid"):
        geometry_mask("disk", Grid(100, 2 * NM), diameter=10 * NM)
    with pytest.raises(ValueError, match="texture must be one of"):
        initial_texture("hopfion", Grid((8, 8), NM))
    with pytest.raises(ValueError, match="radius"):
        initial_texture("skyrmion", Grid((8, 8), NM))


def test_relax_texture_keeps_one_sample_per_sigma_tau_pair_even_for_psll(fept):
    from spsll.physics.measure.relaxed_texture import relax_texture
    from spsll.physics.solvers import SolverConfig

    grid = Grid((16, 16), fept.a)
    res = relax_texture(fept, grid, "uniform", solver=SolverConfig(name="psll", compile=False),
                        sigma=[10 * NM, 20 * NM, 30 * NM], tau=[0.0, 1 * NM, 2 * NM], max_iter=100)
    assert res.m.shape == (3, 3, 16, 16) and res.converged.shape == (3,)
