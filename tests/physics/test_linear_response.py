"""The closed-form small-amplitude dispersion against the time-domain simulation and analytic limits."""

import pytest
import torch

from spsll.physics.measure.dispersion import simulate_dispersions
from spsll.physics.measure.linear_response import linear_dispersion
from spsll.physics.solvers import SolverConfig

NM = 1e-9
BIN = 100e9  # Δf = 1 / 10 ps


def test_matches_the_simulated_spsll_peaks(fept):
    """Every refined peak of a simulated spsll dispersion sits within 10 GHz (a tenth of a bin) of the
    closed form; the residual is the refinement error of a Hann-windowed 10 ps record (≈ 1 GHz typical,
    4.4 GHz worst over 200 dataset samples) and the RK4 error (1.4 GHz, test_dispersion)."""
    s = torch.tensor([10.0, 22.9, 15.1, 40.0]) * NM
    t = torch.tensor([5.0, 3.0, 12.4, 0.5]) * NM
    res = simulate_dispersions(fept, s, t, solver=SolverConfig(name="spsll"))
    f = linear_dispersion(fept, res.k, s, t, n_cells=500)
    err = (f - res.freq_refined).abs()
    assert float(err.max()) < 0.1 * BIN, float(err.max())
    assert float(err.mean()) < 0.03 * BIN


def test_limits(fept):
    """psll is Eq. 6; spsll at τ = 0 is psll exactly; the zone-boundary scale is X0 φ plus the √S term."""
    k = torch.linspace(-9.0, 9.0, 101, dtype=torch.float64) / NM
    ideal = fept.ideal_frequency(k)
    assert torch.equal(linear_dispersion(fept, k, [10 * NM], [0.0], n_cells=500, solver="psll")[0], ideal)
    assert torch.equal(linear_dispersion(fept, k, [10 * NM], [0.0], n_cells=500)[0], ideal)
    f = linear_dispersion(fept, k, [10 * NM], [5 * NM], n_cells=500)[0]
    boundary = (f[-1] - fept.f_gap) / (ideal[-1] - fept.f_gap)
    assert float(boundary) == pytest.approx(10 / 15, abs=0.02)  # docs/physics.md#ref-dispersion: X ≈ X0 φ within 2 %
    assert torch.allclose(f, f.flip(0))  # even in k


def test_gradients_are_the_derivatives(fept):
    """Autograd through the closed form equals central differences (what refinement descends on)."""
    k = torch.linspace(0.1, 9.0, 40, dtype=torch.float64) / NM
    s = torch.tensor([12.0, 30.0], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([4.0, 1.0], dtype=torch.float64, requires_grad=True)

    def f(s_nm, t_nm):
        return linear_dispersion(fept, k, s_nm * NM, t_nm * NM, n_cells=500).sum(1)

    assert torch.autograd.gradcheck(f, (s, t), eps=1e-6, atol=1e-3, rtol=1e-6)
    # finite at τ = 0 (the guarded square root)
    t0 = torch.tensor([0.0, 0.0], dtype=torch.float64, requires_grad=True)
    f(s, t0).sum().backward()
    assert torch.isfinite(t0.grad).all() and torch.isfinite(s.grad).all()


def test_bad_input(fept):
    k = torch.linspace(0, 1, 5) / NM
    with pytest.raises(ValueError, match="spsll_convolution couples wavenumbers"):
        linear_dispersion(fept, k, [10 * NM], [1 * NM], n_cells=500, solver="spsll_convolution")
    with pytest.raises(ValueError, match="sigma > 0"):
        linear_dispersion(fept, k, [-1 * NM], [1 * NM], n_cells=500)
    with pytest.raises(ValueError, match="same shape"):
        linear_dispersion(fept, k, [1 * NM, 2 * NM], [1 * NM], n_cells=500)
