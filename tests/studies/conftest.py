import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_study(tmp_path, name: str, *overrides, timeout=600) -> subprocess.CompletedProcess:
    """``python -m spsll.studies.<name> <overrides>`` from the project root, Hydra's run directory in
    ``tmp_path``."""
    cmd = [sys.executable, "-m", f"spsll.studies.{name}", *overrides, f"hydra.run.dir={tmp_path / 'hydra'}"]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
