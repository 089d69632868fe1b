"""Boundary checks for physical inputs: a clear ``ValueError`` naming the parameter and its range.

Inputs are validated where they enter the physics (solver construction, samplers), so that the
integrators themselves never need to guard against NaN, negative lengths or empty grids.
"""

from __future__ import annotations

import math

import torch


def as_batch(name: str, value, *, dtype=torch.float64, device=None) -> torch.Tensor:
    """Return ``value`` as a 1-D tensor (a batch), refusing NaN and inf."""
    t = torch.as_tensor(value, dtype=dtype, device=device)
    if t.ndim == 0:
        t = t.reshape(1)
    if t.ndim != 1:
        raise ValueError(f"{name} must be a scalar or a 1-D batch, got shape {tuple(t.shape)}")
    bad = ~torch.isfinite(t)
    if bad.any():
        idx = torch.nonzero(bad).flatten().tolist()[:5]
        raise ValueError(f"{name} must be finite; non-finite values at batch index {idx}")
    return t


def require_positive(name: str, value, **kw) -> torch.Tensor:
    """``value > 0`` element-wise (lengths such as sigma, material constants)."""
    t = as_batch(name, value, **kw)
    if (t <= 0).any():
        idx = torch.nonzero(t <= 0).flatten().tolist()[:5]
        raise ValueError(f"{name} must be > 0 (allowed range (0, inf)); bad values at index {idx}")
    return t


def require_nonnegative(name: str, value, **kw) -> torch.Tensor:
    """``value >= 0`` element-wise (tau = 0 is the perfect material)."""
    t = as_batch(name, value, **kw)
    if (t < 0).any():
        idx = torch.nonzero(t < 0).flatten().tolist()[:5]
        raise ValueError(f"{name} must be >= 0 (allowed range [0, inf)); bad values at index {idx}")
    return t


def require_scalar_positive(name: str, value: float) -> float:
    """A positive, finite Python float (material constants, time steps)."""
    try:
        v = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a positive number, got {value!r}") from err
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0 (allowed range (0, inf)), got {v}")
    return v


def require_scalar_nonnegative(name: str, value) -> float:
    """A finite Python float ``>= 0`` (τ = 0 is the perfect material)."""
    try:
        v = float(value)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}") from err
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0 (allowed range [0, inf)), got {v}")
    return v


def require_int_at_least(name: str, value, minimum: int) -> int:
    """An integer ``>= minimum`` (grid sizes, counts)."""
    if isinstance(value, bool) or int(value) != value:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


class NonFiniteStateError(FloatingPointError):
    """A solver produced NaN/inf; carries the offending batch indices."""

    def __init__(self, where: str, indices: list[int]):
        self.indices = indices
        super().__init__(
            f"{where}: non-finite magnetisation for batch sample(s) {indices[:10]}"
            f"{' ...' if len(indices) > 10 else ''}; reduce the time step or check the inputs"
        )


def check_finite_state(m: torch.Tensor, where: str) -> None:
    """Raise :class:`NonFiniteStateError` naming the samples of ``m`` (B, ...) that are not finite."""
    ok = torch.isfinite(m).flatten(1).all(dim=1)
    if not bool(ok.all()):
        raise NonFiniteStateError(where, torch.nonzero(~ok).flatten().tolist())
