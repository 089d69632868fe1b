"""The threshold study (spsll/studies/thresholds/): its config and refusals, the ensemble's boundary and
the plain answer on synthetic numbers, the bisected boundary against direct relaxations at held-out
fields, and the command end to end at a tiny size (report, figure, JSON, design_answer)."""

import json
import math

import numpy as np
import pytest

from spsll.physics.measure.skyrmion_ensemble import relax_skyrmion_one, relax_skyrmions
from spsll.physics.solvers import SolverConfig
from spsll.studies.common import compose_study
from spsll.studies.thresholds import ThresholdConfig, design_answer, tau_threshold
from spsll.studies.thresholds.compute import ENSEMBLE, ensemble_boundary, survival_curve, threshold_map

from .conftest import run_study

NM = 1e-9
# tiny: 24 x 24 cells, the box rule relaxed to 10 T (T = 0.2 nm fits 2.4 nm), two realisations
TINY = ["grid_cells=24", "tau_nm=[0,0.2]", "realisations=2", "bisection_steps=2", "radius_nm=4", "max_iter=1500",
        "min_box_over_T=10", "threads=1"]


def test_config_defaults_and_refusals():
    cfg = compose_study("thresholds")
    assert cfg.out == "docs/thresholds.md" and list(cfg.readings) == ["spsll", "spsll_convolution"]
    full = ThresholdConfig.from_study(cfg)
    assert full.material.name == "Pt-Co" and full.grid.shape == (64, 64)
    for s in full.sigma_nm:  # every default point fits its mosaic: 50 T per side
        for t in full.tau_nm:
            assert 50 * s * t / (s + t) <= full.box_nm
    with pytest.raises(ValueError, match="allows T <="):  # T = 3.3 nm needs 167 nm; the box is 64 nm
        ThresholdConfig.from_conf(["tau_nm=[0,5]"])
    with pytest.raises(ValueError, match="cannot hold an isolated skyrmion"):
        ThresholdConfig.from_conf(["material=fept"])
    with pytest.raises(ValueError, match="tau_nm must be a finite number >= 0"):
        ThresholdConfig.from_conf(["tau_nm=[0,-0.1]"])
    with pytest.raises(ValueError, match="sigma_nm must be a finite number > 0"):
        ThresholdConfig.from_conf(["sigma_nm=[nan]"])
    with pytest.raises(ValueError, match="realisations must be an integer >= 1"):
        ThresholdConfig.from_conf(realisations=0)
    with pytest.raises(ValueError, match="not a statistical reading"):
        ThresholdConfig.from_conf(["readings=[rtn_ensemble]"])
    with pytest.raises(ValueError, match="field_max_T"):
        ThresholdConfig.from_conf(["field_min_T=0.3", "field_max_T=0.1"])
    with pytest.raises(ValueError, match="strictly increasing"):
        ThresholdConfig.from_conf(["tau_nm=[0.2,0.1]"])


def test_ensemble_boundary_is_where_half_survive_with_the_wilson_range():
    """Eight realisations: p(B) steps down at each B_c,i; at least half survive up to the 5th (p = ½
    between the 4th and 5th, then 3/8), and Wilson's interval holds ½ while 2 to 6 of 8 survive, i.e.
    from the 2nd to the 7th B_c,i; seven: the median."""
    bc = np.array([0.10, 0.12, 0.14, 0.16, 0.18, 0.20, 0.22, 0.24])
    b = ensemble_boundary(bc, np.full(8, 0.005))
    assert b["B_c"] == pytest.approx(0.18)
    assert survival_curve(bc, np.array([0.179, 0.181])).tolist() == [0.5, 0.375]
    assert ensemble_boundary(bc[:7], np.zeros(7))["B_c"] == pytest.approx(0.16)
    assert (b["ci_lo"], b["ci_hi"]) == pytest.approx((0.12 - 0.005, 0.22 + 0.005))
    assert survival_curve(bc, np.array([0.05, 0.17, 0.3])).tolist() == [1.0, 0.5, 0.0]
    gone = ensemble_boundary(np.array([-math.inf] * 3 + [0.2]), np.zeros(4))
    assert gone["B_c"] == -math.inf and gone["ci_lo"] == -math.inf
    half = ensemble_boundary(np.array([-math.inf, -math.inf, 0.2, math.inf]), np.zeros(4))
    assert half["B_c"] == 0.2  # two of four survive up to 0.2 T


def test_tau_threshold_reads_the_first_crossing():
    tau = [0.0, 0.5, 1.0, 2.0]
    got = tau_threshold(tau, [0.30, 0.25, 0.15, 0.05], 0.2)  # crosses between 0.5 and 1.0 nm
    assert got["status"] == "interpolated" and got["tau_nm"] == pytest.approx(0.75)
    assert tau_threshold(tau, [0.30, 0.25, -math.inf, -math.inf], 0.2)["status"] == "bracketed"
    assert tau_threshold(tau, [0.30, 0.25, 0.22, 0.21], 0.2)["status"] == "beyond grid"
    assert tau_threshold(tau, [0.1, 0.25, 0.22, 0.21], 0.2)["status"] == "none"


@pytest.mark.slow
def test_boundary_agrees_with_direct_relaxations_at_held_out_fields():
    """A 44-cell Pt/Co film, σ = 10 nm, τ = 0.2 nm (φ = 0.98), window [0, 0.45] T, three realisations,
    three bisections: relaxed directly (the reading one at a time through relax_texture, each ensemble
    realisation with its own masks) at fields 0.6 half-brackets outside each sample's bracket, which no
    bisection visited, every sample survives below its bracket and is gone above it."""
    cfg = ThresholdConfig.from_conf(["grid_cells=44", "tau_nm=[0,0.2]", "readings=[spsll]", "realisations=3",
                                     "bisection_steps=3", "field_min_T=0.0", "field_max_T=0.45", "radius_nm=6"])
    m = threshold_map(cfg, cfg.material, log=lambda _: None)
    block = m["sigma"][0]
    sp = block["readings"]["spsll"]
    assert sp["status"][1] == "bracketed"
    bc, half = sp["B_c_T"][1], sp["half_bracket_T"][1]
    spsll = SolverConfig(name="spsll", compile=False)
    for field, alive in ((bc - 1.6 * half, True), (bc + 1.6 * half, False)):
        one = relax_skyrmion_one(cfg.material, cfg.grid, field_T=field, solver=spsll, sigma=10 * NM, tau=0.2 * NM,
                                 radius=6 * NM, max_iter=cfg.max_iter)
        assert bool(one.survived[0]) is alive, field
    ens = block["readings"][ENSEMBLE]
    bcs = np.asarray(ens["realisation_B_c_T"][1])
    half = ens["half_bracket_T"][1]
    assert np.isfinite(bcs).sum() >= 2, ens["realisation_status"][1]  # something to check
    solver = SolverConfig.of("rtn_ensemble", compile=False, realisations=3, seed=cfg.seed)
    masks = solver.solver.masks(solver, cfg.material, cfg.grid.shape, [10 * NM], [0.2 * NM])
    rows = np.flatnonzero(np.isfinite(bcs))
    for sign in (-1, 1):
        fields = bcs[rows] + sign * 1.6 * half
        keep = (fields >= cfg.field_min_T) & (fields <= cfg.field_max_T)
        direct = relax_skyrmions(cfg.material, cfg.grid, field_T=fields[keep], solver=solver,
                                 mask=masks[rows[keep]], radius=6 * NM, max_iter=cfg.max_iter)
        assert direct.survived.tolist() == [sign < 0] * int(keep.sum()), (sign, fields[keep])


def test_cli_writes_report_and_json(tmp_path):
    out = tmp_path / "thresholds.md"
    proc = run_study(tmp_path, "thresholds", *TINY, f"out={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    for part in ("## Pt-Co", "### σ = 10 nm", "Collapse field B_c per point", "The plain answer",
                 "Where the statistical thresholds differ", "thresholds/pt-co_survival_sigma10nm.png"):
        assert part in text, part
    raw = json.loads((tmp_path / "thresholds" / "pt-co.json").read_text())
    m = raw["maps"][0]
    ideal = m["ideal"]["B_c_T"]
    assert m["field_min_T"] < ideal < m["field_max_T"]
    for name in ("spsll", "spsll_convolution", ENSEMBLE):  # τ = 0 is the ideal film in every reading
        assert m["sigma"][0]["readings"][name]["B_c_T"][0] == ideal
    assert (tmp_path / "thresholds" / "pt-co_survival_sigma10nm.png").stat().st_size > 10_000
    ans = design_answer("ptco", m["field_min_T"], json_dir=tmp_path / "thresholds")
    assert ans["material"] == "Pt-Co" and set(ans["answers"]) == {"spsll", "spsll_convolution", ENSEMBLE}
    assert all(s.startswith("for Pt-Co at B = ") for s in ans["sentences"].values())
    with pytest.raises(ValueError, match="outside the study's window"):
        design_answer("ptco", 5.0, json_dir=tmp_path / "thresholds")


def test_cli_refuses_a_material_without_dmi(tmp_path):
    proc = run_study(tmp_path, "thresholds", "material=fept", *TINY, f"out={tmp_path / 'x.md'}")
    assert proc.returncode != 0 and "cannot hold an isolated skyrmion" in proc.stderr


def test_design_answer_without_a_study_says_how_to_make_one(tmp_path):
    with pytest.raises(ValueError, match="python -m spsll.studies.thresholds"):
        design_answer("dmi_standard", 0.1, json_dir=tmp_path)
