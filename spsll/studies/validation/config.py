"""What the validation computes: :class:`ValidationConfig`, from ``conf/studies/validation.yaml``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from omegaconf import DictConfig, OmegaConf

from spsll.physics.material import Material
from spsll.physics.measure.dispersion import DispersionSettings
from spsll.physics.measure.domain_wall import WallSettings

WALL_MAX_ITER = 2000  # BB budget of the validation's walls (the datasets allow 20 000): see the package docstring


@dataclass
class ValidationConfig:
    """What :func:`~spsll.studies.validation.compute.run_validation` computes (defaults: the datasets'
    ranges and measurements)."""

    realisations: int = 32  # dispersion ensemble (split in two halves for the noise estimate)
    wall_realisations: int = 64
    seed: int = 0
    n_sigma: int = 4
    n_tau: int = 4
    dispersion_sigma_nm: tuple[float, float] = (5.0, 50.0)
    dispersion_tau_nm: tuple[float, float] = (0.0, 15.0)
    wall_sigma_nm: tuple[float, float] = (1.0, 100.0)
    wall_tau_nm: tuple[float, float] = (0.0, 20.0)
    dispersion: DispersionSettings = field(default_factory=DispersionSettings)
    walls: WallSettings = field(default_factory=WallSettings)
    dispersion_dtype: str = "float32"
    wall_dtype: str = "float64"
    device: str = "auto"
    compile: str | bool = "auto"
    material: Material = field(default_factory=Material.fept)

    def __post_init__(self):
        for key in ("realisations", "wall_realisations", "n_sigma", "n_tau"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{key} must be an integer >= 1, got {v!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        for key in ("dispersion_sigma_nm", "dispersion_tau_nm", "wall_sigma_nm", "wall_tau_nm"):
            lo, hi = getattr(self, key)
            if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo <= hi and hi > 0):
                raise ValueError(f"{key} must be [lo, hi] with 0 <= lo <= hi, hi > 0; got {(lo, hi)}")
        if self.dispersion_sigma_nm[0] <= 0 or self.wall_sigma_nm[0] <= 0:
            raise ValueError("sigma ranges must start above 0 (sigma = 0 is no material)")

    @classmethod
    def from_study(cls, cfg) -> ValidationConfig:
        """From the composed study config: ranges, measurement settings and dtypes of its two dataset
        groups, its material, grid and ensemble sizes, and ``wall_max_iter`` (0: the dataset's)."""
        from spsll.data.provenance import physics_of_request

        c = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
        disp, wall = (physics_of_request({"material": c["material"], "solver": {"name": "spsll"}, "dataset": d})
                      for d in (c["dispersion_dataset"], c["wall_dataset"]))
        n_sigma, n_tau = c["grid"]
        max_iter = c.get("wall_max_iter", WALL_MAX_ITER)
        if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 0:
            raise ValueError(f"wall_max_iter must be an integer >= 0, got {max_iter!r}")
        walls = wall.settings if not max_iter else replace(wall.settings, max_iter=max_iter)
        return cls(realisations=c["realisations"], wall_realisations=c["wall_realisations"], seed=c["seed"],
                   n_sigma=n_sigma, n_tau=n_tau, dispersion_sigma_nm=disp.sigma_range_nm,
                   dispersion_tau_nm=disp.tau_range_nm, wall_sigma_nm=wall.sigma_range_nm,
                   wall_tau_nm=wall.tau_range_nm, dispersion=disp.settings, walls=walls,
                   dispersion_dtype=disp.solver.dtype, wall_dtype=wall.solver.dtype, device=c["device"],
                   compile=c["compile"], material=disp.material)

    @classmethod
    def from_conf(cls, overrides: Sequence[str] = (), **fields) -> ValidationConfig:
        """:meth:`from_study` of ``conf/studies/validation.yaml`` with command-line ``overrides``,
        then the dataclass ``fields`` replaced."""
        from spsll.studies.common import compose_study

        return replace(cls.from_study(compose_study("validation", overrides)), **fields)
