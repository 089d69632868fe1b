"""The film validation: dispersions (and walls, where the tree has film walls) of the statistical
readings against explicit mosaic ensembles, and the verdicts the report draws from them."""

from __future__ import annotations

import math
import time

from spsll.studies.validation.compute import DISP_TOL_THZ, WIDTH_TOL_NM, measurement_summary
from spsll.studies.validation.film_compute import validate_film_dispersions
from spsll.studies.validation.film_config import FilmValidationConfig, films_have_walls
from spsll.studies.validation.film_walls import validate_film_walls


def _threshold(noise: list, tol: float) -> list[float]:
    return [max(tol, 3 * (0.0 if v is None or math.isnan(v) else v)) for v in noise]


def _verdict(err: list, thr: list) -> dict:
    """Per point: |error| ≤ threshold (agree) or not; NaN errors count as neither."""
    ok = [None if e is None or math.isnan(e) else abs(e) <= h for e, h in zip(err, thr, strict=True)]
    return {"agree": ok, "n_agree": sum(1 for v in ok if v), "n_fail": sum(1 for v in ok if v is False)}


def dispersion_verdicts(d: dict) -> dict:
    """Which reading agrees with the ensemble at which box height, all k and inner half."""
    thr, thr_in = _threshold(d["ensemble_noise_thz"], DISP_TOL_THZ), _threshold(d["ensemble_noise_inner_thz"],
                                                                                  DISP_TOL_THZ)
    out = {"threshold_thz": thr, "threshold_inner_thz": thr_in,
           "ideal": {"all": _verdict(d["ideal"]["mae_thz"], thr),
                     "inner": _verdict(d["ideal"]["mae_inner_thz"], thr_in)},
           "best_box": {"all": _verdict(d["scan"]["best_mae_thz"], thr),
                        "inner": _verdict(d["scan"]["best_mae_inner_thz"], thr_in)}}
    for name in ("spsll", "spsll_convolution"):
        out[name] = {rows: {"all": _verdict(r["mae_thz"], thr), "inner": _verdict(r["mae_inner_thz"], thr_in)}
                     for rows, r in d[name].items()}
    return out


def wall_verdicts(w: dict) -> dict:
    thr = _threshold(w["width_err_ensemble_nm"], WIDTH_TOL_NM)
    thr_u = _threshold(w["width_unpinned_err_nm"], WIDTH_TOL_NM)
    return {"threshold_nm": thr, "threshold_unpinned_nm": thr_u,
            **{name: {rows: {"all": _verdict(r["err_nm"], thr), "unpinned": _verdict(r["err_unpinned_nm"], thr_u)}
                      for rows, r in w[name].items()} for name in ("spsll", "spsll_convolution")}}


def run_film_validation(cfg: FilmValidationConfig, log=print, *, dataset_ranges: dict | None = None) -> dict:
    """Dispersions and (when film walls exist and wall points are given) walls, with their verdicts
    (JSON-able but the ``_spectrum`` tensor). ``dataset_ranges``: the datasets' (σ, τ) ranges, for the
    report's statement of what the box could not reach."""
    t0 = time.perf_counter()
    disp = validate_film_dispersions(cfg, log)
    disp["verdicts"] = dispersion_verdicts(disp)
    walls, missing = None, None
    if not cfg.wall_points_nm:
        missing = "no wall points were asked for (wall_points_nm is empty)"
    elif not films_have_walls():
        missing = "this tree's WallSettings has no n_rows: film walls are not implemented here yet"
    else:
        walls = validate_film_walls(cfg, log)
        walls["verdicts"] = wall_verdicts(walls)
    return {"dispersion": disp, "walls": walls, "walls_missing": missing, "seconds": time.perf_counter() - t0,
            "config": film_config_summary(cfg, dataset_ranges)}


def film_config_summary(cfg: FilmValidationConfig, dataset_ranges: dict | None = None) -> dict:
    """The settings the report states (and the machine it ran on)."""
    return {
        "realisations": cfg.realisations, "wall_realisations": cfg.wall_realisations, "seed": cfg.seed,
        "material": cfg.material.name, "a_nm": cfg.material.a * 1e9, "min_box_over_T": cfg.min_box_over_T,
        "n_rows": cfg.n_rows, "reading_rows": list(cfg.reading_rows), "convolution_rows": list(cfg.convolution_rows),
        "wall_rows": cfg.wall_rows, "dataset_ranges": dataset_ranges or {}, **measurement_summary(cfg),
    }
