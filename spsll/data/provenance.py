"""The physics that made a dataset, or that a run was trained on: one place rebuilds it.

A dataset file stores its generation request (material, solver, dataset, seed; docs/data.md); a
training run's config holds the same three groups. Evaluation, refinement, the paper's cases and
``predict`` all need "the physics of this data" — the material, the solver with the dtype the
generator computed in, the measurement settings and the (σ, τ) ranges sampled — and get it here,
so that a simulation made for comparison is made exactly as the data were.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import h5py
import yaml

from spsll.data.config import MEASUREMENTS
from spsll.data.hdf5 import MASK_KINDS, DatasetError
from spsll.data.hysteresis import DefectSettings
from spsll.physics.material import Material
from spsll.physics.solvers import SolverConfig


@dataclass(frozen=True)
class DataPhysics:
    """Material, solver (dataset dtype applied, on ``solver.device``), kind, measurement and ranges; the
    mask kinds (hysteresis, microstructures) have no solver (None) and hysteresis its ``defects``."""

    kind: str
    material: Material
    solver: SolverConfig | None
    measurement: Any
    sigma_range_nm: tuple[float, float]
    tau_range_nm: tuple[float, float]
    defects: DefectSettings | None = None
    B_range_T: tuple[float, float] | None = None  # skyrmion: the applied field's range

    @property
    def settings(self):
        """The physics-side measurement settings (SI): DispersionSettings, WallSettings, or the skyrmion
        measurement itself."""
        return self.measurement.settings()


def load_material(path: str | Path) -> Material:
    """A material from a ``conf/material/*.yaml`` file (unit-suffixed keys)."""
    with open(path) as fh:
        return Material.from_config(yaml.safe_load(fh))


def physics_of_request(request: Mapping, *, device: str = "auto") -> DataPhysics:
    """From the groups ``material``, ``solver`` and ``dataset`` of a request or a run config."""
    try:
        dataset, material = request["dataset"], request["material"]
        kind = dataset["kind"]
        meas = MEASUREMENTS[kind](**dataset["measurement"])
        if kind in MASK_KINDS:
            defects = DefectSettings(**dataset["defects"]) if kind == "hysteresis" else None
            return DataPhysics(kind, Material.from_config(material), None, meas, tuple(map(float, dataset["sigma_nm"])),
                               tuple(map(float, dataset["tau_nm"])), defects)
        solver = request["solver"]
    except (KeyError, TypeError) as err:
        raise ValueError(f"not a generation request or run config (missing or unknown {err})") from err
    solver_cfg = SolverConfig.from_config({**solver, "device": device})
    if dataset.get("dtype"):  # generation computes in the dataset's dtype when it sets one
        solver_cfg = replace(solver_cfg, dtype=dataset["dtype"])
    b_range = tuple(map(float, dataset["B_T"])) if dataset.get("B_T") is not None else None
    return DataPhysics(kind, Material.from_config(material), solver_cfg, meas,
                       tuple(map(float, dataset["sigma_nm"])), tuple(map(float, dataset["tau_nm"])),
                       B_range_T=b_range)


def physics_of_dataset(path: str | Path, *, device: str = "auto") -> DataPhysics:
    """The physics recorded in a dataset file's generation request."""
    try:
        with h5py.File(path, "r") as f:
            request = yaml.safe_load(f.attrs["request"])
    except (OSError, KeyError) as err:
        raise DatasetError(f"cannot read the generation request of {path}: {err}") from err
    return physics_of_request(request, device=device)


def physics_of_run(cfg: Mapping, *, device: str = "auto") -> DataPhysics:
    """The physics of a training run's config (what ``predict`` uses without the dataset file)."""
    return physics_of_request(cfg, device=device)
