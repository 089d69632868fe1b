"""Optional ``torch.compile`` of the hot loops (RK4 step, BB iteration), with an eager fallback.

Compilation fuses the element-wise work around the FFTs (2–5× cheaper steps) but costs 10–30 s
once per process, so ``"auto"`` compiles only when the expected work (cells × steps) repays it.
``torch.compile`` fails lazily — at the first call, e.g. without a C++ compiler — so the first call
is guarded: on failure the eager function is used from then on, with a warning.
"""

from __future__ import annotations

import warnings

import torch

AUTO_COMPILE_CELL_STEPS = 50_000_000  # ≈ 20 s of eager work on 2 cores

_CACHE: dict = {}


class _Guarded:
    def __init__(self, fn):
        self.fn = fn
        self.compiled = torch.compile(fn, dynamic=True)
        self.ok = None  # unknown until the first call

    def __call__(self, *args):
        if self.ok is False:
            return self.fn(*args)
        if self.ok is None:
            try:
                out = self.compiled(*args)
            except Exception as err:  # noqa: BLE001 - any toolchain failure means: run eagerly
                warnings.warn(f"torch.compile of {self.fn.__name__} failed ({type(err).__name__}: {err}); "
                              "running eagerly", stacklevel=2)
                self.ok = False
                return self.fn(*args)
            self.ok = True
            return out
        return self.compiled(*args)


def maybe_compile(fn, compile: bool | str, work: int):
    """``fn`` itself, or its guarded compiled version (one per function per process)."""
    if not (compile is True or (compile == "auto" and work >= AUTO_COMPILE_CELL_STEPS)):
        return fn
    if fn not in _CACHE:
        _CACHE[fn] = _Guarded(fn)
    return _CACHE[fn]
