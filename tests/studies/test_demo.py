"""The physics demo (spsll/studies/demo.py) through its Hydra entry point, in quick mode."""

import json

from tests.studies.conftest import run_study


def test_demo_quick(tmp_path):
    out = tmp_path / "demo"
    proc = run_study(tmp_path, "demo", "quick=true", f"out={out}", "device=cpu", "threads=1", timeout=300)
    assert proc.returncode == 0, proc.stderr
    names = ["fig1b_rtn_spectrum.png", "fig1c_dispersion_ideal.png",
             "fig1d_dispersion_defective.png", "fig1e_wall_profiles.png", "fig1f_width_surface.png"]
    for name in names:
        path = out / name
        assert path.exists() and path.stat().st_size > 1000, name
        assert name in proc.stdout
    report = proc.stdout
    assert "X = " in report and "THz" in report
    assert "width = " in report and "tanh width = " in report
    assert "wall-time" in report and "6 × 5 = 30 walls" in report
    # the report and its numbers next to the figures
    assert (out / "demo.txt").read_text().strip() == report.strip()
    numbers = json.loads((out / "demo.json").read_text())
    assert numbers["surface"]["n_walls"] == 30 and numbers["mode"] == "quick"
    assert numbers["command"].startswith("python -m spsll.studies.demo quick=true")
