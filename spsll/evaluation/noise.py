"""Measurement noise: seeded Gaussian noise on the inputs of an inverse model, and what it does to the
quantities measured from them (evaluate.py's ``noise_ghz`` / ``noise_mz``; predict's stated noise).

* Dispersions: every peak frequency + N(0, σ²), σ given in GHz (``noise_ghz``).
* Walls: every m_z cell + N(0, σ²), clipped to [−1, 1] (``noise_mz``), and the width re-measured from
  the noisy profile by the dataset's own method (the paper's cosine series with the measurement's
  harmonics, :func:`spsll.physics.measure.width.cosine_series_width`), as a measurement would be.

A level's draws come from ``default_rng([seed, split, level in 1e-9 units])``: they do not depend on
which other levels are evaluated, nor on the batch size, and validation and test draw independently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from spsll.data.provenance import DataPhysics
from spsll.physics.measure.width import cosine_series_width
from spsll.units import NM

KEYS = {"dispersion": "noise_ghz", "domain_wall": "noise_mz"}
UNITS = {"dispersion": "GHz", "domain_wall": "m_z"}
TO_OBSERVATION = {"dispersion": 1e-3, "domain_wall": 1.0}  # key's unit → the data's (THz, m_z)
WIDTH_DRAWS = 16  # noisy copies of a profile whose widths give the width's scatter


@dataclass(frozen=True)
class NoiseLevel:
    """One measurement-noise level of a task, in the unit of its config key (GHz or m_z)."""

    task: str
    value: float

    @property
    def observation_sd(self) -> float:
        """1 sd in the data's units: THz per peak, or m_z per cell."""
        return self.value * TO_OBSERVATION[self.task]

    @property
    def key(self) -> str:
        """The summary JSON's key of this level: ``"10"``, ``"0.01"``."""
        return f"{self.value:g}"

    @property
    def label(self) -> str:
        """The MLflow metric prefix: ``noise10ghz``, ``noise0p01mz`` (a dot would read as a separator)."""
        return "noise" + self.key.replace(".", "p") + ("ghz" if self.task == "dispersion" else "mz")

    def describe(self) -> str:
        return f"{self.key} GHz per peak" if self.task == "dispersion" else f"{self.key} per m_z cell"


def parse_levels(task: str, noise_ghz, noise_mz) -> list[NoiseLevel]:
    """The levels of ``noise_ghz`` (dispersions) or ``noise_mz`` (walls): a number or a list of
    numbers > 0, each once; the other key must be empty."""
    own, other = KEYS[task], next(k for k in KEYS.values() if k != KEYS[task])
    values = {"noise_ghz": noise_ghz, "noise_mz": noise_mz}
    if _as_list(values[other], other):
        raise ValueError(f"{other} does not apply to a {task} model; its measurement noise is {own}")
    levels = _as_list(values[own], own)
    if len(set(levels)) != len(levels):
        raise ValueError(f"{own} lists a level twice: {levels}")
    if task == "domain_wall" and any(v >= 1 for v in levels):
        raise ValueError(f"{own} is a noise in m_z ∈ [−1, 1]; levels ≥ 1 drown the wall, got {levels}")
    return [NoiseLevel(task, v) for v in levels]


def _as_list(value, key: str) -> list[float]:
    if value is None:
        return []
    items = [value] if isinstance(value, int | float | str) else list(value)  # a list or a Hydra ListConfig
    out = []
    for v in items:
        try:
            if isinstance(v, bool):
                raise TypeError
            f = float(v)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{key} must be a number or a list of numbers, got {value!r}") from err
        if not (math.isfinite(f) and f > 0):
            raise ValueError(f"{key} levels must be finite and > 0 (the noiseless evaluation is always made), "
                             f"got {v!r}")
        out.append(f)
    return out


def rng_for(seed: int, split: int, level: NoiseLevel) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(split), round(level.value * 1e9)])


def remeasure_width_nm(mz: np.ndarray, physics: DataPhysics) -> np.ndarray:
    """Widths (nm) of profiles (B, N) by the dataset's cosine-series method and harmonics."""
    meas = physics.measurement
    w, _ = cosine_series_width(torch.as_tensor(np.asarray(mz, dtype=np.float64)), physics.material.a,
                               n_harmonics=meas.n_harmonics, n_error=meas.n_error_harmonics)
    return w.numpy() / NM


def noisy_walls(mz: np.ndarray, sd: float, rng: np.random.Generator, physics: DataPhysics
                ) -> tuple[np.ndarray, np.ndarray]:
    """(m_z + noise clipped to [−1, 1], the width re-measured from it in nm)."""
    noisy = np.clip(np.asarray(mz, dtype=np.float64) + sd * rng.standard_normal(np.shape(mz)), -1.0, 1.0)
    return noisy, remeasure_width_nm(noisy, physics)


def add_noise(samples: dict, level: NoiseLevel, physics: DataPhysics, rng: np.random.Generator) -> dict:
    """A copy of ``samples`` ({"dispersion": (B, K) THz} or {"mz": (B, N), "width_nm": (B,)}, and any
    other keys, left as they are) with the level's noise on the measured inputs."""
    out = dict(samples)
    sd = level.observation_sd
    if level.task == "dispersion":
        f = np.asarray(samples["dispersion"])
        out["dispersion"] = (f + sd * rng.standard_normal(f.shape)).astype(f.dtype)
    else:
        mz, width = noisy_walls(samples["mz"], sd, rng, physics)
        out["mz"] = mz.astype(np.asarray(samples["mz"]).dtype)
        out["width_nm"] = width.astype(np.asarray(samples["width_nm"]).dtype)
    return out


def width_scatter_nm(mz: np.ndarray, noise_mz: float, physics: DataPhysics, draws: int = WIDTH_DRAWS,
                     seed: int = 0) -> np.ndarray:
    """The scatter (1 sd, nm) that a noise ``noise_mz`` per cell gives the width measured from each of
    the profiles ``mz`` (B, N): the spread of the widths of ``draws`` noisy copies (a Monte-Carlo
    estimate; the cosine-series width is nonlinear in the profile, so no closed form)."""
    mz = np.asarray(mz, dtype=np.float64)
    rng = np.random.default_rng([int(seed), round(noise_mz * 1e9)])
    copies = np.repeat(mz, draws, axis=0)
    _, widths = noisy_walls(copies, noise_mz, rng, physics)
    return widths.reshape(len(mz), draws).std(axis=1, ddof=1)
