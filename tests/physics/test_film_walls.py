"""Straight domain walls in films (docs/physics.md#film-walls).

An ideal film wall is the chain's wall in every row; explicit vacancies at τ = 0 are the ideal film;
the mirrored mosaic makes both walls see the same defects, and its rows are the mosaic's rows; a film
with vacancies pins some rows' walls and spreads the per-row widths.
"""

import math

import pytest
import torch

from spsll.physics.defects import vacancy_masks
from spsll.physics.defects.mosaic import estimate_mosaic_parameters
from spsll.physics.material import Material
from spsll.physics.measure.domain_wall import EnsembleWallResult, WallSettings, relax_domain_walls
from spsll.physics.solvers import SolverConfig

NM = 1e-9
TIGHT = dict(n_cells=32, n_harmonics=40, n_error_harmonics=8, torque_tol=1e-10)


def cfg(name, **kw):
    return SolverConfig.of(name, compile=False, **kw)


def test_ideal_film_wall_is_the_chains_wall(fept):
    chain = relax_domain_walls(fept, None, None, solver=cfg("psll"), settings=WallSettings(**TIGHT))
    film = WallSettings(**TIGHT, n_rows=8)
    reduced = relax_domain_walls(fept, None, None, solver=cfg("psll"), settings=film)
    full = relax_domain_walls(fept, None, None, solver=cfg("psll"), settings=film, line_reduction=False)
    for res in (reduced, full):
        assert bool(res.converged.all()) and res.mz.shape == (1, 32)
        # the same equilibrium reached from another first BB step (the film's stiffness bound is the
        # chain's plus 2·2(λex/a)²Ms): equal to the relaxation tolerance, measured 3e-12 relative
        for key in ("width", "width_tanh", "row_width_mean"):
            torch.testing.assert_close(getattr(res, key), chain.width_tanh if key == "width_tanh" else chain.width,
                                       rtol=1e-10, atol=0, msg=key)
        torch.testing.assert_close(res.mz, chain.mz, rtol=0, atol=1e-10)
        assert float(res.row_width_std[0]) < 1e-12 * NM  # every row is the same wall
    assert chain.row_width_mean is None and chain.row_width_std is None  # chains have no rows
    # spsll at τ = 0 is psll to the bit (F ≡ 1), in films too
    spsll = relax_domain_walls(fept, [10 * NM], [0.0], solver=cfg("spsll"), settings=film)
    assert torch.equal(spsll.width, reduced.width) and torch.equal(spsll.mz, reduced.mz)


def test_explicit_vacancies_at_tau_zero_are_the_ideal_film(fept):
    settings = WallSettings(**TIGHT, n_rows=8)
    ideal = relax_domain_walls(fept, None, None, solver=cfg("psll"), settings=settings)
    res = relax_domain_walls(fept, [10 * NM, 20 * NM], [0.0, 0.0], solver=cfg("rtn_ensemble", realisations=2),
                             settings=settings, keep_state=True)
    assert isinstance(res, EnsembleWallResult) and bool(res.converged.all())
    assert res.widths.shape == (2, 2) and res.row_widths.shape == (2, 2, 8) and res.pinned.shape == (2, 2, 8)
    assert res.m.shape == (4, 3, 64, 8) and res.mask.shape == (4, 64, 8) and bool((res.mask == 1).all())
    assert res.n_walls.tolist() == [2, 2] and float(res.pinned_fraction.max()) == 0.0
    assert torch.equal(res.occupied_fraction, torch.ones(2, dtype=torch.float64))
    # the full masked film against the reduced line, the same step sizes: round-off (measured 1e-14)
    for key in ("width", "width_unpinned", "row_width_mean", "width_of_mean"):
        torch.testing.assert_close(getattr(res, key), ideal.width.expand(2), rtol=1e-11, atol=0, msg=key)
    torch.testing.assert_close(res.widths, ideal.width.expand(2, 2), rtol=1e-11, atol=0)
    torch.testing.assert_close(res.mz, ideal.mz.expand(2, 32), rtol=0, atol=1e-12)
    assert float(res.row_width_std.max()) < 1e-12 * NM and float(res.width_std.max()) < 1e-12 * NM


def test_mirrored_film_masks_are_the_mosaic_and_its_flip(fept):
    N, M, R = 128, 16, 40
    sigma, tau = 6 * NM, 3 * NM  # φ = 2/3, T = 2 nm = 6.7 cells
    mirrored = vacancy_masks((N, M), fept.a, [sigma], [tau], R, seed=3, mirrored=True)
    plain = vacancy_masks((N, M), fept.a, [sigma], [tau], R, seed=3)
    assert mirrored.shape == (R, 2 * N, M)
    assert torch.equal(mirrored[:, :N], plain)  # the same generator: the window is the mosaic itself
    assert torch.equal(mirrored[:, N:], mirrored[:, :N].flip(1))  # exact mirror along x
    # the window's rows are straight sections of the mosaic: the RTN of (σ, τ) along x. Errors from the
    # spread over the 40 films (std errors ≈ 3-4 % here); 3 errors
    per_film = torch.tensor([estimate_mosaic_parameters(m, (1, 0), fept.a)[:2] for m in plain], dtype=torch.float64)
    pooled = estimate_mosaic_parameters(plain, (1, 0), fept.a)
    errors = per_film.std(0) / math.sqrt(R)
    for value, truth, err in zip(pooled[:2], (sigma, tau), errors.tolist(), strict=True):
        assert abs(value - truth) < 3 * err, (value, truth, err)


@pytest.fixture(scope="module")
def defective():
    """Two samples (φ = 0.83, 0.89) × 2 films of 48 × 12 cells (mirrored: 96 × 12), relaxed once."""
    settings = WallSettings(n_cells=48, n_rows=12, n_harmonics=60, n_error_harmonics=12)
    solver = cfg("rtn_ensemble", realisations=2, seed=1)
    return relax_domain_walls(Material.fept(), [10 * NM, 8 * NM], [2 * NM, 1 * NM], solver=solver,
                              settings=settings, keep_state=True)


def test_vacancies_pin_some_rows_and_spread_the_widths(defective):
    res = defective
    assert bool(res.converged.all()) and res.n_walls.tolist() == [2, 2]
    assert bool(((res.pinned_fraction > 0) & (res.pinned_fraction < 1)).all()), res.pinned_fraction
    assert bool((res.row_width_std > 0.05 * NM).all()), res.row_width_std
    assert bool((0.7 < res.occupied_fraction).all() and (res.occupied_fraction < 1).all())
    # the pinned fraction counts (realisation, row) crossings: the rows with a wall are those with a width
    has_wall = torch.isfinite(res.row_widths)
    counted = (res.pinned & has_wall).flatten(1).sum(1).double() / has_wall.flatten(1).sum(1).double()
    torch.testing.assert_close(res.pinned_fraction, counted, rtol=0, atol=1e-15)
    unpinned = torch.where(res.pinned | ~has_wall, torch.nan, res.row_widths).flatten(1).nanmean(1)
    torch.testing.assert_close(res.width_unpinned, unpinned, rtol=1e-14, atol=0)


def test_both_walls_see_the_same_defects(defective):
    # mirrored mask, even ansatz and an even operator: the relaxed state is even under x → L − x
    # (cell j ↔ 2N − 1 − j), so the second wall is the first's mirror image. Round-off through the
    # relaxation: measured 1.2e-12 (an unconverged state, mid-slide, breaks it at 1e-5)
    m, N = defective.m, 48
    torch.testing.assert_close(m[:, :, N:], m[:, :, :N].flip(2), rtol=0, atol=1e-10)


def test_film_wall_inputs_are_validated(fept):
    for bad in (0, -2, True, 2.0, "4"):
        with pytest.raises(ValueError, match="n_rows"):
            WallSettings(n_rows=bad)
    assert WallSettings(n_rows=3).n_rows == 3
    with pytest.raises(ValueError, match="n_harmonics"):  # the per-row widths need n_harmonics < 2N too
        relax_domain_walls(fept, None, None, solver=cfg("psll"),
                           settings=WallSettings(n_cells=16, n_rows=2, n_harmonics=40, n_error_harmonics=8))
