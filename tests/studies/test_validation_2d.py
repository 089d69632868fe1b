"""The film validation (spsll/studies/validation/film*.py): its config and box rule, the reading's
film filter against the solver's, and the whole study end to end at a tiny size (report, figures,
JSON, and the τ = 0 identity of every curve)."""

import json
import math
import re

import pytest
import torch

from spsll.physics.grid import Grid
from spsll.physics.material import Material
from spsll.physics.measure.dispersion import DispersionSettings
from spsll.physics.measure.domain_wall import WallSettings
from spsll.physics.solvers import SOLVERS
from spsll.studies.common import compose_study
from spsll.studies.validation.film import run_film_validation
from spsll.studies.validation.film_compute import film_filter
from spsll.studies.validation.film_config import FilmValidationConfig
from spsll.studies.validation.film_report import render_report, write_report

from .conftest import run_study

NM = 1e-9
# tiny but physical: 64 x 16 films for 2 ps; the box rule relaxed to 1 T so that T = 0.83 nm fits 5.4 nm
TINY = {"dispersion": DispersionSettings(n_cells=64, duration=2e-12), "n_rows": 16, "reading_rows": (8, 16),
        "realisations": 2, "min_box_over_T": 1.0, "compile": False}


def test_config_defaults_and_the_box_rule():
    cfg = compose_study("validation_2d")
    assert (cfg.dim, cfg.realisations, cfg.out) == (2, 6, "docs/validation-2d.md")
    full = FilmValidationConfig.from_study(cfg)
    assert full.dispersion.n_cells == 256 and full.dispersion_dtype == "float32"  # 256: the study's box
    a_nm = full.material.a / NM
    for s, t in full.points_nm:  # every configured point fits its mosaic: L >= 50 T on the short side
        assert 50 * s * t / (s + t) <= min(500, full.n_rows) * a_nm
    with pytest.raises(ValueError, match="allows T <="):  # T = 11.5 nm needs a 577 nm box
        FilmValidationConfig.from_conf(points_nm=[(50.0, 15.0)], box_check_points_nm=[])
    with pytest.raises(ValueError, match="among points_nm"):
        FilmValidationConfig.from_conf(box_check_points_nm=[(10.0, 2.0), (7.0, 1.0)])
    with pytest.raises(ValueError, match="realisations"):
        FilmValidationConfig.from_conf(realisations=1)  # no two halves, no noise estimate
    with pytest.raises(ValueError, match="reading_rows"):
        FilmValidationConfig.from_conf(reading_rows=[0])


def test_film_filter_is_the_solvers_on_the_ky_zero_line():
    """F_M(k_x) = φ + √(S₂ Δk_x Δk_y) is the spsll filter of the N × M box at k_y = 0 (exact: the same
    formula, so round-off), and it tends to φ as the box grows (√P ∝ 1/√M)."""
    mat = Material.fept()
    s = torch.tensor([10e-9, 5e-9, 20e-9], dtype=torch.float64)
    t = torch.tensor([5e-9, 0.0, 2e-9], dtype=torch.float64)
    filt = SOLVERS["spsll"].defect_filter(Grid((40, 24), mat.a), s, t, "cpu")[:, :, 0]
    assert torch.allclose(film_filter(mat, 40, 24, s, t), torch.fft.fftshift(filt, dim=-1), rtol=1e-13, atol=0)
    phi = s / (s + t)
    excess = [(film_filter(mat, 40, m, s, t)[:2] - phi[:2, None]).amax().item() for m in (16, 64)]
    assert excess[1] == pytest.approx(excess[0] / 2, rel=1e-12)  # 4x the rows, half the continuous part
    assert torch.equal(film_filter(mat, 40, None, s, t)[0], torch.full((40,), 2 / 3, dtype=torch.float64))
    assert bool((film_filter(mat, 40, 16, s, t)[1] == 1).all())  # τ = 0: exactly the ideal film


def test_film_study_end_to_end(tmp_path):
    """The study at a tiny size: report, figures, JSON; at τ = 0 the ensemble, the ideal film and spsll
    at the ensemble's box are the same computation (all-ones masks, the same film time step), so their
    peaks agree to round-off and F_eff = 1."""
    walls = WallSettings(n_cells=50, n_harmonics=80, n_error_harmonics=20, max_iter=500)
    cfg = FilmValidationConfig.from_conf(points_nm=[(5.0, 0.0), (5.0, 1.0)], wall_points_nm=[(5.0, 0.0), (5.0, 1.0)],
                                         wall_rows=16, wall_realisations=2, walls=walls, box_check_rows=32,
                                         box_check_points_nm=[(5.0, 0.0), (5.0, 1.0)], **TINY)
    ranges = {"dispersion": {"sigma_nm": [5.0, 50.0], "tau_nm": [0.0, 15.0]}}
    result = run_film_validation(cfg, log=lambda _: None, dataset_ranges=ranges)
    out = write_report(result, tmp_path / "validation-2d.md", command="python -m spsll.studies.validation tiny")
    text = out.read_text()
    for part in ("## Dispersions", "## The effective filter", "## Domain walls", "## Conclusion",
                 "N × M = 64 × 16 cells", "2 film realisations per point", "Which box makes `spsll` agree?"):
        assert part in text, part
    assert "§" not in text and "physics.md#mosaic" in text
    for png in ("dispersions", "effective_filter", "box_scan", "ensemble_spectrum", "walls"):
        assert (tmp_path / "validation-2d" / f"{png}.png").stat().st_size > 5000, png
    raw = json.loads((tmp_path / "validation-2d" / "validation-2d.json").read_text())
    d, w = raw["dispersion"], raw["walls"]
    assert d["box_nm"] == pytest.approx([64 * 0.339, 16 * 0.339]) and set(d["spsll"]) == {"8", "16"}
    assert len(d["F_eff"]) == 2 and len(d["F_eff"][0]) == 64 == len(d["k_rad_per_nm"])
    # τ = 0: round-off. The readings run as the film's k_y = 0 line (a 1D FFT along x), the ensemble as the
    # whole film (a 2D FFT): the same sums in another order, in float32 records, move a refined peak by
    # ~1e-7 THz (measured 3.6e-7 THz MAE); the ensemble's two halves are the same film, bit for bit
    assert d["spsll"]["16"]["mae_thz"][0] < 1e-5 and d["ideal"]["mae_thz"][0] < 1e-5
    assert d["ensemble_noise_thz"][0] < 1e-9
    assert all(v is None or abs(v - 1) < 1e-5 for v in d["F_eff"][0])
    assert w["width_ensemble_nm"][0] == pytest.approx(w["width_ideal_nm"], abs=1e-9)
    assert w["spsll"]["16"]["err_nm"][0] == pytest.approx(0, abs=1e-9)
    assert w["crossing_spread_nm"][0] == pytest.approx(0, abs=1e-9)  # a straight wall: every row crosses alike
    # box independence is exact at τ = 0 (identical rows, the same film time step for any height)
    b = d["box_check"]
    assert b["rows"] == 32 and b["index"] == [0, 1] and b["mae_thz"][0] < 1e-9 and math.isfinite(b["mae_thz"][1])
    # τ > 0: a real ensemble (defects change the peaks), its noise is finite
    assert d["ideal"]["mae_thz"][1] > 0.1 and math.isfinite(d["ensemble_noise_thz"][1])
    assert 0 < w["pinned_fraction"][1] <= 1 and w["row_width_std_ensemble_nm"][1] > 0
    physics = re.search(r"\]\(([^)]*)#mosaic\)", text).group(1)
    assert render_report(raw, fig_rel="validation-2d", physics=physics) == text  # the report is its JSON


def test_film_command_line(tmp_path):
    """``python -m spsll.studies.validation --config-name studies/validation_2d`` runs the film study."""
    out = tmp_path / "v2d.md"
    proc = run_study(tmp_path, "validation", "--config-name", "studies/validation_2d",
                     "dispersion_dataset.measurement.n_cells=64", "dispersion_dataset.measurement.duration_ps=2",
                     "film.n_rows=16", "film.reading_rows=[16]", "film.points_nm=[[5,1]]", "film.min_box_over_T=1",
                     "film.wall_points_nm=[]", "film.box_check_points_nm=[]",
                     "realisations=2", "compile=false", "threads=1", f"out={out}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = out.read_text()
    assert text.startswith("# Validation in films")
    assert "python -m spsll.studies.validation --config-name studies/validation_2d" in text
    assert "Not computed: no wall points" in text
