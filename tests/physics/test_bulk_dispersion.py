"""Dispersions in bulk (docs/physics.md#films): a plane excitation across an N × M × L box.

The chain's pulse, uniform in y and z, drives k_y = k_z = 0 only, so the ideal box's peaks must lie on
the chain's analytic curve f = f_gap + X0 [1 − cos k_x a]; under the k-diagonal readings the box is
exactly its k_y = k_z = 0 line carrying the box's multipliers (``line_system``), which must repeat the
whole box to round-off; explicit vacancies at τ = 0 are all-ones masks, i.e. ``psll``.
"""

import dataclasses
import math

import pytest
import torch

from spsll.physics.defects.mosaic import mosaic_continuous_spectrum
from spsll.physics.defects.rtn import material_fraction
from spsll.physics.grid import Grid
from spsll.physics.measure.dispersion import DispersionSettings, bulk_row_power, row_power, simulate_dispersions
from spsll.physics.solvers import SolverConfig, build_system, line_system
from spsll.physics.terms.exchange import exchange_kernel

NM = 1e-9
SIGMA, TAU = [10 * NM, 6 * NM], [5 * NM, 2 * NM]  # two samples, σ, τ > 0
SECTIONS = ((4, 4), (4, 6))  # (M, L): two cross-sections, one not square


def cfg(name, **kw):
    return SolverConfig.of(name, compile=False, **kw)


@pytest.mark.parametrize("reduced", [True, False])
def test_ideal_bulk_dispersion_is_the_chains_analytic_curve(fept, reduced):
    # every k_x within one frequency bin (100 GHz) of the analytic curve, the refined peak within 10 GHz,
    # as the chain and the film (measured: 0.50 bin and 4.0 GHz, the same whole or reduced)
    settings = DispersionSettings(n_cells=64, n_rows=4, n_layers=4)
    res = simulate_dispersions(fept, None, None, solver=cfg("psll"), settings=settings, line_reduction=reduced)
    analytic = fept.ideal_frequency(res.k)
    df = 1 / settings.duration
    assert res.freq.shape == (1, 64)
    assert float((res.freq[0] - analytic).abs().max()) <= df
    assert float((res.freq_refined[0] - analytic).abs().max()) < 0.1 * df


@pytest.mark.parametrize("name", ["psll", "spsll"])
@pytest.mark.parametrize("section", SECTIONS)
def test_line_field_is_the_boxs_field_on_uniform_states(fept, name, section):
    # with DMI as well (interfacial: ∂x, ∂y only): every multiplier is taken at k_y = k_z = 0
    mat = dataclasses.replace(fept, D=1.5e-3)
    box = Grid((32, *section), mat.a)
    line = line_system(cfg(name), mat, box, SIGMA, TAU, alpha=0.1)
    full = build_system(cfg(name), mat, box, SIGMA, TAU, alpha=0.1)
    g = torch.Generator().manual_seed(0)
    m = torch.randn(2, 3, 32, 1, generator=g, dtype=torch.float64)
    m = m / m.norm(dim=1, keepdim=True)
    h_line = line.field(m)
    h_box = full.field(m[..., None].expand(2, 3, 32, *section).contiguous())
    scale = float(h_box.abs().max())
    # the same sums in another FFT order: round-off, ~1e-16 of the largest field (measured 3e-16)
    torch.testing.assert_close(h_box, h_line[..., None].expand_as(h_box), rtol=0, atol=1e-13 * scale)
    assert line.field_bound() == full.field_bound()  # the box's step sizes (3D Laplacian)
    assert line.field_bound() > build_system(cfg(name), mat, Grid((32, 4), mat.a), SIGMA, TAU,
                                             alpha=0.1).field_bound()


@pytest.mark.parametrize("section", SECTIONS)
def test_line_filter_is_the_boxs(fept, section):
    # F(k_x, 0, 0) = φ + √(S_3(|k_x|) Δk_x Δk_y Δk_z) of the (N, M, L) box: it depends on the cross-section
    N = 32
    line = line_system(cfg("spsll"), fept, Grid((N, *section), fept.a), SIGMA, TAU, alpha=0.1)
    kappa = exchange_kernel(fept, Grid((N, 1), fept.a))  # κ(k_x), (N, 1)
    kx = Grid((N, 1), fept.a).rfft_wavevectors()[0][:, 0]
    dk3 = (2 * math.pi) ** 3 / (N * section[0] * section[1] * fept.a**3)
    s, t = torch.tensor(SIGMA, dtype=torch.float64), torch.tensor(TAU, dtype=torch.float64)
    expect = material_fraction(s, t)[:, None] + torch.sqrt(mosaic_continuous_spectrum(kx.abs(), s, t, 3) * dk3)
    got = line.exchange.kernel[:, 0, 1:, 0] / kappa[1:, 0]  # k_x ≠ 0 (κ(0) = 0)
    torch.testing.assert_close(got, expect[:, 1:], rtol=1e-12, atol=0)


def test_readings_without_a_reduction_run_the_box(fept):
    box = Grid((32, 4, 4), fept.a)
    assert line_system(cfg("spsll_convolution"), fept, box, SIGMA, TAU, alpha=0.1) is None
    assert line_system(cfg("rtn_ensemble"), fept, box, SIGMA, TAU, alpha=0.1) is None
    # the fitted reading was fitted to films: bulk is refused with its name, not silently reduced
    settings = DispersionSettings(n_cells=32, n_rows=4, n_layers=4, duration=0.5e-12)
    with pytest.raises(ValueError, match="spsll_fitted was fitted to films"):
        simulate_dispersions(fept, SIGMA, TAU, solver=cfg("spsll_fitted"), settings=settings)


@pytest.mark.parametrize("name", ["psll", "spsll"])
@pytest.mark.parametrize("section", SECTIONS)
def test_reduced_dispersion_equals_the_full_box(fept, name, section):
    settings = DispersionSettings(n_cells=32, n_rows=section[0], n_layers=section[1], duration=0.5e-12,
                                  keep_spectrum_below=12e12)
    sigma, tau = (None, None) if name == "psll" else (SIGMA, TAU)
    red = simulate_dispersions(fept, sigma, tau, solver=cfg(name), settings=settings)
    full = simulate_dispersions(fept, sigma, tau, solver=cfg(name), settings=settings, line_reduction=False)
    assert torch.equal(red.freq, full.freq)
    # float64 states equal to ~1e-15 (refined peaks measured equal to 2e-16 relative); the record is float32
    torch.testing.assert_close(red.freq_refined, full.freq_refined, rtol=1e-12, atol=0)
    torch.testing.assert_close(red.spectrum, full.spectrum, rtol=0, atol=1e-6 * float(full.spectrum.max()))


def test_explicit_defect_bulk_at_tau_zero_is_psll(fept):
    # mosaic masks of τ = 0 are all ones: the ensemble's whole box (3D FFTs, all 16 rows) equals psll's
    # k_y = k_z = 0 line (a 1D FFT) to round-off
    settings = DispersionSettings(n_cells=32, n_rows=4, n_layers=4, duration=2e-12)
    ensemble = cfg("rtn_ensemble", realisations=2)
    ens = simulate_dispersions(fept, [10 * NM], [0.0], solver=ensemble, settings=settings)
    ref = simulate_dispersions(fept, None, None, solver=cfg("psll"), settings=settings)
    assert torch.equal(ens.freq, ref.freq)
    torch.testing.assert_close(ens.freq_refined, ref.freq_refined, rtol=1e-12, atol=0)
    assert float(ens.occupied_fraction[0]) == 1.0
    # τ > 0: 3D mosaics (φ = 0.75) move the peaks off the ideal curve (measured: 9.7 bins on average)
    defective = simulate_dispersions(fept, [1.5 * NM], [0.5 * NM], solver=ensemble, settings=settings)
    assert 0.6 < float(defective.occupied_fraction[0]) < 0.9  # two 32 × 4 × 4 mosaics of T = 0.375 nm
    assert float((defective.freq_refined - ref.freq_refined).abs().mean()) > 1 / settings.duration


def test_bulk_row_power_is_the_mean_over_all_rows():
    # the chunked float64 transform of the M·L rows equals the film's row mean over the flattened rows
    g = torch.Generator().manual_seed(1)
    record = torch.randn(2, 40, 16, 3, 5, generator=g, dtype=torch.float32)
    expect = row_power(record.flatten(3).to(torch.float64))
    for chunk in (1, 7, 30, 1000):  # rows per transform: ragged, exact and larger than the box
        torch.testing.assert_close(bulk_row_power(record, chunk=chunk), expect, rtol=1e-12, atol=0)


def test_bad_bulk_settings_are_refused():
    with pytest.raises(ValueError, match="n_layers must be an integer"):
        DispersionSettings(n_rows=4, n_layers=0)
    with pytest.raises(ValueError, match="needs n_rows >= 2"):
        DispersionSettings(n_layers=4)
    assert DispersionSettings(n_cells=32, n_rows=4, n_layers=6).grid(1e-9).shape == (32, 4, 6)
    assert DispersionSettings(n_cells=32, n_rows=4).grid(1e-9).shape == (32, 4)  # films unchanged
