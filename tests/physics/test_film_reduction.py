"""The exact y-reduction of films under the k-diagonal readings (docs/physics.md#film-walls).

A state uniform along y holds only k_y = 0, and every operator of ``psll`` and ``spsll`` is diagonal in
k (the local terms act per cell), so the film (N, M) is the chain-shaped line (N, 1) carrying the
film's multipliers at k_y = 0 — for ``spsll`` the filter of the (N, M) box. The reduced measurement
must repeat the full film's to round-off (float64), for dispersions and walls, at two box heights.
"""

import dataclasses
import math

import pytest
import torch

from spsll.physics.defects.mosaic import mosaic_continuous_spectrum
from spsll.physics.defects.rtn import material_fraction
from spsll.physics.grid import Grid
from spsll.physics.measure.dispersion import DispersionSettings, simulate_dispersions
from spsll.physics.measure.domain_wall import WallSettings, relax_domain_walls
from spsll.physics.solvers import SolverConfig, build_system, line_system
from spsll.physics.terms.exchange import exchange_kernel

NM = 1e-9
SIGMA, TAU = [10 * NM, 6 * NM], [5 * NM, 2 * NM]  # two samples, σ, τ > 0
HEIGHTS = (4, 8)


def cfg(name):
    return SolverConfig.of(name, compile=False)


def uniform_film(B, N, M, seed=0):
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(B, 3, N, 1, generator=g, dtype=torch.float64)
    m = m / m.norm(dim=1, keepdim=True)
    return m, m.expand(B, 3, N, M).contiguous()


@pytest.mark.parametrize("name", ["psll", "spsll"])
@pytest.mark.parametrize("M", HEIGHTS)
def test_line_field_is_the_films_field_on_uniform_states(fept, name, M):
    # with DMI and the thin-film magnetostatic kernel as well: every multiplier is taken at k_y = 0
    mat = dataclasses.replace(fept, D=1.5e-3, magnetostatics="thin_film")
    film = Grid((32, M), mat.a)
    line = line_system(cfg(name), mat, film, SIGMA, TAU, alpha=0.1)
    full = build_system(cfg(name), mat, film, SIGMA, TAU, alpha=0.1)
    m_line, m_film = uniform_film(2, 32, M)
    h_line, h_film = line.field(m_line), full.field(m_film)
    scale = float(h_film.abs().max())
    # the same sums in another FFT order: round-off, ~1e-16 of the largest field
    for y in range(M):
        torch.testing.assert_close(h_film[..., y : y + 1], h_line, rtol=0, atol=1e-13 * scale)
    assert line.field_bound() == full.field_bound()  # the film's step sizes


@pytest.mark.parametrize("M", HEIGHTS)
def test_line_filter_is_the_boxs_not_the_chains(fept, M):
    # F(k_x, 0) = φ + √(S_2(|k_x|) Δk_x Δk_y) of the (N, M) box: it depends on M through Δk_y = 2π/(M a)
    N = 32
    line = line_system(cfg("spsll"), fept, Grid((N, M), fept.a), SIGMA, TAU, alpha=0.1)
    kappa = exchange_kernel(fept, Grid((N, 1), fept.a))  # κ(k_x), (N, 1)
    kx = Grid((N, 1), fept.a).rfft_wavevectors()[0][:, 0]
    dk = (2 * math.pi / (N * fept.a)) * (2 * math.pi / (M * fept.a))
    s, t = torch.tensor(SIGMA, dtype=torch.float64), torch.tensor(TAU, dtype=torch.float64)
    expect = material_fraction(s, t)[:, None] + torch.sqrt(mosaic_continuous_spectrum(kx.abs(), s, t, 2) * dk)
    got = line.exchange.kernel[:, 0, 1:, 0] / kappa[1:, 0]  # k_x ≠ 0 (κ(0) = 0)
    torch.testing.assert_close(got, expect[:, 1:], rtol=1e-12, atol=0)


def test_readings_without_a_reduction_run_the_film(fept):
    film = Grid((32, 4), fept.a)
    assert line_system(cfg("spsll_convolution"), fept, film, SIGMA, TAU, alpha=0.1) is None
    assert line_system(cfg("rtn_ensemble"), fept, film, SIGMA, TAU, alpha=0.1) is None
    assert line_system(cfg("spsll"), fept, Grid(32, fept.a), SIGMA, TAU, alpha=0.1) is None  # a chain


@pytest.mark.parametrize("name", ["psll", "spsll"])
@pytest.mark.parametrize("M", HEIGHTS)
def test_reduced_dispersion_equals_the_full_film(fept, name, M):
    settings = DispersionSettings(n_cells=32, n_rows=M, duration=0.5e-12, keep_spectrum_below=12e12)
    sigma, tau = (None, None) if name == "psll" else (SIGMA, TAU)
    red = simulate_dispersions(fept, sigma, tau, solver=cfg(name), settings=settings)
    full = simulate_dispersions(fept, sigma, tau, solver=cfg(name), settings=settings, line_reduction=False)
    assert torch.equal(red.freq, full.freq)
    # float64 states equal to ~1e-15 (refined peaks measured equal to 3e-16); the record is float32, where
    # a last-bit flip would be 6e-8 of a sample (measured: none)
    torch.testing.assert_close(red.freq_refined, full.freq_refined, rtol=1e-12, atol=0)
    torch.testing.assert_close(red.spectrum, full.spectrum, rtol=0, atol=1e-6 * float(full.spectrum.max()))


@pytest.mark.parametrize("name", ["psll", "spsll"])
@pytest.mark.parametrize("M", HEIGHTS)
def test_reduced_wall_equals_the_full_film(fept, name, M):
    settings = WallSettings(n_cells=32, n_rows=M, n_harmonics=40, n_error_harmonics=8, torque_tol=1e-10)
    red = relax_domain_walls(fept, SIGMA, TAU, solver=cfg(name), settings=settings, keep_state=True)
    full = relax_domain_walls(fept, SIGMA, TAU, solver=cfg(name), settings=settings, keep_state=True,
                              line_reduction=False)
    assert bool(red.converged.all()) and bool(full.converged.all())
    # the same BB iterates in another FFT order: states measured equal to 4e-14, widths to 4e-14
    # relative (arccos near ±1 can lift a state's round-off by ~100 in a width)
    torch.testing.assert_close(red.m, full.m, rtol=0, atol=1e-12)
    torch.testing.assert_close(red.mz, full.mz, rtol=0, atol=1e-12)
    for key in ("width", "width_tanh", "row_width_mean"):
        torch.testing.assert_close(getattr(red, key), getattr(full, key), rtol=1e-12, atol=0, msg=key)
    assert float(red.row_width_std.max()) == 0.0 and float(full.row_width_std.max()) < 1e-12 * NM


def test_the_statistical_wall_depends_on_the_box_height(fept):
    # √P_j ∝ (Δk_x Δk_y)^½: the box is part of the model, so a film wall of 4 rows is not one of 8, and
    # neither is the chain's (N,) wall
    settings = [WallSettings(n_cells=32, n_rows=M, n_harmonics=40, n_error_harmonics=8, torque_tol=1e-10)
                for M in (1, *HEIGHTS)]
    widths = [relax_domain_walls(fept, SIGMA, TAU, solver=cfg("spsll"), settings=s).width for s in settings]
    for a, b in zip(widths, widths[1:], strict=False):
        assert float((a - b).abs().min()) > 5e-3 * NM  # measured 0.020-0.044 nm
