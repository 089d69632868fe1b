"""Solver selection: a name from ``conf/solver/*.yaml`` and numerics → an :class:`LLSystem`.

The three names (``psll``, ``spsll`` — the default — and ``spsll_convolution``) are explained in
:mod:`spsll.physics.kernels`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from spsll.physics.kernels import SOLVER_NAMES, make_exchange
from spsll.physics.llg import LLSystem, LocalField
from spsll.physics.material import Material

DTYPES = {"float64": torch.float64, "float32": torch.float32}


@dataclass(frozen=True)
class SolverConfig:
    """Numerics shared by every measurement (mirrors ``conf/solver/*.yaml``)."""

    name: str = "spsll"
    dtype: str = "float64"
    device: str = "auto"  # "auto" → cuda when available, else cpu
    compile: str | bool = "auto"  # torch.compile the RK4 step ("auto": for large batches)
    phase_per_step: float = 0.35  # |λ|max·dt for dynamics (RK4 accuracy, see choose_time_step)

    def __post_init__(self):
        if self.name not in SOLVER_NAMES:
            raise ValueError(f"solver.name must be one of {SOLVER_NAMES}, got {self.name!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"solver.dtype must be one of {tuple(DTYPES)}, got {self.dtype!r}")
        if self.compile not in (True, False, "auto"):
            raise ValueError(f"solver.compile must be true, false or 'auto', got {self.compile!r}")
        if not (0 < float(self.phase_per_step) <= 2.5):
            raise ValueError(f"solver.phase_per_step must be in (0, 2.5], got {self.phase_per_step}")

    @classmethod
    def from_config(cls, cfg) -> SolverConfig:
        keys = cls.__dataclass_fields__
        data = {k: cfg[k] for k in keys if k in cfg}
        return cls(**data)

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def torch_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)


def build_system(cfg: SolverConfig, material: Material, n_cells: int, sigma=None, tau=None, *,
                 alpha: float, local: LocalField | None = None) -> LLSystem:
    """The LL system of solver ``cfg.name`` for a batch of (σ, τ) in metres."""
    ex = make_exchange(cfg.name, material, n_cells, sigma, tau, dtype=cfg.torch_dtype,
                       device=cfg.torch_device)
    return LLSystem(material, ex, alpha, local)
