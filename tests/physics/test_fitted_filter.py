"""The fitted film reading ``spsll_fitted``: F = F0 Θ(k_cut − |k|), F0 = 1 − c (1 − φ),
k_cut = A (σ/nm)^p (τ/nm)^q (docs/fitted-filter.md). Its defining properties are tested here; how well
it matches explicit ensembles is the fitted-filter study's (tests/studies/test_fitted_filter_study.py).
"""

import dataclasses
import json
import math

import pytest
import torch

from spsll.physics.defects.fitted import FittedFilterParams
from spsll.physics.grid import Grid
from spsll.physics.measure.dispersion import DispersionSettings, simulate_dispersions
from spsll.physics.measure.domain_wall import WallSettings, relax_domain_walls
from spsll.physics.measure.linear_response import linear_dispersion
from spsll.physics.solvers import SOLVERS, SolverConfig, build_system
from tests.data.conftest import ROOT

NM = 1e-9
PARAMS = {"stiffness_slope": 0.3, "k_cut_rad_per_nm": 1.5, "k_cut_sigma_exponent": 0.4, "k_cut_tau_exponent": -0.1}


def fitted(**kw):
    return SolverConfig.of("spsll_fitted", compile=False, **{**PARAMS, **kw})


def test_filter_is_the_step_of_its_formula():
    p = FittedFilterParams(**PARAMS)
    s, t = torch.tensor([10 * NM, 40 * NM], dtype=torch.float64), torch.tensor([2 * NM, 1 * NM], dtype=torch.float64)
    k = torch.linspace(0, 9e9, 50, dtype=torch.float64)
    F = p.filter(k, s, t)
    phi = s / (s + t)
    f0 = 1 - 0.3 * (1 - phi)
    kc = 1.5e9 * (s / NM) ** 0.4 * (t / NM) ** -0.1
    expect = torch.where(k[None] <= kc[:, None], f0[:, None], torch.zeros(()))
    torch.testing.assert_close(F, expect.to(torch.float64), rtol=1e-14, atol=0)
    assert math.isinf(float(p.k_cut(torch.tensor([5 * NM]), torch.tensor([0.0]))[0]))


def test_tau_zero_is_the_perfect_film_exactly(fept):
    grid = Grid((32, 8), fept.a)
    ideal = build_system(SolverConfig.of("psll", compile=False), fept, grid, alpha=0.1)
    fit = build_system(fitted(), fept, grid, [10 * NM, 30 * NM], [0.0, 0.0], alpha=0.1)
    m = torch.randn(2, 3, 32, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    m = m / m.norm(dim=1, keepdim=True)
    torch.testing.assert_close(fit.field(m), ideal.field(m), rtol=0, atol=0)


def test_the_exchange_is_the_filtered_kernel_on_the_film_grid(fept):
    # κ(k) F(|k|) with |k| = √(k_x² + k_y²): isotropic in the film, zero beyond the cut
    grid = Grid((24, 16), fept.a)
    s, t = torch.tensor([8 * NM]), torch.tensor([1.5 * NM])
    ex = SOLVERS["spsll_fitted"].exchange(fept, grid, s, t, dtype=torch.float64, device="cpu", options=PARAMS)
    ideal = SOLVERS["psll"].exchange(fept, grid, None, None, dtype=torch.float64, device="cpu")
    kx, ky = grid.rfft_wavevectors()
    F = FittedFilterParams(**PARAMS).filter((kx**2 + ky**2).sqrt(), s, t)
    torch.testing.assert_close(ex.kernel[:, 0], ideal.kernel[:, 0] * F, rtol=1e-14, atol=0)
    assert bool((F == 0).any()) and bool((F > 0).any())  # the test holds a cut inside the zone


def test_simulated_film_dispersion_is_the_closed_form(fept):
    # a line excitation across a film: peaks at f_gap + X0 (1 − cos ka) F(k_x) within the peak refinement
    # (measured 4 GHz against the 100 GHz bin of 10 ps), and at the gap beyond k_cut
    settings = DispersionSettings(n_cells=64, n_rows=16)
    s, t = torch.tensor([8 * NM, 30 * NM], dtype=torch.float64), torch.tensor([1.5 * NM, 1.0 * NM], dtype=torch.float64)
    res = simulate_dispersions(fept, s, t, solver=fitted(), settings=settings)
    closed = fept.f_gap + fept.X0 * (1 - torch.cos(res.k * fept.a)) * FittedFilterParams(**PARAMS).filter(
        res.k.abs(), s, t)
    assert float((res.freq_refined - closed).abs().max()) < 0.01e12
    kc = FittedFilterParams(**PARAMS).k_cut(s, t)
    assert bool((res.k.abs()[None] > kc[:, None]).any())


def test_linear_dispersion_uses_the_default_fit(fept):
    k = torch.linspace(0, 9e9, 20, dtype=torch.float64)
    s, t = torch.tensor([10 * NM]), torch.tensor([2 * NM])
    f = linear_dispersion(fept, k, s, t, n_cells=64, solver="spsll_fitted")
    default = FittedFilterParams(**SOLVERS["spsll_fitted"].option_defaults)
    expect = fept.f_gap + fept.X0 * (1 - torch.cos(k * fept.a)) * default.filter(k, s, t)
    torch.testing.assert_close(f, expect, rtol=1e-14, atol=0)


def test_dmi_carries_the_same_filter(fept):
    mat = dataclasses.replace(fept, D=1.5e-3)
    grid = Grid((16, 8), mat.a)
    system = build_system(fitted(), mat, grid, [8 * NM], [1.5 * NM], alpha=0.1)
    dmi = [t for t in system.extra if type(t).__name__ == "DMITerm"][0]
    kx, ky = grid.rfft_wavevectors()
    F = FittedFilterParams(**PARAMS).filter((kx**2 + ky**2).sqrt(), torch.tensor([8 * NM]), torch.tensor([1.5 * NM]))
    torch.testing.assert_close(dmi.filt[:, 0], F.to(dmi.filt.dtype))


def test_walls_are_refused_where_the_cut_lies_inside_the_zone(fept):
    # beyond k_cut short wavelengths cost no exchange: a relaxed wall would sharpen towards a step
    settings = WallSettings(n_cells=32, n_rows=4, n_harmonics=44, n_error_harmonics=8, max_iter=200)
    s, t = torch.tensor([8 * NM], dtype=torch.float64), torch.tensor([1.5 * NM], dtype=torch.float64)
    with pytest.raises(ValueError, match="dispersion reading"):
        relax_domain_walls(fept, s, t, solver=fitted(), settings=settings)
    # with the cut beyond the zone the reading is the stiffness F0 at every k: it relaxes, and its wall is
    # the ideal one scaled by √F0 (the lattice width follows √A within the discretisation of a 32-cell window)
    no_cut = relax_domain_walls(fept, s, t, solver=fitted(k_cut_rad_per_nm=1e6), settings=settings)
    ideal = relax_domain_walls(fept, None, None, solver=SolverConfig.of("psll", compile=False), settings=settings)
    f0 = float(FittedFilterParams(**PARAMS).stiffness(s, t)[0])
    assert float(no_cut.width[0] / ideal.width[0]) == pytest.approx(f0**0.5, rel=0.02)


def test_films_only_and_bad_coefficients_are_refused(fept):
    with pytest.raises(ValueError, match="fitted to films"):
        build_system(fitted(), fept, 64, [10 * NM], [2 * NM], alpha=0.1)
    with pytest.raises(ValueError, match="fitted to films"):
        build_system(fitted(), fept, Grid((8, 8, 8), fept.a), [10 * NM], [2 * NM], alpha=0.1)
    with pytest.raises(ValueError, match="k_cut_rad_per_nm must be > 0"):
        fitted(k_cut_rad_per_nm=0.0)
    with pytest.raises(ValueError, match="stiffness_slope must be in"):
        fitted(stiffness_slope=1.2)
    with pytest.raises(ValueError, match="k_cut_tau_exponent must be a number"):
        fitted(k_cut_tau_exponent=float("nan"))
    with pytest.raises(ValueError, match="only used by solver=spsll_fitted"):
        SolverConfig.of("spsll", stiffness_slope=0.1)


def test_the_configured_coefficients_are_the_code_defaults():
    import yaml

    conf = yaml.safe_load((ROOT / "conf" / "solver" / "spsll_fitted.yaml").read_text())
    defaults = SOLVERS["spsll_fitted"].option_defaults
    assert {k: conf[k] for k in defaults} == defaults
    # and they are the fit the report shows (rounded to 4 significant digits: within 1e-3 relative)
    fit = json.loads((ROOT / "docs" / "fitted-filter" / "fitted-filter.json").read_text())["params"]
    for key, value in defaults.items():
        assert abs(fit[key] - value) <= 1e-3 * max(1.0, abs(value)), key
