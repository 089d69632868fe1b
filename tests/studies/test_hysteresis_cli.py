"""``python -m spsll.hysteresis``: a soft layer and RTN vacancies from the command line, and bad input
(docs/hysteresis.md#cli)."""

import json
import re
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir

from spsll.studies.common import CONF
from spsll.studies.hysteresis import run_hysteresis
from tests.data.conftest import ROOT


def hysteresis(tmp_path, *overrides):
    out = tmp_path / "curves.json"
    cmd = [sys.executable, "-m", "spsll.hysteresis", f"output={out}", f"hydra.run.dir={tmp_path / 'hydra'}",
           "progress=false", "threads=1", *overrides]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return proc, out


def config(tmp_path, *overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="hysteresis", overrides=[f"output={tmp_path / 'c.json'}", "progress=false",
                                                            *overrides])


def test_a_soft_layer_in_a_wire_from_the_command_line(tmp_path):
    # FePt with its shape term: H_K = Hk − Ms; a 1 nm layer is 3 cells, whose κ = 0 makes it easy-plane
    # (κ_eff = −Ms/(Hk − Ms)); the lattice theory then gives h_N = 0.8032, the sweep within 0.005
    proc, out = hysteresis(tmp_path, "material=fept", "geometry=wire", "grid.shape=[128]", "defects.kind=soft",
                           "defects.thickness_nm=1", "defects.count=1", "seed=0")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["H_K_A_per_m"] == pytest.approx(7e6 - 0.95e6) and result["inputs"]["layer_cells"] == 3
    assert result["theory_nucleation_field_over_HK"] == pytest.approx(0.8032, abs=1e-4)
    (sample,) = result["samples"]
    assert sample["nucleation_field_over_HK"] == pytest.approx(result["theory_nucleation_field_over_HK"], abs=0.005)
    assert sample["reversal_mode"] == "single jump" and sample["coercivity_over_HK"] == pytest.approx(
        sample["nucleation_field_over_HK"], abs=0.75 * result["finest_step_HK"])
    H, M = sample["H_A_per_m"], sample["M_over_Ms"]
    assert H[0] == 0.0 and all(b > a for a, b in zip(H[:-1], H[1:], strict=True)) and M[0] > 0.999 and M[-1] < -0.99
    anchors = sample["anchors"]
    assert list(anchors["H_A_per_m_at_M_over_Ms"]) == ["0.99", "0.9", "0.5", "0", "-0.9"]
    assert anchors["M_over_Ms_at_H_over_HK"]["0.2"] > 0.999  # saturated until the jump at 0.80 H_K
    assert sample["defect_cells"] == 3 and out.with_suffix(".png").stat().st_size > 5000


def test_rtn_vacancies_reverse_at_HK_from_the_command_line(tmp_path):
    proc, out = hysteresis(tmp_path, "geometry=film", "grid.shape=[96]", "defects.kind=vacancy", "defects.sigma_nm=3",
                           "defects.tau_nm=0.5", "defects.count=2", "seed=4", "sweep.fine_HK=0.005")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert len(result["samples"]) == 2 and result["finest_step_HK"] == 0.005
    for s in result["samples"]:
        assert s["defect_cells"] > 0 and s["reversal_mode"] == "single jump"
        assert s["coercivity_over_HK"] == pytest.approx(1.0, abs=0.75 * 0.005)


def test_a_population_under_the_spsll_reading_from_the_command_line(tmp_path):
    proc, out = hysteresis(tmp_path, "geometry=wire", "grid.shape=[64]", "reading=spsll", "defects.sigma_nm=5",
                           "defects.tau_nm=1", "defects.count=1", "sweep.fine_HK=0.005")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["inputs"]["reading"] == "spsll"
    (s,) = result["samples"]
    assert s["defect_cells"] == 0 and s["reversal_mode"] == "single jump"
    assert s["coercivity_over_HK"] == pytest.approx(1.0, abs=1.5 * 0.005)


def test_bad_input_fails_on_the_command_line_with_the_reason(tmp_path):
    proc, out = hysteresis(tmp_path, "grid.shape=[64]", "defects.thickness_nm=0.1")
    assert proc.returncode != 0 and "below one cell" in proc.stderr, proc.stderr[-2000:]
    assert not out.exists()


@pytest.mark.parametrize(("overrides", "message"), [
    (("defects.thickness_nm=1", "defects.kappa=-0.5"), "defects.kappa must be a finite number >= 0"),
    (("defects.sigma_nm=nan", "defects.tau_nm=1"), "defects.sigma_nm must be a finite number > 0"),
    (("defects.sigma_nm=3", "defects.tau_nm=-1"), "defects.tau_nm must be a finite number"),
    (("defects.thickness_nm=1", "defects.sigma_nm=3", "defects.tau_nm=1"), "give either defects.thickness_nm"),
    ((), "give either defects.thickness_nm"),
    (("defects.thickness_nm=1", "material.Hk_A_per_m=-7e6"), "material.Hk must be a finite number > 0"),
    (("defects.thickness_nm=1", "grid.shape=[16,16]"), "grid.shape must be [N]"),
    (("defects.thickness_nm=1", "geometry=disk"), "geometry must be wire"),
    (("defects.thickness_nm=1", "defects.kind=crack"), "defects.kind must be one of"),
    (("defects.thickness_nm=1", "defects.count=0"), "defects.count must be an integer >= 1"),
    (("defects.thickness_nm=1", "sweep.fine_HK=nan"), "sweep.fine_HK must be a finite number > 0"),
    (("grid.shape=[64]", "defects.thickness_nm=1", "sweep.start_HK=0.9"), "the sweep never saturates"),
    (("grid.shape=[64]", "defects.thickness_nm=1", "sweep.max_HK=0.3"), "the sweep never reverses"),
    (("defects.thickness_nm=1", "reading=spsll"), "reading=spsll reads an RTN population"),
    (("defects.sigma_nm=3", "defects.tau_nm=1", "reading=rtn_ensemble"), "places explicit defects"),
    (("defects.sigma_nm=3", "defects.tau_nm=1", "reading=sppsll"), "sppsll"),
])
def test_bad_input_is_refused_naming_the_parameter(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        run_hysteresis(config(tmp_path, *overrides))
    assert not (tmp_path / "c.json").exists()
