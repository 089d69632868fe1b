"""``python -m spsll.relax`` from the command line: the standard problem's wire and disk, and bad input."""

import json
import subprocess
import sys

import pytest

from tests.data.conftest import ROOT


def relax(tmp_path, *overrides):
    out = tmp_path / "relax.json"
    cmd = [sys.executable, "-m", "spsll.relax", f"output={out}", f"hydra.run.dir={tmp_path / 'hydra'}", *overrides]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return proc, out


def test_the_standard_problems_wire_from_the_command_line(tmp_path):
    proc, out = relax(tmp_path, "material=dmi_standard", "geometry=wire", "geometry.length_nm=100",
                      "grid.shape=[104]", "torque_tol=1e-9", "max_iter=200000")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["converged"] and result["topological_charge"] is None and result["radius_nm"] is None
    (first, last) = result["m_edge"]
    assert abs(abs(first[0]) - 0.6148) < 0.005 and abs(last[2] - 0.7887) < 0.005  # docs/physics.md#dmi
    assert result["energy_J"] < 0 and result["inputs"]["grid_shape"] == [104]
    assert out.with_suffix(".png").stat().st_size > 5000


def test_a_disk_skyrmion_from_the_command_line(tmp_path):
    proc, out = relax(tmp_path, "material=dmi_standard", "texture=skyrmion", "texture.radius_nm=20",
                      "geometry=disk", "grid.cell_nm=2", "grid.shape=[52,52]")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["survived"] and result["radius_nm"] == pytest.approx(22.03, rel=0.01)
    assert -1.0 < result["topological_charge"] < -0.8  # the canted edge of a disk takes a little of Q


@pytest.mark.parametrize(("overrides", "message"), [
    (("geometry=disk", "grid.shape=[40,40]", "grid.cell_nm=2"), "does not fit the box"),
    (("material=dmi_standard", "+material.colour=red"), "unknown key"),
    (("texture=skyrmion", "grid.shape=[64]"), "needs a film grid"),
])
def test_bad_input_is_refused_with_the_reason(tmp_path, overrides, message):
    proc, out = relax(tmp_path, *overrides)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr[-2000:]
    assert not out.exists()


def test_a_skyrmion_above_the_critical_dmi_is_warned_about(tmp_path):
    proc, out = relax(tmp_path, "material=dmi_standard", "texture=skyrmion", "texture.radius_nm=8",
                      "grid.shape=[48,48]", "max_iter=200")
    assert "no isolated skyrmion is metastable" in proc.stderr


def test_explicit_defects_give_one_result_per_realisation(tmp_path):
    proc, out = relax(tmp_path, "material=ptco", "texture=skyrmion", "texture.radius_nm=8", "solver=rtn_ensemble",
                      "solver.realisations=3", "sigma_nm=20", "tau_nm=2", "grid.shape=[48,48]", "max_iter=3000")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["realisations"] == 3 and len(result["survived"]) == 3 and len(result["energy_J"]) == 3
    assert 0.0 <= result["survival_fraction"] <= 1.0
