"""The validation study (spsll/studies/validation/): the readings of Eq. 4 against explicit vacancies
on a tiny grid, its report, figures and JSON."""

import json
import math
import re

import pytest

from spsll.physics.measure.dispersion import DispersionSettings
from spsll.physics.measure.domain_wall import WallSettings
from spsll.studies.common import compose_study
from spsll.studies.validation import ValidationConfig, render_report, run_validation, write_report

# small but physical set-ups (as in tests/physics/test_rtn_ensemble.py)
DISP = DispersionSettings(n_cells=64, duration=2e-12)
WALL = WallSettings(n_cells=100, n_harmonics=150, n_error_harmonics=30, max_iter=3000)


def test_config_keeps_the_command_line_defaults():
    cfg = compose_study("validation")
    assert (cfg.realisations, cfg.wall_realisations, list(cfg.grid), cfg.seed) == (32, 64, [4, 4], 0)
    assert (cfg.out, cfg.threads, cfg.device, cfg.wall_max_iter) == ("docs/validation.md", None, "auto", 2000)
    assert cfg.save_raw is None and cfg.render_from is None
    full = ValidationConfig.from_study(cfg)
    assert full.walls.max_iter == 2000 and (full.n_sigma, full.n_tau) == (4, 4)
    assert ValidationConfig.from_conf(["wall_max_iter=0"]).walls.max_iter == 20_000  # 0: the dataset's budget
    with pytest.raises(ValueError, match="wall_max_iter"):
        ValidationConfig.from_conf(["wall_max_iter=-1"])


def test_validation_report_on_a_tiny_grid(tmp_path):
    full = ValidationConfig.from_conf()
    assert full.dispersion_sigma_nm == (5.0, 50.0) and full.wall_tau_nm == (0.0, 20.0)  # the datasets' ranges
    assert full.dispersion.n_cells == 500 and full.dispersion_dtype == "float32"
    # small walls need short correlation lengths (the convolution reading's spike is ~T wide)
    cfg = ValidationConfig.from_conf(realisations=4, wall_realisations=3, n_sigma=2, n_tau=1, compile=False,
                                     dispersion=DISP, walls=WALL, wall_sigma_nm=(1.0, 30.0), wall_tau_nm=(0.0, 4.0))
    result = run_validation(cfg, log=lambda _: None)
    out = write_report(result, tmp_path / "validation.md", command="python -m spsll.studies.validation realisations=4")
    text = out.read_text()
    for heading in ("## Dispersions", "## Domain walls", "## Conclusion",
                    "python -m spsll.studies.validation realisations=4", "4 realisations per point", "Runtime"):
        assert heading in text, heading
    rows = re.findall(r"^\| ([0-9.]+)\*? \| ([0-9.]+) \| ", text, flags=re.M)
    assert rows == [("5", "15"), ("50", "15"), ("1", "4"), ("30", "4")]  # one row per grid point and table
    assert "is closer" in text
    assert "§" not in text and "physics.md#targets" in text  # cites no outside document: the report stands alone
    for png in ("dispersion_mae", "dispersion_examples", "dispersion_ensemble_spectrum", "wall_widths",
                "wall_profiles"):
        assert (tmp_path / "validation" / f"{png}.png").stat().st_size > 5000, png
    raw = json.loads((tmp_path / "validation" / "validation.json").read_text())
    d, w = raw["dispersion"], raw["walls"]
    for key in ("mae_spsll_thz", "mae_spsll_convolution_thz", "ensemble_noise_thz"):
        assert len(d[key]) == 2 and all(math.isfinite(v) for v in d[key]), key
    for key in ("err_spsll_nm", "err_spsll_convolution_nm", "width_ensemble_nm"):
        assert len(w[key]) == 2 and all(math.isfinite(v) for v in w[key]), key
    assert d["tau_grid_nm"] == [15.0, 15.0] and w["sigma_grid_nm"] == [1.0, 30.0]
    # the report is its template filled from the JSON alone
    physics = re.search(r"\]\(([^)]*)#targets\)", text).group(1)
    assert render_report(raw, fig_rel="validation", physics=physics) == text
    with pytest.raises(ValueError, match="realisations"):
        ValidationConfig(realisations=0)
