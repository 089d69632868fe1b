"""What the fitted-filter study computes: :class:`FittedStudyConfig`, from ``conf/studies/fitted_filter.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from spsll.studies.validation.film_config import FilmValidationConfig, _points


def _seed(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"fit.{name} must be an integer >= 0, got {v!r}")
    return v


@dataclass
class FittedStudyConfig:
    """Training points (the fit), held-out points (fresh ensembles, other seeds) for dispersions and walls,
    on the films of ``film`` (box, measurement settings, realisations, dtypes)."""

    film: FilmValidationConfig
    training_points_nm: tuple
    heldout_points_nm: tuple
    wall_points_nm: tuple = ()
    training_seed: int = 0
    heldout_seed: int = 100
    wall_seed: int = 100
    cache: Path | None = None

    def __post_init__(self):
        self.training_points_nm = _points("fit.training_points_nm", self.training_points_nm)
        self.heldout_points_nm = _points("fit.heldout_points_nm", self.heldout_points_nm)
        self.wall_points_nm = _points("fit.wall_points_nm", self.wall_points_nm)
        for name in ("training_seed", "heldout_seed", "wall_seed"):
            _seed(name, getattr(self, name))
        if len(self.training_points_nm) < 3:
            raise ValueError("fit.training_points_nm needs at least 3 points (the k_cut fit has 3 coefficients)")
        if not self.heldout_points_nm:
            raise ValueError("fit.heldout_points_nm needs at least one point: the fit is validated there")
        shared = set(self.training_points_nm) & set(self.heldout_points_nm)
        if shared:
            raise ValueError(f"held-out points must not be training points, both hold {sorted(shared)}")
        if {self.training_seed, self.training_seed + 1} & {self.heldout_seed, self.heldout_seed + 1}:
            raise ValueError("fit.heldout_seed must differ from fit.training_seed by at least 2 (the halves use "
                             "seed and seed + 1): held-out ensembles are fresh")
        # every point must fit the box (the film config checks its points against min_box_over_T)
        everything = self.training_points_nm + self.heldout_points_nm
        replace(self.film, points_nm=everything, box_check_points_nm=(), wall_points_nm=self.wall_points_nm)
        if self.cache is not None:
            self.cache = Path(self.cache)

    @classmethod
    def from_study(cls, cfg) -> FittedStudyConfig:
        c = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
        film = FilmValidationConfig.from_study(cfg)
        f = c["fit"]
        return cls(film=replace(film, box_check_points_nm=(), box_check_rows=0), cache=c.get("cache"),
                   training_points_nm=f["training_points_nm"], heldout_points_nm=f["heldout_points_nm"],
                   wall_points_nm=f.get("wall_points_nm", ()), training_seed=f["training_seed"],
                   heldout_seed=f["heldout_seed"], wall_seed=f.get("wall_seed", f["heldout_seed"]))
