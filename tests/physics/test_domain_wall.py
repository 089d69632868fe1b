"""Relaxed domain walls and their widths against docs/physics.md#ref-walls."""

import math

import pytest
import torch

from spsll.physics.material import Material
from spsll.physics.measure.domain_wall import WallSettings, relax_domain_walls
from spsll.physics.measure.width import cosine_series_width, tanh_fit_width
from spsll.physics.solvers import SolverConfig

NM = 1e-9
PSLL = SolverConfig(name="psll")


@pytest.fixture(scope="module")
def ideal_wall(fept):
    return relax_domain_walls(fept, None, None, solver=PSLL, keep_state=True)


def test_ideal_wall_widths(ideal_wall):
    # docs/physics.md#ref-walls: a-lattice with the shape term, tanh 3.686 ± 0.01 nm, cosine series 3.668 ± 0.01 nm
    assert float(ideal_wall.width_tanh_nm) == pytest.approx(3.686, abs=0.01)
    assert float(ideal_wall.width_nm) == pytest.approx(3.668, abs=0.01)
    assert bool(ideal_wall.converged.all())
    assert float(ideal_wall.width_err_nm) < 0.005  # truncation error of the 700-term series
    m = ideal_wall.m
    assert torch.allclose(m.norm(dim=1), torch.ones_like(m[:, 0]), atol=1e-12)
    # the wall stays where it was put (x = 0 of the stored window) and is a Bloch wall (m_x)
    assert ideal_wall.mz.shape == (1, 500)
    assert float(ideal_wall.mz[0, 249]) < 0 < float(ideal_wall.mz[0, 250])


def test_minimiser_reaches_the_dynamics_state(fept, ideal_wall):
    # the paper's route: α = 1 dynamics (20 ps suffices, docs/physics.md#ref-walls) gives the same relaxed wall
    dyn = relax_domain_walls(fept, None, None, solver=PSLL,
                             settings=WallSettings(method="dynamics", duration=20e-12))
    assert float((dyn.width_nm - ideal_wall.width_nm).abs()) < 1e-3
    assert float((dyn.mz - ideal_wall.mz).abs().max()) < 1e-4


def test_no_shape_term_matches_finite_difference_code(fept):
    # docs/physics.md#ref-walls: 3.420 nm without the shape term (magnum.np gives exactly this)
    mat = Material(Ms=fept.Ms, A=fept.A, Hk=fept.Hk, a=fept.a, shape_anisotropy=False)
    w = relax_domain_walls(mat, None, None, solver=PSLL)
    assert float(w.width_tanh_nm) == pytest.approx(3.420, abs=0.01)


@pytest.mark.slow
def test_width_converges_to_continuum_as_cell_shrinks(fept):
    # docs/physics.md#ref-walls: 3.722 nm at a/2 and 3.731 nm at a/4, towards the continuum 3.733 nm
    widths = []
    for div, n in ((2, 1000), (4, 2000)):
        mat = Material(Ms=fept.Ms, A=fept.A, Hk=fept.Hk, a=fept.a / div)
        w = relax_domain_walls(mat, None, None, solver=PSLL, settings=WallSettings(n_cells=n))
        widths.append(float(w.width_tanh_nm))
    assert widths[0] == pytest.approx(3.722, abs=0.01)
    assert widths[1] == pytest.approx(3.731, abs=0.01)


def test_spsll_walls_narrow_with_defects(fept, ideal_wall):
    sig = torch.tensor([10.0, 30.0, 100.0, 50.0]) * NM
    tau = torch.tensor([5.0, 5.0, 2.0, 0.0]) * NM
    w = relax_domain_walls(fept, sig, tau)
    phi = sig / (sig + tau)
    # docs/physics.md#ref-walls: w ≈ w0 √φ; (10, 5) ≈ 3.02 nm
    assert float(w.width_tanh_nm[0]) == pytest.approx(3.02, abs=0.03)
    expected = float(ideal_wall.width_tanh_nm) * phi.sqrt()
    torch.testing.assert_close(w.width_tanh_nm, expected.double(), rtol=0.02, atol=0)
    assert float(w.width_nm[3]) == pytest.approx(float(ideal_wall.width_nm), abs=1e-9)  # τ = 0
    assert bool(w.converged.all())


def test_convolution_walls_away_from_spike(fept):
    w = relax_domain_walls(fept, 10 * NM, 5 * NM, solver=SolverConfig(name="spsll_convolution"))
    assert bool(w.converged.all())
    # the far-field weight g ≈ 0.58 scales the exchange: w ≈ w0 √0.58, narrower than spsll
    assert float(w.width_tanh_nm) == pytest.approx(3.686 * math.sqrt(0.58), rel=0.03)


def test_width_methods_recover_an_exact_tanh():
    a = 0.339 * NM
    x = torch.arange(500, dtype=torch.float64) + 0.5
    for delta_cells, x0 in ((3.5, 250.0), (6.0, 247.3)):
        mz = torch.tanh((x - x0) / delta_cells)[None]
        w_cos, err = cosine_series_width(mz, a)
        w_tanh = tanh_fit_width(mz, a)
        exact = math.pi * delta_cells * a
        assert float(w_tanh) == pytest.approx(exact, rel=1e-9)
        # the series is linearised at the interpolated crossing, close to x0
        assert float(w_cos) == pytest.approx(exact, rel=2e-3)
        assert float(err) < 1e-3 * exact


def test_profile_without_wall_rejected():
    with pytest.raises(ValueError, match="no zero crossing"):
        tanh_fit_width(torch.ones(1, 100, dtype=torch.float64), 1e-9)


def test_width_depends_mostly_on_material_fraction(fept):
    # docs/physics.md#identifiability: under spsll the width depends on (σ, τ) mostly through φ = σ/(σ+τ).
    # Same φ = 2/3 at very different T (3.3 vs 13.3 nm) vs a change of φ from 2/3 to 1/2:
    sig = torch.tensor([10.0, 40.0, 10.0], dtype=torch.float64) * NM
    tau = torch.tensor([5.0, 20.0, 10.0], dtype=torch.float64) * NM
    w = relax_domain_walls(fept, sig, tau).width_tanh_nm
    same_phi = float((w[0] - w[1]).abs())
    other_phi = float((w[0] - w[2]).abs())
    assert same_phi < 0.1 * other_phi, (w, same_phi, other_phi)
