"""Typed (structured) configs for dataset generation, validated at the boundary.

Hydra composes ``conf/generate.yaml``; :func:`dataset_config` merges ``cfg.dataset`` into the
:class:`DatasetConfig` schema (type errors and unknown keys are refused by OmegaConf) and the
``__post_init__`` checks refuse physically meaningless values with a message naming the key.
Units are at the edge here: σ, τ in nm, times in ps/fs, frequencies in THz.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from omegaconf import MISSING, OmegaConf

from spsll.data.hysteresis import DefectSettings, HysteresisMeasurement
from spsll.data.microstructures import MicrostructureMeasurement
from spsll.data.skyrmion import SkyrmionMeasurement
from spsll.physics.measure.dispersion import DispersionSettings
from spsll.physics.measure.domain_wall import WallSettings

KINDS = ("dispersion", "domain_wall", "hysteresis", "microstructures", "skyrmion")
SAMPLINGS = ("uniform", "lhs", "sobol", "explicit")


@dataclass
class ShardConfig:
    index: int = 0
    count: int = 1


@dataclass
class DispersionMeasurement:
    n_cells: int = 500  # N is part of the model (docs/physics.md#discretisation): √P_cont scales with √Δk
    pulse_amplitude: float = 0.01
    pulse_width_cells: float = 1.0
    alpha: float = 0.001
    duration_ps: float = 10.0
    sample_interval_fs: float = 10.0
    window: str = "hann"
    store_spectrum: bool = False
    spectrum_max_thz: float = 12.0
    n_rows: int = 1  # M > 1: a film of N x M cells, line excitation along y (docs/physics.md#films)

    def settings(self) -> DispersionSettings:
        return DispersionSettings(
            n_cells=self.n_cells, pulse_amplitude=self.pulse_amplitude,
            pulse_width_cells=self.pulse_width_cells, alpha=self.alpha,
            duration=self.duration_ps * 1e-12, sample_interval=self.sample_interval_fs * 1e-15,
            window=self.window,
            keep_spectrum_below=self.spectrum_max_thz * 1e12 if self.store_spectrum else None,
            n_rows=_rows(self.n_rows),
        )

    @property
    def box_cells(self) -> tuple[int, ...]:
        """The simulated periodic box in cells: N, or N × M in a film."""
        return (self.n_cells,) + ((self.n_rows,) if self.n_rows > 1 else ())


@dataclass
class WallMeasurement:
    n_cells: int = 500  # stored profile; the mirrored simulation domain has 2N cells
    method: str = "bb"
    alpha: float = 1.0
    torque_tol: float = 1e-7
    max_iter: int = 20_000
    duration_ps: float = 100.0
    n_harmonics: int = 700
    n_error_harmonics: int = 100
    n_rows: int = 1  # M > 1: a film of M rows; mz is the row-averaged profile (docs/physics.md#films)

    def settings(self) -> WallSettings:
        return WallSettings(
            n_cells=self.n_cells, method=self.method, alpha=self.alpha, torque_tol=self.torque_tol,
            max_iter=self.max_iter, duration=self.duration_ps * 1e-12,
            n_harmonics=self.n_harmonics, n_error_harmonics=self.n_error_harmonics,
            n_rows=_rows(self.n_rows),
        )

    @property
    def box_cells(self) -> tuple[int, ...]:
        """The simulated periodic box in cells: the mirrored 2N, times M rows in a film."""
        return (2 * self.n_cells,) + ((self.n_rows,) if self.n_rows > 1 else ())


@dataclass
class DatasetConfig:
    kind: str = MISSING  # dispersion | domain_wall | hysteresis | microstructures | skyrmion
    path: str = MISSING
    n_samples: int = 1000
    sampling: str = "uniform"
    points: Any = None  # [[sigma_nm, tau_nm], ...] for sampling=explicit, in that order (skyrmion: [.., .., B_T])
    sigma_nm: list[float] = field(default_factory=lambda: [5.0, 50.0])
    tau_nm: list[float] = field(default_factory=lambda: [0.0, 15.0])
    B_T: Any = None  # skyrmion only: [min, max] of the applied field along +z (T), the plan's third axis
    split: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    chunk_size: int = 250
    dtype: Any = None  # overrides solver.dtype for this dataset (null: the solver's)
    shard: ShardConfig = field(default_factory=ShardConfig)
    measurement: Any = None  # DispersionMeasurement, WallMeasurement, HysteresisMeasurement, ..., chosen by kind
    defects: Any = None  # hysteresis only: DefectSettings (soft or vacancy, kappa)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"dataset.kind must be one of {KINDS}, got {self.kind!r}")
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"dataset.sampling must be one of {SAMPLINGS}, got {self.sampling!r}")
        if not str(self.path).strip():
            raise ValueError("dataset.path must be a file path")
        _check_range("dataset.sigma_nm", self.sigma_nm, strictly_positive=True)
        _check_range("dataset.tau_nm", self.tau_nm, strictly_positive=False)
        self._field_range()
        if self.sampling == "explicit":
            self.points = _check_points(self.points, with_field=self.kind == "skyrmion")
            self.n_samples = len(self.points)
        elif self.points not in (None, [], ()):
            raise ValueError("dataset.points is only used with dataset.sampling=explicit")
        if isinstance(self.n_samples, bool) or int(self.n_samples) < 1:
            raise ValueError(f"dataset.n_samples must be an integer >= 1, got {self.n_samples}")
        if int(self.chunk_size) < 1:
            raise ValueError(f"dataset.chunk_size must be >= 1, got {self.chunk_size}")
        if len(self.split) != 3 or any(s < 0 for s in self.split) or abs(sum(self.split) - 1) > 1e-9:
            raise ValueError(f"dataset.split must be three fractions >= 0 summing to 1, got {self.split}")
        if self.dtype not in (None, "float32", "float64"):
            raise ValueError(f"dataset.dtype must be null, float32 or float64, got {self.dtype!r}")
        if not (0 <= self.shard.index < self.shard.count):
            raise ValueError(f"dataset.shard needs 0 <= index < count, got {self.shard.index}/{self.shard.count}")
        if self.shard.count > self.n_chunks:
            raise ValueError(f"dataset.shard.count = {self.shard.count} exceeds the {self.n_chunks} chunks of "
                             "the dataset: lower it or dataset.chunk_size")
        if self.kind in ("hysteresis", "microstructures") and self.dtype is not None:
            raise ValueError(f"dataset.dtype must be null for kind {self.kind}: it computes in float64")
        self._defects()
        schema = MEASUREMENTS[self.kind]
        meas = self.measurement if self.measurement is not None else {}
        if not isinstance(meas, schema):
            meas = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), meas))
        self.measurement = meas
        self.measurement.settings()  # the physics settings validate themselves

    @property
    def n_chunks(self) -> int:
        return math.ceil(self.n_samples / self.chunk_size)

    def _field_range(self):
        """``B_T`` belongs to the skyrmion kind only, which needs it (docs/data.md#skyrmions)."""
        if self.kind != "skyrmion":
            if self.B_T is not None:
                raise ValueError(f"dataset.B_T is only used with dataset.kind=skyrmion, not {self.kind}")
            return
        if self.B_T is None or isinstance(self.B_T, str | int | float) or len(self.B_T) != 2:
            raise ValueError(f"dataset.B_T must be [min, max], the applied field's range in tesla, got {self.B_T!r}")
        try:
            _check_range("dataset.B_T", self.B_T, strictly_positive=False)
        except ValueError as err:
            raise ValueError(f"{err} (tesla; B is along +z, the background: B >= 0 shrinks the skyrmion)") from None
        self.B_T = [float(b) for b in self.B_T]

    def _defects(self):
        """``defects`` belongs to the hysteresis kind only (the other kinds' requests never hold it)."""
        if self.kind != "hysteresis":
            if self.defects not in (None, {}):
                raise ValueError(f"dataset.defects is only used with dataset.kind=hysteresis, not {self.kind}")
            self.defects = None
        elif not isinstance(self.defects, DefectSettings):
            given = dict(self.defects or {})
            unknown = sorted(set(given) - {"kind", "kappa"})
            if unknown:
                raise ValueError(f"dataset.defects has unknown key(s) {unknown}; known: ['kind', 'kappa']")
            self.defects = DefectSettings(**given)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["measurement"] = asdict(self.measurement)
        if d["measurement"].get("n_rows") == 1:  # a chain: its request reads as before films existed
            del d["measurement"]["n_rows"]
        if d["defects"] is None:  # the kinds without defects settings: their request reads as before
            del d["defects"]
        if d["B_T"] is None:  # the kinds without a field axis: likewise
            del d["B_T"]
        return d


MEASUREMENTS = {"dispersion": DispersionMeasurement, "domain_wall": WallMeasurement,
                "hysteresis": HysteresisMeasurement, "microstructures": MicrostructureMeasurement,
                "skyrmion": SkyrmionMeasurement}


def _rows(n) -> int:
    """``measurement.n_rows``: 1 (a chain) or the M rows of a film."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"dataset.measurement.n_rows must be an integer >= 1 (1: a chain, M > 1: a film "
                         f"of M rows), got {n!r}")
    return n


def _check_range(name, rng, *, strictly_positive):
    if len(rng) != 2:
        raise ValueError(f"{name} must be [min, max], got {rng}")
    lo, hi = float(rng[0]), float(rng[1])
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{name} must be finite, got {rng}")
    if hi < lo:
        raise ValueError(f"{name} is empty: max {hi} < min {lo}")
    if strictly_positive and lo <= 0:
        raise ValueError(f"{name} must be > 0 (sigma = 0 is no material), got min {lo}")
    if lo < 0:
        raise ValueError(f"{name} must be >= 0, got min {lo}")


def _check_points(points, with_field: bool = False) -> list[list[float]]:
    names = "[sigma_nm, tau_nm, B_T]" if with_field else "[sigma_nm, tau_nm]"
    if points is None or len(points) == 0:
        raise ValueError(f"dataset.sampling=explicit needs dataset.points=[{names}, ...]")
    out = []
    for i, p in enumerate(points):
        if len(p) != 2 + with_field:
            raise ValueError(f"dataset.points[{i}] must be {names}, got {p}")
        s, t = float(p[0]), float(p[1])
        if not (math.isfinite(s) and s > 0):
            raise ValueError(f"dataset.points[{i}]: sigma_nm must be finite and > 0, got {s}")
        if not (math.isfinite(t) and t >= 0):
            raise ValueError(f"dataset.points[{i}]: tau_nm must be finite and >= 0, got {t}")
        if with_field and not (math.isfinite(float(p[2])) and float(p[2]) >= 0):
            raise ValueError(f"dataset.points[{i}]: B_T must be finite and >= 0 (along +z, the background), "
                             f"got {float(p[2])}")
        out.append([s, t] + ([float(p[2])] if with_field else []))
    return out


def dataset_config(cfg) -> DatasetConfig:
    """Merge a composed ``dataset`` node into the schema and validate it."""
    node = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True)) if not isinstance(cfg, dict) else cfg
    base = OmegaConf.structured(DatasetConfig)
    meas = node.get("measurement") if hasattr(node, "get") else None
    node = {k: v for k, v in (node.items() if hasattr(node, "items") else [])}
    node.pop("measurement", None)
    defects = node.pop("defects", None)
    merged = OmegaConf.merge(base, node)
    obj = OmegaConf.to_object(merged)
    obj.measurement = None if meas is None else OmegaConf.to_container(OmegaConf.create(meas)) \
        if not isinstance(meas, dict) else meas
    obj.defects = OmegaConf.to_container(OmegaConf.create(defects)) if defects is not None else None
    obj.__post_init__()
    return obj
