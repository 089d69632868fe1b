"""What the film validation computes: :class:`FilmValidationConfig`, from ``conf/studies/validation_2d.yaml``.

A film is N × M cells (x × y) of size a. The explicit ensembles are coloured Poisson mosaics
(docs/physics.md#mosaic), which need a box of at least ``min_box_over_T`` correlation lengths
T = στ/(σ+τ) on every side; the points are checked against it here, so that no statistical result
is computed in a box its mosaic does not fit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace

from omegaconf import DictConfig, OmegaConf

from spsll.physics.material import Material
from spsll.physics.measure.dispersion import DispersionSettings
from spsll.physics.measure.domain_wall import WallSettings
from spsll.studies.validation.config import WALL_MAX_ITER


def films_have_walls() -> bool:
    """Whether :class:`WallSettings` takes ``n_rows`` (film walls exist in this tree)."""
    return "n_rows" in {f.name for f in fields(WallSettings)}


def _points(name: str, pts) -> tuple[tuple[float, float], ...]:
    out = tuple((float(s), float(t)) for s, t in pts)
    for s, t in out:
        if not (math.isfinite(s) and math.isfinite(t) and s > 0 and t >= 0):
            raise ValueError(f"{name}: every point must be [sigma_nm > 0, tau_nm >= 0], got {(s, t)}")
    return out


def _rows(name: str, rows, lo: int = 1) -> tuple[int, ...]:
    out = tuple(rows)
    if any(isinstance(r, bool) or not isinstance(r, int) or r < lo for r in out):
        raise ValueError(f"{name} must be integers >= {lo}, got {list(out)}")
    return out


def correlation_length_nm(sigma_nm: float, tau_nm: float) -> float:
    """T = στ/(σ+τ) (nm)."""
    return sigma_nm * tau_nm / (sigma_nm + tau_nm)


@dataclass
class FilmValidationConfig:
    """Dispersions of films N × ``n_rows`` (the ensemble box), the readings at ``reading_rows``
    box heights (``convolution_rows`` for the stiff convolution reading), walls of films
    2N × ``wall_rows`` (when the tree has film walls)."""

    points_nm: Sequence[tuple[float, float]] = ((10.0, 5.0),)
    n_rows: int = 512
    reading_rows: Sequence[int] = (64, 512, 4096)
    convolution_rows: Sequence[int] = ()
    realisations: int = 4  # per point, split in two halves (seeds seed, seed + 1)
    seed: int = 0
    min_box_over_T: float = 50.0
    box_check_rows: int = 0  # > 0: a second ensemble at this height for box_check_points_nm (box independence)
    box_check_points_nm: Sequence[tuple[float, float]] = ()
    wall_points_nm: Sequence[tuple[float, float]] = ()
    wall_rows: int = 128
    wall_realisations: int = 2
    dispersion: DispersionSettings = field(default_factory=DispersionSettings)
    walls: WallSettings = field(default_factory=WallSettings)
    dispersion_dtype: str = "float32"
    wall_dtype: str = "float64"
    device: str = "auto"
    compile: str | bool = "auto"
    material: Material = field(default_factory=Material.fept)

    def __post_init__(self):
        self.points_nm = _points("points_nm", self.points_nm)
        self.wall_points_nm = _points("wall_points_nm", self.wall_points_nm)
        self.box_check_points_nm = _points("box_check_points_nm", self.box_check_points_nm)
        if self.box_check_points_nm and self.box_check_rows < 2:
            raise ValueError(f"box_check_rows must be >= 2 with box_check_points_nm, got {self.box_check_rows!r}")
        if any(p not in self.points_nm for p in self.box_check_points_nm):
            raise ValueError(f"box_check_points_nm must be among points_nm, got {list(self.box_check_points_nm)}")
        if not self.points_nm:
            raise ValueError("points_nm must hold at least one [sigma_nm, tau_nm] point")
        for key in ("n_rows", "wall_rows"):
            _rows(key, [getattr(self, key)], 2)
        self.reading_rows = _rows("reading_rows", self.reading_rows, 2)
        self.convolution_rows = _rows("convolution_rows", self.convolution_rows, 2)
        if not self.reading_rows:
            raise ValueError("reading_rows must hold at least one box height")
        for key in ("realisations", "wall_realisations"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 2:
                raise ValueError(f"{key} must be an integer >= 2 (two halves for the noise), got {v!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not self.min_box_over_T > 0:
            raise ValueError(f"min_box_over_T must be > 0, got {self.min_box_over_T}")
        if self.dispersion.n_rows != 1:
            raise ValueError("dispersion settings are the chain's; the film height is n_rows")
        a_nm = self.material.a * 1e9
        self._check_box("points_nm", self.points_nm, (self.dispersion.n_cells, self.n_rows), a_nm)
        if self.box_check_points_nm:
            self._check_box("box_check_points_nm", self.box_check_points_nm,
                            (self.dispersion.n_cells, self.box_check_rows), a_nm)
        if self.wall_points_nm:
            self._check_box("wall_points_nm", self.wall_points_nm, (2 * self.walls.n_cells, self.wall_rows), a_nm)

    def _check_box(self, name, points, shape, a_nm):
        side = min(shape) * a_nm
        t_max = side / self.min_box_over_T
        for s, t in points:
            if correlation_length_nm(s, t) > t_max * (1 + 1e-9):
                raise ValueError(f"{name}: ({s:g}, {t:g}) nm has T = {correlation_length_nm(s, t):.3f} nm, but the "
                                 f"{shape[0]} x {shape[1]} box ({side:.1f} nm short side) allows T <= {t_max:.3f} nm "
                                 f"(min_box_over_T = {self.min_box_over_T:g}); choose a smaller T or a taller box")

    @property
    def box_nm(self) -> tuple[float, float]:
        a_nm = self.material.a * 1e9
        return self.dispersion.n_cells * a_nm, self.n_rows * a_nm

    @classmethod
    def from_study(cls, cfg) -> FilmValidationConfig:
        """From the composed ``studies/validation_2d`` config: the dataset groups' measurement settings,
        dtypes and material, the study's points, boxes and ensemble sizes."""
        from spsll.data.provenance import physics_of_request

        c = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
        disp, wall = (physics_of_request({"material": c["material"], "solver": {"name": "spsll"}, "dataset": d})
                      for d in (c["dispersion_dataset"], c["wall_dataset"]))
        max_iter = c.get("wall_max_iter", WALL_MAX_ITER)
        if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 0:
            raise ValueError(f"wall_max_iter must be an integer >= 0, got {max_iter!r}")
        walls = wall.settings if not max_iter else replace(wall.settings, max_iter=max_iter)
        f = c["film"]
        return cls(points_nm=f["points_nm"], n_rows=f["n_rows"], reading_rows=f["reading_rows"],
                   convolution_rows=f["convolution_rows"], realisations=c["realisations"], seed=c["seed"],
                   min_box_over_T=f["min_box_over_T"], box_check_rows=f.get("box_check_rows", 0),
                   box_check_points_nm=f.get("box_check_points_nm", ()), wall_points_nm=f["wall_points_nm"],
                   wall_rows=f["wall_rows"],
                   wall_realisations=c["wall_realisations"], dispersion=disp.settings, walls=walls,
                   dispersion_dtype=disp.solver.dtype, wall_dtype=wall.solver.dtype, device=c["device"],
                   compile=c["compile"], material=disp.material)

    @classmethod
    def from_conf(cls, overrides: Sequence[str] = (), **fields_) -> FilmValidationConfig:
        """:meth:`from_study` of ``conf/studies/validation_2d.yaml`` with command-line ``overrides``, then
        the dataclass ``fields_`` replaced."""
        from spsll.studies.common import compose_study

        return replace(cls.from_study(compose_study("validation_2d", overrides)), **fields_)
