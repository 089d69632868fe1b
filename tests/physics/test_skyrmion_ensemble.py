"""Isolated skyrmions in films with explicit vacancies and under the statistical readings
(spsll/physics/measure/skyrmion_ensemble.py): the batched path against relax_texture, collapse where
the physics forbids a skyrmion, the filled charge, vacancy clusters, placement, pinning on hand-made
masks, the single-vacancy collapse the threshold report quotes, the statistics, bad input.

Material: Pt/Co (conf/material/ptco.yaml), A = 16 pJ/m, D = 3 mJ/m² < D_c = 3.56 mJ/m², 1 nm cells.
"""

import dataclasses
import math

import pytest
import torch

from spsll.data.provenance import load_material
from spsll.physics.grid import Grid
from spsll.physics.measure.skyrmion_ensemble import (
    PinningRule,
    assess,
    check_box,
    core_shifts,
    fill_vacancies,
    measure_ensemble,
    measure_statistical,
    point_summary,
    relax_skyrmion_one,
    relax_skyrmions,
    vacancy_clusters,
    wilson_interval,
)
from spsll.physics.measure.texture import topological_charge
from spsll.physics.solvers import SolverConfig
from spsll.physics.textures import initial_texture
from tests.data.conftest import ROOT

NM = 1e-9
PSLL = SolverConfig(name="psll", compile=False)
ENSEMBLE = SolverConfig.of("rtn_ensemble", compile=False)


@pytest.fixture(scope="module")
def ptco():
    return load_material(ROOT / "conf" / "material" / "ptco.yaml")


def test_batched_and_one_at_a_time_decide_the_same(ptco):
    """One batch of three fields (two survive, one far above the ideal 32-cell film's collapse field
    ≈ 0.3 T) and a batch of two spsll points at different fields decide as relax_texture does one
    sample at a time; both stop at 1e-6 Ms from different first steps (the batch's field bound), so the
    radii agree to the relaxation's accuracy, 1e-3 relative, not to round-off."""
    grid = Grid((32, 32), NM)
    fields = [0.15, 0.25, 0.6]
    batched = relax_skyrmions(ptco, grid, field_T=fields, solver=PSLL, radius=5 * NM)
    single = [relax_skyrmion_one(ptco, grid, field_T=b, solver=PSLL, radius=5 * NM) for b in fields]
    assert batched.survived.tolist() == [s.survived.item() for s in single] == [True, True, False]
    for b, s in zip(range(2), single, strict=False):
        assert float(batched.radius[b]) == pytest.approx(float(s.radius[0]), rel=1e-3)
    assert float(batched.radius[0]) > float(batched.radius[1]) > 2 * NM  # the field shrinks it
    spsll = SolverConfig(name="spsll", compile=False)
    pts = {"sigma": [10 * NM, 10 * NM], "tau": [2 * NM, 0.5 * NM]}
    both = relax_skyrmions(ptco, grid, field_T=[0.2, 0.05], solver=spsll, radius=5 * NM, **pts)
    for i, b in enumerate((0.2, 0.05)):
        one = relax_skyrmion_one(ptco, grid, field_T=b, solver=spsll, radius=5 * NM, sigma=pts["sigma"][i],
                                 tau=pts["tau"][i])
        assert bool(both.survived[i]) == bool(one.survived[0])
        if bool(one.survived[0]):
            assert float(both.radius[i]) == pytest.approx(float(one.radius[0]), rel=1e-3)


def test_all_ones_masks_are_the_ideal_film(ptco):
    """Explicit vacancies at τ = 0 (masks of ones) are psll to the bit: same state, same decision."""
    grid = Grid((32, 32), NM)
    ideal = relax_skyrmions(ptco, grid, field_T=[0.2, 0.2], solver=PSLL, radius=5 * NM, energy=True)
    ones = relax_skyrmions(ptco, grid, field_T=[0.2, 0.2], solver=ENSEMBLE, mask=torch.ones(2, 32, 32),
                           radius=5 * NM, energy=True)
    assert torch.equal(ideal.radius, ones.radius) and torch.equal(ideal.survived, ones.survived)
    assert torch.equal(ideal.energy, ones.energy)
    assert not bool(ones.pinned.any()) and float(ones.core_shift.abs().max()) < 1e-6 * NM
    # a metastable skyrmion costs energy: E(skyrmion) − E(uniform) > 0, of the order of 8πA t (0.24 aJ)
    scale = 8 * math.pi * ptco.A * ptco.film_thickness
    assert 0.1 * scale < float(ideal.energy[0]) < 2 * scale


def test_a_texture_that_must_collapse_is_reported_collapsed(ptco):
    """D = 0.3 D_c at B = 1 T: no metastable skyrmion (continuum radius far below a cell); every path
    reports it gone, with no core, Q = 0 and no radius."""
    weak = dataclasses.replace(ptco, D=0.3 * ptco.critical_dmi)
    grid = Grid((32, 32), NM)
    res = relax_skyrmions(weak, grid, field_T=1.0, solver=PSLL, radius=5 * NM)
    assert not bool(res.survived[0]) and not bool(res.core_down[0])
    assert float(res.charge[0]) == pytest.approx(0.0, abs=1e-6) and math.isnan(float(res.radius[0]))
    stat = measure_statistical(weak, grid, [10 * NM], [1 * NM], field_T=1.0, solver=SolverConfig(name="spsll",
                                                                                                  compile=False),
                               radius=5 * NM, energy=False)
    assert stat.summary["survival"] == [0.0] and math.isnan(stat.summary["radius_mean"][0])


def test_filled_charge_is_an_integer_through_vacancies():
    """A skyrmion (radius 6 cells) with vacancies on its wall and in its core: the material's charge is
    not an integer, the filled texture's is −1 (Berg–Lüscher on unit vectors); no mask: unchanged."""
    grid = Grid((32, 32), NM)
    m = initial_texture("skyrmion", grid, radius=6 * NM, dmi=-1.0)
    mask = torch.ones(1, 32, 32, dtype=torch.float64)
    mask[0, 21:24, 15:17] = 0  # on the wall
    mask[0, 14, 16] = 0  # next to the core
    mask[0, 3:6, 3:6] = 0  # in the background
    cut = m * mask[:, None]
    assert abs(float(topological_charge(cut)[0]) + 1) > 0.05
    filled = fill_vacancies(cut, mask)
    assert float(topological_charge(filled)[0]) == pytest.approx(-1.0, abs=1e-9)
    assert torch.allclose(filled.norm(dim=1), torch.ones(1, 32, 32, dtype=torch.float64))
    assert torch.equal(filled * mask[:, None], cut)  # material cells untouched
    assert fill_vacancies(m, None) is m


def test_vacancy_clusters_join_across_the_periodic_edge():
    mask = torch.ones(2, 12, 12)
    mask[0, 0, 5] = mask[0, 11, 5] = 0  # one cluster of 2 across the x edge
    mask[0, 6, 6] = 0  # a single vacancy
    mask[1, 4, 0] = mask[1, 4, 11] = mask[1, 5, 11] = 0  # 3 cells across the y edge
    got = vacancy_clusters(mask, min_cells=2)
    assert got[0].sum() == 2 and bool(got[0, 0, 5]) and bool(got[0, 11, 5]) and not bool(got[0, 6, 6])
    assert got[1].sum() == 3
    assert vacancy_clusters(mask, min_cells=1)[0].sum() == 3
    assert vacancy_clusters(mask, min_cells=4).sum() == 0


def test_placement_moves_the_core_off_vacancies():
    """The ansatz's four core cells (15, 16)² of a 32-cell box land on material by the shortest shift."""
    grid = Grid((32, 32), NM)
    mask = torch.ones(3, 32, 32)
    mask[1, 16, 16] = 0  # one core cell vacant: one step away
    mask[2, 13:19, 13:19] = 0  # a 6 x 6 hole (cells 13-18): the block moves to 11-12 or 19-20, four steps
    shifts = core_shifts(mask, grid, 3)
    assert shifts[0].tolist() == [0, 0]
    assert shifts[1].abs().sum() == 1 and shifts[2].abs().max() == 4 and shifts[2].abs().sum() == 4
    for b in (1, 2):
        i, j = 15 + int(shifts[b, 0]), 15 + int(shifts[b, 1])
        assert bool((mask[b, i:i + 2, j:j + 2] == 1).all())
    with pytest.raises(ValueError, match="no 2 x 2 block"):
        core_shifts(torch.zeros(1, 32, 32), grid, 1)


def test_pinned_definition_on_a_hand_made_texture():
    """The definition on a fixed texture (radius 6 cells at the box centre): a vacancy on the m_z = 0
    circle pins; one in the core or far away does not."""
    grid = Grid((32, 32), NM)
    m = initial_texture("skyrmion", grid, batch=3, radius=6 * NM, dmi=-1.0)
    mask = torch.ones(3, 32, 32, dtype=torch.float64)
    mask[0, 21, 15] = 0  # 5.5 cells from the centre (15.5, 15.5): on the wall
    mask[1, 17, 15] = 0  # 1.6 cells from the centre: in the core
    mask[2, 0, 0] = 0  # far
    m = m * mask[:, None]
    out = assess(m, m, grid, torch.ones(3, dtype=torch.bool), mask=mask, pinning=PinningRule(pin_cells=1.5))
    assert out["survived"].tolist() == [True, True, True]
    assert out["pinned"].tolist() == [True, False, False]
    assert float(out["wall_gap"][0]) < 1.5 * NM < float(out["wall_gap"][1])


def test_a_vacancy_inside_the_skyrmion_pushes_it_until_it_sits_on_the_wall(ptco):
    """B = 0, 64-cell film, one vacancy 4.5 cells from the core: the skyrmion (radius ≈ 10 nm) moves
    away from it (by ≈ 6 nm) until the vacancy lies on its wall: pinned, not collapsed."""
    grid = Grid((64, 64), NM)
    mask = torch.ones(1, 64, 64, dtype=torch.float64)
    mask[0, 36, 31] = 0
    res = relax_skyrmions(ptco, grid, field_T=0.0, solver=ENSEMBLE, mask=mask, radius=8 * NM, max_iter=8000)
    assert bool(res.survived[0]) and bool(res.converged[0])
    assert float(res.core_end[0, 0]) < 31.5 - 3  # away from the vacancy at x = 36
    assert bool(res.pinned[0]) and float(res.wall_gap[0]) < 1.5 * NM
    assert float(res.cluster_distance[0]) == pytest.approx(float(res.radius[0]), abs=1.5 * NM)


def test_a_single_vacancy_collapses_a_skyrmion_the_ideal_film_holds(ptco):
    """B = 0.1 T (a third of the ideal 48-cell film's collapse field): the ideal film holds the skyrmion;
    one vacancy 4.5 cells from its core draws it in, and the texture unwinds through the hole."""
    grid = Grid((48, 48), NM)
    mask = torch.ones(2, 48, 48, dtype=torch.float64)
    mask[1, 28, 23] = 0
    res = relax_skyrmions(ptco, grid, field_T=0.1, solver=ENSEMBLE, mask=mask, radius=6 * NM, max_iter=8000)
    assert res.survived.tolist() == [True, False]
    assert float(res.charge[1]) == pytest.approx(0.0, abs=1e-6)
    # the one-at-a-time path (relax_texture with the mask; the core cells are material, so no shift)
    one = relax_skyrmion_one(ptco, grid, field_T=0.1, solver=ENSEMBLE, mask=mask[1], radius=6 * NM, max_iter=8000)
    assert not bool(one.survived[0])


def test_wilson_interval_and_point_summary(ptco):
    lo, hi = wilson_interval(torch.tensor([0, 5, 10]), 10)  # textbook values, z = 1.96
    assert lo.tolist() == pytest.approx([0.0, 0.2366, 0.7225], abs=1e-4)
    assert hi.tolist() == pytest.approx([0.2775, 0.7634, 1.0], abs=1e-4)
    grid = Grid((32, 32), NM)
    res = relax_skyrmions(ptco, grid, field_T=[0.15, 0.2, 0.6, 0.15], solver=PSLL, radius=5 * NM)
    s = point_summary(res, 2, 2)  # point 0: two survivors; point 1: one of two
    assert s["survival"] == [1.0, 0.5] and s["survivors"] == [2, 1]
    assert s["radius_mean"][0] == pytest.approx(float(res.radius[:2].mean()), rel=1e-12)
    assert s["radius_std"][0] == pytest.approx(float(res.radius[:2].std()), rel=1e-12)
    assert s["radius_mean"][1] == pytest.approx(float(res.radius[3]), rel=1e-12)


def test_ensemble_and_statistical_measurements_at_tau_zero_agree(ptco):
    """measure_ensemble (masks of ones at τ = 0) and measure_statistical (spsll, exactly psll at τ = 0,
    through relax_texture): the same survival and radius, energies within the relaxations' accuracy."""
    grid = Grid((32, 32), NM)
    kw = {"field_T": 0.2, "radius": 5 * NM}
    ens = measure_ensemble(ptco, grid, [10 * NM], [0.0], realisations=2, solver=ENSEMBLE, **kw)
    stat = measure_statistical(ptco, grid, [10 * NM], [0.0], solver=SolverConfig(name="spsll", compile=False), **kw)
    assert ens.summary["survival"] == stat.summary["survival"] == [1.0]
    assert ens.summary["radius_mean"][0] == pytest.approx(stat.summary["radius_mean"][0], rel=1e-3)
    assert ens.summary["energy_mean"][0] == pytest.approx(stat.summary["energy_mean"][0], rel=1e-4)
    assert ens.summary["pinned_fraction"] == [0.0] and ens.summary["phi"] == [1.0]


def test_bad_input_is_refused(ptco):
    grid = Grid((32, 32), NM)
    fept = load_material(ROOT / "conf" / "material" / "fept.yaml")
    with pytest.raises(ValueError, match="cannot hold an isolated skyrmion"):
        relax_skyrmions(fept, grid, field_T=0.0, solver=PSLL, radius=5 * NM)
    with pytest.raises(ValueError, match="field_T must be finite"):
        relax_skyrmions(ptco, grid, field_T=math.nan, solver=PSLL, radius=5 * NM)
    with pytest.raises(ValueError, match="allows T <="):  # T = 3.3 nm needs 167 nm, the box is 32 nm
        measure_ensemble(ptco, grid, [10 * NM], [5 * NM], field_T=0.0, realisations=1, radius=5 * NM)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        check_box(grid, [-1 * NM], [0.1 * NM])
    with pytest.raises(ValueError, match="sigma must be finite"):
        measure_statistical(ptco, grid, [math.nan], [0.1 * NM], field_T=0.0, solver=PSLL, radius=5 * NM)
    with pytest.raises(ValueError, match="use solver rtn_ensemble"):
        relax_skyrmions(ptco, grid, field_T=0.0, solver=PSLL, mask=torch.ones(1, 32, 32), radius=5 * NM)
    with pytest.raises(ValueError, match="set the field themselves"):
        relax_skyrmions(dataclasses.replace(ptco, applied_field=(0.0, 0.0, 1e5)), grid, field_T=0.0, radius=5 * NM)
    with pytest.raises(ValueError, match="films"):
        relax_skyrmions(ptco, Grid(32, NM), field_T=0.0, radius=5 * NM)
