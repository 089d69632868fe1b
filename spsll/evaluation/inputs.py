"""The boundary of evaluate.py and predict: checks of the options, the checkpoint file, and data that
must fit the trained model (its k or x grid) or, made by another solver, the run's physics; and the
JSON result, written whole or not at all.

Every check runs before anything is computed or written, and its message names the bad key or
file, what it holds, and what to do.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from dataclasses import asdict
from pathlib import Path

import h5py
import numpy as np

from spsll.data.provenance import DataPhysics, physics_of_dataset

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
PICKLE_PROTOCOL_2 = b"\x80"  # torch.save's legacy (non-zip) format starts with a pickle protocol opcode
RELATIVE_TOLERANCE = 1e-9  # material constants and measurement settings: equal within round-off
STORAGE_ONLY = ("store_spectrum", "spectrum_max_thz")  # what else a file keeps, not how it measured


class EvaluationError(RuntimeError):
    """The run, checkpoint, data or options to evaluate are missing or inconsistent."""


def check_checkpoint_file(path: Path, error=EvaluationError) -> None:
    """Refuse a file that is not a PyTorch/Lightning checkpoint before it is unpickled."""
    path = Path(path)
    if not path.is_file():
        raise error(f"no checkpoint at {path}" + (" (it is a folder)" if path.is_dir() else ""))
    with open(path, "rb") as fh:
        head = fh.read(8)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            if any(name.endswith("data.pkl") for name in z.namelist()):
                return
        what = "a zip archive without a saved PyTorch object"
    elif head.startswith(PICKLE_PROTOCOL_2):
        return
    elif head.startswith(HDF5_SIGNATURE):
        what = "an HDF5 file (a dataset? pass it as test_data=, or the run's checkpoint as ckpt_path=)"
    elif not head:
        what = "empty"
    else:
        what = "a text file" if _is_text(path) else "not a format PyTorch saves"
    raise error(f"{path} is not a checkpoint file ({what}); give the .ckpt that train.py wrote under "
                "<output dir>/checkpoints/, or run_id=<mlflow run id>")


def _is_text(path: Path) -> bool:
    with open(path, "rb") as fh:
        block = fh.read(4096)
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in block


def positive_int(name: str, value, *, allow_all: bool = False, error=EvaluationError) -> int | None:
    """``value`` as an int ≥ 1; None stays None, and with ``allow_all`` the string "all" means None (all)."""
    if value is None or allow_all and isinstance(value, str) and value.strip().lower() == "all":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise error(f"{name} must be an integer >= 1{' or all' if allow_all else ''}, got {value!r}")
    try:
        f = float(value)
    except ValueError:
        f = math.nan
    if not (math.isfinite(f) and f == int(f) and f >= 1):
        raise error(f"{name} must be an integer >= 1{' or all' if allow_all else ''}, got {value!r}")
    return int(f)


def axis_of(path: str | Path, task: str) -> np.ndarray:
    """The k (rad/nm) or x (nm) axis of a dataset file."""
    with h5py.File(path, "r") as f:
        return f["k_rad_per_nm" if task == "dispersion" else "x_nm"][:].astype(np.float64)


def model_axis(data_info: dict, task: str, physics: DataPhysics) -> np.ndarray:
    """The model's grid: its k points, or its N cell centres (nm) of the run's lattice constant."""
    if task == "dispersion":
        return np.asarray(data_info["k_rad_per_nm"], dtype=np.float64)
    n = int(data_info["mz_length"])
    return (np.arange(n) + 0.5 - n / 2) * physics.material.a * 1e9


def check_grid(data_info: dict, task: str, physics: DataPhysics, path: str | Path) -> None:
    """The file's k or x axis must be the model's (its checkpoint's data_info), within round-off."""
    want, have = model_axis(data_info, task, physics), axis_of(path, task)
    sym, name = ("K", "k points") if task == "dispersion" else ("N", "m_z cells")
    if len(have) != len(want):
        raise EvaluationError(f"{path} holds {sym} = {len(have)} {name} per sample, but the model was trained on "
                              f"{sym} = {len(want)} (its checkpoint's data_info grid); score it with a model "
                              "trained on this measurement, or generate data with the run's measurement settings")
    step = abs(float(want[1] - want[0])) if len(want) > 1 else 1.0
    worst = float(np.abs(have - want).max())
    if worst > 1e-5 * step:
        unit = "rad/nm" if task == "dispersion" else "nm"
        raise EvaluationError(f"{path}: its {'k' if task == 'dispersion' else 'x'} axis differs from the model's "
                              f"by up to {worst:.3g} {unit} ({have[0]:.6g} … {have[-1]:.6g} against "
                              f"{want[0]:.6g} … {want[-1]:.6g}); another lattice constant or window")


def _differences(a: dict, b: dict, prefix: str) -> list[str]:
    out = []
    for key in sorted(a.keys() | b.keys()):
        x, y = a.get(key, "<absent>"), b.get(key, "<absent>")
        same = x == y
        if not same and isinstance(x, int | float) and isinstance(y, int | float):
            same = math.isclose(float(x), float(y), rel_tol=RELATIVE_TOLERANCE, abs_tol=0.0)
        if not same and isinstance(x, list | tuple) and isinstance(y, list | tuple) and len(x) == len(y):
            same = all(math.isclose(float(u), float(v), rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-300)
                       for u, v in zip(x, y, strict=True))
        if not same:
            out.append(f"{prefix}.{key}: {y!r} in the file, {x!r} in the run")
    return out


def check_cross_model(run_physics: DataPhysics, data_info: dict, path: str | Path) -> dict:
    """Data from another dataset file (another solver): the same kind, grid, measurement settings and
    material as the run; only the solver may differ. Returns what labels the results."""
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(f"test_data: no dataset at {path}")
    test = physics_of_dataset(path)
    if test.kind != run_physics.kind:
        raise EvaluationError(f"test_data {path} holds {test.kind} data, but the run's model reads "
                              f"{run_physics.kind} data")
    check_grid(data_info, run_physics.kind, run_physics, path)
    diffs = _differences({k: v for k, v in asdict(run_physics.measurement).items() if k not in STORAGE_ONLY},
                         {k: v for k, v in asdict(test.measurement).items() if k not in STORAGE_ONLY}, "measurement")
    diffs += _differences({k: v for k, v in asdict(run_physics.material).items() if k != "name"},
                          {k: v for k, v in asdict(test.material).items() if k != "name"}, "material")
    if diffs:
        raise EvaluationError(f"test_data {path} was not measured like the run's data (only the solver may "
                              f"differ): " + "; ".join(diffs))
    with h5py.File(path, "r") as f:
        settings = str(f.attrs.get("solver_settings", ""))
    return {"solver": test.solver.name, "run_solver": run_physics.solver.name, "data": str(path),
            "solver_settings": settings, "dtype": str(test.solver.dtype)}


def write_json(obj, output: Path) -> Path:
    """``obj`` as indented JSON at ``output``, through a temporary file renamed into place: a reader
    never sees half a result, and a failure leaves no file."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(obj, indent=2))
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return output
