"""Films and bulk: the N-dimensional grid, exchange and integrators (docs/physics.md#next).

A texture that is uniform along y (and z) must evolve exactly as the chain does, the lattice
exchange must act on a plane wave as −Ms ω(k) with ω = 2(λex/a)² Σ_d [1 − cos k_d a], and the ideal
film's dispersion along k_x (a line excitation) must lie on the chain's analytic curve.
"""

import math

import pytest
import torch

from spsll.physics.grid import Grid
from spsll.physics.llg import choose_time_step, integrate
from spsll.physics.measure.dispersion import DispersionSettings, simulate_dispersions
from spsll.physics.relax import relax_bb
from spsll.physics.solvers import SolverConfig, build_system

PSLL = SolverConfig(name="psll", compile=False)


def texture(shape, seed=0, amp=0.3):
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(1, 3, *shape, generator=g, dtype=torch.float64) * amp
    m[:, 2] += 1
    return m / m.norm(dim=1, keepdim=True)


@pytest.mark.parametrize("extra", [(4,), (3, 2)])
def test_a_texture_uniform_across_the_film_evolves_as_the_chain(fept, extra):
    chain = texture((64,))
    film = chain.reshape(1, 3, 64, *[1] * len(extra)).expand(1, 3, 64, *extra).contiguous()
    sys1 = build_system(PSLL, fept, Grid(64, fept.a), alpha=0.05)
    sysn = build_system(PSLL, fept, Grid((64, *extra), fept.a), alpha=0.05)
    dt, _ = choose_time_step(sysn, 10e-15, 0.35)
    out1 = integrate(sys1, chain, dt, 200, compile=False)
    outn = integrate(sysn, film, dt, 200, compile=False)
    for idx in torch.cartesian_prod(*[torch.arange(n) for n in extra]).reshape(-1, len(extra)).tolist():
        torch.testing.assert_close(outn[(slice(None), slice(None), slice(None), *idx)], out1, rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape", [(16, 8), (8, 6, 4)])
def test_lattice_exchange_on_a_plane_wave(fept, shape):
    grid = Grid(shape, fept.a)
    system = build_system(PSLL, fept, grid, alpha=0.0)
    j = [1, 2, 3][: len(shape)]
    phase = sum(2 * math.pi * jd * torch.arange(n, dtype=torch.float64).view([-1 if i == d else 1 for i in
                range(len(shape))]) / n for d, (jd, n) in enumerate(zip(j, shape, strict=True)))
    m = torch.zeros(1, 3, *shape, dtype=torch.float64)
    m[:, 0] = torch.cos(phase)
    omega = fept.exchange_prefactor * sum(1 - math.cos(2 * math.pi * jd / n) for jd, n in zip(j, shape, strict=True))
    torch.testing.assert_close(system.exchange.field(m), -fept.Ms * omega * m, rtol=1e-10, atol=1e-6)


def test_damped_film_loses_energy_and_keeps_unit_length(fept):
    m = texture((24, 16), seed=2)
    system = build_system(PSLL, fept, Grid((24, 16), fept.a), alpha=0.2)
    dt, _ = choose_time_step(system, 10e-15, 0.35)
    energies = [float(system.energy(m))]
    for _ in range(5):
        m = integrate(system, m, dt, 40, compile=False)
        energies.append(float(system.energy(m)))
    assert all(b < a for a, b in zip(energies, energies[1:], strict=False)), energies
    torch.testing.assert_close(m.norm(dim=1), torch.ones(1, 24, 16, dtype=torch.float64), rtol=0, atol=1e-13)


def test_the_minimiser_relaxes_a_film(fept):
    m = texture((16, 16), seed=3, amp=0.2)
    system = build_system(PSLL, fept, Grid((16, 16), fept.a), alpha=1.0)
    res = relax_bb(system, m, torque_tol=1e-7, max_iter=5000, compile=False)
    assert bool(res.converged.all())
    assert float(res.m[:, 2].min()) > 1 - 1e-9  # the uniform perpendicular state


def test_ideal_film_dispersion_is_the_chains_analytic_curve(fept):
    # docs/physics.md#next: the line excitation drives k_y = 0 only, so every k_x must sit within one
    # frequency bin (100 GHz) of f = f_gap + X0 [1 − cos k_x a]
    settings = DispersionSettings(n_cells=64, n_rows=4)
    res = simulate_dispersions(fept, None, None, solver=PSLL, settings=settings)
    analytic = fept.ideal_frequency(res.k)
    df = 1 / settings.duration
    assert res.freq.shape == (1, 64)
    assert float((res.freq[0] - analytic).abs().max()) <= df
    assert float((res.freq_refined[0] - analytic).abs().max()) < 0.1 * df  # sub-bin refinement


def test_bad_grids_are_refused(fept):
    with pytest.raises(ValueError, match="1 to 3 dimensions"):
        Grid((4, 4, 4, 4), fept.a)
    with pytest.raises(ValueError, match="grid size"):
        Grid((16, 0), fept.a)
    with pytest.raises(ValueError, match="cell size"):
        Grid((16, 16), -1.0)
    with pytest.raises(ValueError, match="n_rows"):
        DispersionSettings(n_rows=0)


def test_explicit_defect_films_at_tau_zero_are_the_ideal_film(fept):
    # mosaic masks of τ = 0 are all ones: the ensemble's row-averaged film dispersion equals psll's
    settings = DispersionSettings(n_cells=64, n_rows=8, duration=2e-12)
    ensemble = SolverConfig.of("rtn_ensemble", realisations=2, compile=False)
    ens = simulate_dispersions(fept, [10e-9], [0.0], solver=ensemble, settings=settings)
    ref = simulate_dispersions(fept, None, None, solver=PSLL, settings=settings)
    assert torch.equal(ens.freq, ref.freq)
    torch.testing.assert_close(ens.freq_refined, ref.freq_refined, rtol=1e-12, atol=0)
    defective = simulate_dispersions(fept, [3e-9], [1e-9], solver=ensemble, settings=settings)
    assert 0.6 < float(defective.occupied_fraction[0]) < 0.9  # φ = 0.75, two 64 × 8 mosaics
