"""The bulk validation (spsll/studies/validation/bulk.py): its config and box rule, the reading's bulk
filter against the solver's, and the whole study end to end at a tiny size (report, figures, JSON, and
the τ = 0 identity of every curve)."""

import json
import math
import re

import pytest
import torch

from spsll.physics.grid import Grid
from spsll.physics.material import Material
from spsll.physics.measure.dispersion import DispersionSettings
from spsll.physics.solvers import SOLVERS
from spsll.studies.common import compose_study
from spsll.studies.validation.bulk import BulkValidationConfig, bulk_filter, run_bulk_validation
from spsll.studies.validation.bulk_report import render_report, write_report

from .conftest import run_study

NM = 1e-9
# tiny but physical: 32 x 8 x 8 boxes for 2 ps; the box rule relaxed to 1 T so that T = 0.83 nm fits 2.7 nm
TINY = {"dispersion": DispersionSettings(n_cells=32, duration=2e-12), "n_rows": 8, "n_layers": 8,
        "reading_sides": (4, 8), "realisations": 2, "min_box_over_T": 1.0, "compile": False}


def test_config_defaults_and_the_box_rule():
    cfg = compose_study("validation_3d")
    assert (cfg.dim, cfg.realisations, cfg.out) == (3, 2, "docs/validation-3d.md")
    full = BulkValidationConfig.from_study(cfg)
    assert full.box_cells == (64, 64, 64) and full.dispersion_dtype == "float32"  # a cubic box
    assert full.dispersion.duration == pytest.approx(10e-12)  # the dataset's 100 GHz bins
    a_nm = full.material.a / NM
    for s, t in full.points_nm:  # every configured point fits its mosaic: L >= 50 T on every side
        assert 50 * s * t / (s + t) <= 64 * a_nm
    with pytest.raises(ValueError, match="allows T <="):  # T = 11.5 nm needs a 577 nm box
        BulkValidationConfig.from_conf(points_nm=[(50.0, 15.0)])
    with pytest.raises(ValueError, match="allows T <="):  # the shortest side decides
        BulkValidationConfig.from_conf(n_layers=32)
    with pytest.raises(ValueError, match="realisations"):
        BulkValidationConfig.from_conf(realisations=1)  # no two halves, no noise estimate
    with pytest.raises(ValueError, match="reading_sides"):
        BulkValidationConfig.from_conf(reading_sides=[0])
    with pytest.raises(ValueError, match="too large"):
        BulkValidationConfig.from_conf(reading_sides=[1024])  # a 64 x 1024 x 1024 filter: use the scan
    with pytest.raises(ValueError, match="n_rows"):
        BulkValidationConfig.from_conf(n_rows=1)
    with pytest.raises(ValueError, match="chain's"):
        BulkValidationConfig.from_conf(dispersion=DispersionSettings(n_cells=64, n_rows=8))


def test_bulk_filter_is_the_solvers_on_the_line():
    """F(k_x) = φ + √(S₃ Δk_x Δk_y Δk_z) is the spsll filter of the N × M × L box at k_y = k_z = 0 (the same
    formula: round-off), and its continuous part fades as 1/√(M L)."""
    mat = Material.fept()
    s = torch.tensor([10e-9, 5e-9, 2e-9], dtype=torch.float64)
    t = torch.tensor([5e-9, 0.0, 0.5e-9], dtype=torch.float64)
    filt = SOLVERS["spsll"].defect_filter(Grid((40, 12, 6), mat.a), s, t, "cpu")[:, :, 0, 0]
    assert torch.allclose(bulk_filter(mat, 40, (12, 6), s, t), torch.fft.fftshift(filt, dim=-1), rtol=1e-13, atol=0)
    phi = s / (s + t)
    excess = [(bulk_filter(mat, 40, (m, m), s, t)[[0, 2]] - phi[[0, 2], None]).amax().item() for m in (8, 16)]
    assert excess[1] == pytest.approx(excess[0] / 2, rel=1e-12)  # 4x the cross-section, half the continuous part
    assert torch.equal(bulk_filter(mat, 40, None, s, t)[0], torch.full((40,), 2 / 3, dtype=torch.float64))
    assert bool((bulk_filter(mat, 40, (8, 8), s, t)[1] == 1).all())  # τ = 0: exactly the ideal box


def test_bulk_study_end_to_end(tmp_path):
    """The study at a tiny size: report, figures, JSON; at τ = 0 the ensemble, the ideal box and spsll at
    the ensemble's box are the same computation (all-ones masks, the same box time step), so their peaks
    agree to round-off and F_eff = 1."""
    cfg = BulkValidationConfig.from_conf(points_nm=[(5.0, 0.0), (5.0, 1.0)], **TINY)
    ranges = {"dispersion": {"sigma_nm": [5.0, 50.0], "tau_nm": [0.0, 15.0]}}
    result = run_bulk_validation(cfg, log=lambda _: None, dataset_ranges=ranges)
    out = write_report(result, tmp_path / "validation-3d.md", command="python -m spsll.studies.validation tiny")
    text = out.read_text()
    for part in ("## Dispersions", "## The effective filter", "## Conclusion", "N × M × L = 32 × 8 × 8 cells",
                 "2 box realisations per point", "Which box makes `spsll` agree?", "per realisation"):
        assert part in text, part
    assert "§" not in text and "physics.md#mosaic" in text and "{c[" not in text and "{d[" not in text
    for png in ("dispersions", "effective_filter", "box_scan", "ensemble_spectrum"):
        assert (tmp_path / "validation-3d" / f"{png}.png").stat().st_size > 5000, png
    raw = json.loads((tmp_path / "validation-3d" / "validation-3d.json").read_text())
    d = raw["dispersion"]
    assert d["box_nm"] == pytest.approx([32 * 0.339, 8 * 0.339, 8 * 0.339]) and set(d["spsll"]) == {"4", "8"}
    assert len(d["F_eff"]) == 2 and len(d["F_eff"][0]) == 32 == len(d["k_rad_per_nm"])
    # τ = 0: round-off. The readings run as the box's k_y = k_z = 0 line (a 1D FFT along x), the ensemble as
    # the whole box (3D FFTs): the same sums in another order, in float32 records (measured 3.5e-7 THz MAE);
    # the ensemble's two halves are the same all-ones box, bit for bit
    assert d["spsll"]["8"]["mae_thz"][0] < 1e-5 and d["ideal"]["mae_thz"][0] < 1e-5
    assert d["ensemble_noise_thz"][0] < 1e-9
    assert all(v is None or abs(v - 1) < 1e-5 for v in d["F_eff"][0])
    assert d["verdicts"]["spsll"]["8"]["inner"]["agree"][0] is True
    # τ > 0: a real ensemble (defects move the peaks), its noise finite, spsll's filter above φ in a finite box
    assert d["ideal"]["mae_thz"][1] > 0.1 and math.isfinite(d["ensemble_noise_thz"][1])
    assert min(d["spsll"]["4"]["filter"][1]) > d["phi"][1] == pytest.approx(5 / 6)
    assert d["seconds_per_realisation"] > 0 and d["scan"]["sides"][-1] == "inf"
    physics = re.search(r"\]\(([^)]*)#mosaic\)", text).group(1)
    assert render_report(raw, fig_rel="validation-3d", physics=physics) == text  # the report is its JSON


def test_bulk_command_line(tmp_path):
    """``python -m spsll.studies.validation --config-name studies/validation_3d`` runs the bulk study."""
    out, raw = tmp_path / "v3d.md", tmp_path / "raw.pt"
    proc = run_study(tmp_path, "validation", "--config-name", "studies/validation_3d",
                     "dispersion_dataset.measurement.n_cells=32", "dispersion_dataset.measurement.duration_ps=1",
                     "bulk.n_rows=8", "bulk.n_layers=8", "bulk.reading_sides=[8]", "bulk.points_nm=[[5,1]]",
                     "bulk.min_box_over_T=1", "realisations=2", "compile=false", "threads=1", f"out={out}",
                     f"save_raw={raw}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = out.read_text()
    assert text.startswith("# Validation in bulk")
    assert "python -m spsll.studies.validation --config-name studies/validation_3d" in text
    assert (tmp_path / "v3d" / "validation-3d.json").exists()
    # re-rendered from the saved result: the same report, without computing
    again = tmp_path / "again.md"
    proc = run_study(tmp_path, "validation", "--config-name", "studies/validation_3d", f"render_from={raw}",
                     f"out={again}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert again.read_text() == text.replace("v3d/", "again/")
