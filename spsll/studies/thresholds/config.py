"""What the threshold study computes: :class:`ThresholdConfig`, from ``conf/studies/thresholds.yaml``.

A film of N × N cells of the material's lattice constant holds one skyrmion; the (σ, τ) points are
the product of ``sigma_nm`` and ``tau_nm``; every point's mosaic must fit the box
(``min_box_over_T`` correlation lengths T = στ/(σ+τ) per side), or it is refused here, before
anything is computed. Fields are along +ẑ (the background), in tesla.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace

from omegaconf import DictConfig, OmegaConf

from spsll.physics.grid import Grid
from spsll.physics.material import Material
from spsll.physics.measure.skyrmion_ensemble import PinningRule, check_box, require_skyrmion_material
from spsll.physics.solvers import SOLVER_NAMES, solver_of
from spsll.units import NM

AUTO = "auto"


def _finite(name: str, v, lo: float | None = None, *, strict: bool = False) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number, got {v!r}") from err
    if not math.isfinite(x) or (lo is not None and (x <= lo if strict else x < lo)):
        rng = "" if lo is None else f" {'>' if strict else '>='} {lo:g}"
        raise ValueError(f"{name} must be a finite number{rng}, got {v!r}")
    return x


def _int(name: str, v, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    return v


def _auto_or(name: str, v, lo: float) -> float | str:
    return AUTO if v is None or v == AUTO else _finite(name, v, lo)


@dataclass
class ThresholdConfig:
    """The film, the (σ, τ) grid, the readings, the ensembles and the bisection in B."""

    material: Material
    grid_cells: int = 64
    sigma_nm: Sequence[float] = (10.0,)
    tau_nm: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)
    readings: Sequence[str] = ("spsll", "spsll_convolution")
    realisations: int = 8
    seed: int = 0
    field_min_T: float | str = AUTO  # auto: 0 where |D| < D_c, else the first ladder field holding one
    field_max_T: float | str = AUTO  # auto: field_max_over_ideal x the ideal film's collapse field
    field_max_over_ideal: float = 1.1
    bisection_steps: int = 5
    dmi_scale: Sequence[float] = (1.0,)
    radius_nm: float = 8.0
    torque_tol: float = 1e-6
    max_iter: int = 4000
    max_iter_by_reading: dict = field(default_factory=dict)
    torque_tol_by_reading: dict = field(default_factory=lambda: {"spsll_convolution": 1e-4})
    min_box_over_T: float = 50.0
    isolated_fraction: float = 0.25
    pinning: PinningRule = field(default_factory=PinningRule)
    answer_fields_T: Sequence[float] | str = AUTO
    chunk: int = 32
    dtype: str = "float64"
    device: str = "cpu"

    def __post_init__(self):
        require_skyrmion_material(self.material)
        _int("grid_cells", self.grid_cells, 16)
        self.sigma_nm = tuple(_finite("sigma_nm", s, 0.0, strict=True) for s in self.sigma_nm)
        self.tau_nm = tuple(_finite("tau_nm", t, 0.0) for t in self.tau_nm)
        if not self.sigma_nm or not self.tau_nm:
            raise ValueError("sigma_nm and tau_nm must each hold at least one value")
        if sorted(set(self.tau_nm)) != list(self.tau_nm):
            raise ValueError(f"tau_nm must be strictly increasing (a B_c(τ) curve), got {list(self.tau_nm)}")
        self.readings = tuple(self.readings)
        for r in self.readings:
            if r not in SOLVER_NAMES or solver_of(r).explicit_defects or r == "psll":
                raise ValueError(f"readings: {r!r} is not a statistical reading; choose among "
                                 f"{[n for n in SOLVER_NAMES if n not in ('psll', 'rtn_ensemble')]}")
        self.max_iter_by_reading = dict(self.max_iter_by_reading or {})
        for key, v in self.max_iter_by_reading.items():
            if key not in SOLVER_NAMES:
                raise ValueError(f"max_iter_by_reading: {key!r} is not a solver name ({SOLVER_NAMES})")
            _int(f"max_iter_by_reading.{key}", v, 1)
        self.torque_tol_by_reading = dict(self.torque_tol_by_reading or {})
        for key, v in self.torque_tol_by_reading.items():
            if key not in SOLVER_NAMES:
                raise ValueError(f"torque_tol_by_reading: {key!r} is not a solver name ({SOLVER_NAMES})")
            _finite(f"torque_tol_by_reading.{key}", v, 0.0, strict=True)
        _int("realisations", self.realisations, 1)
        _int("seed", self.seed, 0)
        _int("bisection_steps", self.bisection_steps, 1)
        _int("max_iter", self.max_iter, 1)
        _int("chunk", self.chunk, 1)
        self.field_min_T = _auto_or("field_min_T", self.field_min_T, 0.0)
        self.field_max_T = _auto_or("field_max_T", self.field_max_T, 0.0)
        if AUTO not in (self.field_min_T, self.field_max_T) and not self.field_max_T > self.field_min_T:
            raise ValueError(f"field_max_T ({self.field_max_T}) must exceed field_min_T ({self.field_min_T})")
        _finite("field_max_over_ideal", self.field_max_over_ideal, 1.0, strict=True)
        self.dmi_scale = tuple(_finite("dmi_scale", d, 0.0, strict=True) for d in self.dmi_scale)
        if not self.dmi_scale:
            raise ValueError("dmi_scale must hold at least one factor")
        _finite("radius_nm", self.radius_nm, 0.0, strict=True)
        _finite("torque_tol", self.torque_tol, 0.0, strict=True)
        _finite("min_box_over_T", self.min_box_over_T, 0.0, strict=True)
        if not 0 < _finite("isolated_fraction", self.isolated_fraction) <= 0.5:
            raise ValueError(f"isolated_fraction must be in (0, 0.5], got {self.isolated_fraction}")
        if self.answer_fields_T != AUTO:
            self.answer_fields_T = tuple(_finite("answer_fields_T", b, 0.0) for b in self.answer_fields_T)
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be float64 or float32, got {self.dtype!r}")
        sig = [s * NM for s in self.sigma_nm for _ in self.tau_nm]
        tau = [t * NM for _ in self.sigma_nm for t in self.tau_nm]
        check_box(self.grid, sig, tau, self.min_box_over_T, name="sigma_nm x tau_nm")

    @property
    def grid(self) -> Grid:
        return Grid((self.grid_cells, self.grid_cells), self.material.a)

    @property
    def box_nm(self) -> float:
        return self.grid_cells * self.material.a / NM

    def max_iter_of(self, reading: str) -> int:
        return int(self.max_iter_by_reading.get(reading, self.max_iter))

    def torque_tol_of(self, reading: str) -> float:
        return float(self.torque_tol_by_reading.get(reading, self.torque_tol))

    @classmethod
    def from_study(cls, cfg) -> ThresholdConfig:
        """From the composed ``studies/thresholds`` config (its material group and keys)."""
        c = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
        material = Material.from_config(c["material"])
        pin = c.get("pinning") or {}
        keys = [f.name for f in fields(cls) if f.name not in ("material", "pinning")]
        return cls(material=material, pinning=PinningRule(**pin), **{k: c[k] for k in keys if k in c})

    @classmethod
    def from_conf(cls, overrides: Sequence[str] = (), **fields_) -> ThresholdConfig:
        """:meth:`from_study` of ``conf/studies/thresholds.yaml`` with command-line ``overrides``, then
        the dataclass ``fields_`` replaced."""
        from spsll.studies.common import compose_study

        return replace(cls.from_study(compose_study("thresholds", overrides)), **fields_)
