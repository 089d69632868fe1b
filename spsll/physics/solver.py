"""Solver selection: a name from ``conf/solver/*.yaml`` and numerics → an :class:`LLSystem`.

The three spectral names (``psll``, ``spsll`` — the default — and ``spsll_convolution``) are
explained in :mod:`spsll.physics.kernels`. The fourth, ``rtn_ensemble``, is the explicit-vacancy
reference of :mod:`spsll.physics.rtn_ensemble`: every (σ, τ) is simulated as ``realisations``
chains multiplied by sampled RTN masks and the measurement is averaged; its settings are an
:class:`EnsembleSolverConfig` (``SolverConfig(name="rtn_ensemble", ...)`` returns one), so the
settings — and the dataset request YAML — of the other three solvers are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from spsll.physics.kernels import SOLVER_NAMES, make_exchange, masked_exchange
from spsll.physics.llg import LLSystem, LocalField
from spsll.physics.material import Material

DTYPES = {"float64": torch.float64, "float32": torch.float32}
ENSEMBLE_SOLVER = "rtn_ensemble"
ALL_SOLVER_NAMES = SOLVER_NAMES + (ENSEMBLE_SOLVER,)
ENSEMBLE_KEYS = ("realisations", "seed", "chain_batch")


@dataclass(frozen=True)
class SolverConfig:
    """Numerics shared by every measurement (mirrors ``conf/solver/*.yaml``).

    ``SolverConfig(name="rtn_ensemble", realisations=..., seed=...)`` builds an
    :class:`EnsembleSolverConfig`; the ensemble keys given to another solver are refused.
    """

    name: str = "spsll"
    dtype: str = "float64"
    device: str = "auto"  # "auto" → cuda when available, else cpu
    compile: str | bool = "auto"  # torch.compile the RK4 step ("auto": for large batches)
    phase_per_step: float = 0.35  # |λ|max·dt for dynamics (RK4 accuracy, see choose_time_step)

    def __new__(cls, *args, **kwargs):
        if cls is SolverConfig:
            name = kwargs.get("name", args[0] if args else "spsll")
            if name == ENSEMBLE_SOLVER:
                cls = EnsembleSolverConfig
            else:
                extra = [k for k in ENSEMBLE_KEYS if k in kwargs]
                if extra:
                    raise ValueError(f"solver.{extra[0]} is only used by solver={ENSEMBLE_SOLVER}, not "
                                     f"solver={name}")
        return object.__new__(cls)

    def __post_init__(self):
        if self.name not in ALL_SOLVER_NAMES:
            raise ValueError(f"solver.name must be one of {ALL_SOLVER_NAMES}, got {self.name!r}")
        if self.name == ENSEMBLE_SOLVER and not isinstance(self, EnsembleSolverConfig):
            raise ValueError(f"solver {ENSEMBLE_SOLVER} needs an EnsembleSolverConfig")
        if self.dtype not in DTYPES:
            raise ValueError(f"solver.dtype must be one of {tuple(DTYPES)}, got {self.dtype!r}")
        if self.compile not in (True, False, "auto"):
            raise ValueError(f"solver.compile must be true, false or 'auto', got {self.compile!r}")
        if not (0 < float(self.phase_per_step) <= 2.5):
            raise ValueError(f"solver.phase_per_step must be in (0, 2.5], got {self.phase_per_step}")

    @classmethod
    def from_config(cls, cfg) -> SolverConfig:
        name = cfg["name"] if "name" in cfg else "spsll"
        target = EnsembleSolverConfig if name == ENSEMBLE_SOLVER else cls
        if target is not EnsembleSolverConfig:
            extra = [k for k in ENSEMBLE_KEYS if k in cfg]
            if extra:
                raise ValueError(f"solver.{extra[0]} is only used by solver={ENSEMBLE_SOLVER}, not "
                                 f"solver={name}")
        keys = target.__dataclass_fields__
        data = {k: cfg[k] for k in keys if k in cfg}
        return target(**data)

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def torch_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)


@dataclass(frozen=True)
class EnsembleSolverConfig(SolverConfig):
    """Settings of the explicit-vacancy ensemble ``rtn_ensemble`` (``conf/solver/rtn_ensemble.yaml``).

    realisations: RTN masks (chains) per (σ, τ), R ≥ 1; the batch of a run is B × R chains.
    seed: base seed; the masks of one (σ, τ) are drawn from a generator seeded by (seed, σ, τ), so a
        sample's ensemble does not depend on the batch, chunk or shard it is computed in.
    chain_batch: chains integrated together at most (bounds memory: a dispersion record is
        chain_batch × 1000 × N float32); null picks it from a 256 MiB budget.
    """

    name: str = ENSEMBLE_SOLVER
    realisations: int = 64
    seed: int = 0
    chain_batch: int | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.name != ENSEMBLE_SOLVER:
            raise ValueError(f"EnsembleSolverConfig is for solver {ENSEMBLE_SOLVER}, got {self.name!r}")
        for key, lo in (("realisations", 1), ("seed", 0)):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"solver.{key} must be an integer >= {lo}, got {v!r}")
        cb = self.chain_batch
        if cb is not None and (isinstance(cb, bool) or not isinstance(cb, int) or cb < 1):
            raise ValueError(f"solver.chain_batch must be null or an integer >= 1, got {cb!r}")


def build_system(cfg: SolverConfig, material: Material, n_cells: int, sigma=None, tau=None, *,
                 alpha: float, local: LocalField | None = None, mask=None) -> LLSystem:
    """The LL system of solver ``cfg.name`` for a batch of (σ, τ) in metres.

    For ``rtn_ensemble`` the batch is B × R chains (sample-major: chain b·R + r is realisation r of
    sample b) with explicit vacancy masks: pass ``mask`` (B·R, n_cells) of 0./1., or σ, τ and the
    masks are drawn with :func:`spsll.physics.rtn_ensemble.vacancy_masks` (``cfg.realisations``,
    ``cfg.seed``).
    """
    if cfg.name == ENSEMBLE_SOLVER:
        if mask is None:
            from spsll.physics.rtn_ensemble import vacancy_masks

            if sigma is None or tau is None:
                raise ValueError(f"solver {ENSEMBLE_SOLVER} needs sigma and tau (metres) or a mask")
            mask = vacancy_masks(n_cells, material.a, sigma, tau, cfg.realisations, cfg.seed,
                                 device=cfg.torch_device)
        elif mask.shape[-1] != n_cells:
            raise ValueError(f"mask has {mask.shape[-1]} cells, expected n_cells = {n_cells}")
        ex = masked_exchange(material, mask, dtype=cfg.torch_dtype, device=cfg.torch_device)
        return LLSystem(material, ex, alpha, local)
    if mask is not None:
        raise ValueError(f"a vacancy mask is only used by solver {ENSEMBLE_SOLVER}, not {cfg.name}")
    ex = make_exchange(cfg.name, material, n_cells, sigma, tau, dtype=cfg.torch_dtype,
                       device=cfg.torch_device)
    return LLSystem(material, ex, alpha, local)
