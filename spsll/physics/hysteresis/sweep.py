"""The quasi-static sweep: from saturation along +z to the reversed state (docs/hysteresis.md#sweep).

Field convention: H is the *reverse* field, the applied field's component along −z (A/m); the sweep
runs H upwards from ``start_HK`` H_K (0 by default; a negative value is a saturating field along +z).
H_K is the coherent switching field of the defect-free chain, the material's gap field
Hk − Ms (local shape term) or Hk (no magnetostatics).

Every sample steps on its own: from its last relaxed state (m, H) it tries a larger field with a fresh
random tilt (rms angle ``tilt_rad``, seeded by the sample's key and attempt number: the saturated
state has exactly zero torque and would never leave it) and relaxes it to the torque tolerance. A
step is refused when it moves some cell's m_z by more than ``refine_dm`` (a jump or a steep spring),
when it is the first to leave saturation (some cell's m_z has dropped by more than ``departure`` since
the start), or when its relaxation stalls (neither converges nor moves away within ``budget``
iterations: the field sits next to a threshold, where the escape rate ∝ |H − H_c| vanishes). A
refused step is bisected down to the finest step ΔH_min = ``step_HK``/2^k ≤ ``fine_HK`` and then
taken (past a stalled field by ΔH_min/2); free steps start at ΔH_min after a bracket and double up to
``step_HK``. So every jump and the nucleation field are bracketed to ΔH_min, and the smooth parts of
the curve cost coarse steps. Fields are whole multiples of ΔH_min/2 above the start (exact).

All samples that have not reversed relax together (one batch, per-sample fields); a sample leaves the
batch once reversed (M/Ms ≤ −0.99, past the last anchor field 0.2 H_K) or at ``max_HK``. A sample
that is not saturated at the start (M/Ms < 0.99) or has not reversed at ``max_HK`` (M/Ms > −0.9) is
an error (:class:`SweepError`) naming the setting to change.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass, field

import torch

from spsll.physics.checks import require_int_at_least
from spsll.physics.hysteresis.chains import Chains
from spsll.physics.hysteresis.descent import minimise
from spsll.physics.llg import normalise

REVERSED = -0.99  # M/Ms at which a sample has reversed and leaves the batch
LAST_ANCHOR_HK = 0.2  # the largest field of an M(H) anchor (analysis.M_ANCHORS_HK): sweep at least to it


@dataclass(frozen=True)
class SweepSettings:
    """The sweep's numerics, fields in units of H_K (docs/hysteresis.md#sweep)."""

    step_HK: float = 0.02  # coarse field step
    fine_HK: float = 0.0025  # the finest step is step_HK / 2^k ≤ fine_HK
    start_HK: float = 0.0  # first field (negative: a saturating field along +z)
    max_HK: float = 1.25  # last field
    tilt_rad: float = 1e-3  # rms angle of the random tilt before every relaxation
    torque_tol: float = 1e-7  # relax until max |m × H_eff| ≤ torque_tol · Ms
    max_iter: int = 100_000  # minimiser iterations per field step at most
    budget: int = 4_000  # iterations after which a relaxation counts as stalled (a threshold is near)
    refine_dm: float = 0.1  # a step that moves some m_z by more is refined, down to the finest step
    jump_dm: float = 1.0  # an accepted step that moves some m_z by more is a jump
    departure: float = 1e-4  # a cell has left saturation when m_z has dropped by more than this
    seed: int = 0

    def __post_init__(self):
        for name in ("step_HK", "fine_HK", "tilt_rad", "torque_tol", "refine_dm", "jump_dm", "departure"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise ValueError(f"sweep.{name} must be a finite number > 0, got {v!r}")
        for name in ("start_HK", "max_HK"):
            if not (isinstance(getattr(self, name), int | float) and math.isfinite(getattr(self, name))):
                raise ValueError(f"sweep.{name} must be a finite number, got {getattr(self, name)!r}")
        if self.fine_HK > self.step_HK:
            raise ValueError(f"sweep.fine_HK = {self.fine_HK} must not exceed sweep.step_HK = {self.step_HK}")
        if self.max_HK <= max(self.start_HK, 0.0) + self.step_HK:
            raise ValueError(f"sweep.max_HK = {self.max_HK} must exceed sweep.start_HK (and 0) by a step")
        if self.departure >= self.refine_dm:
            raise ValueError("sweep.departure must be smaller than sweep.refine_dm")
        require_int_at_least("sweep.budget", self.budget, 10)
        require_int_at_least("sweep.max_iter", self.max_iter, self.budget)
        require_int_at_least("sweep.seed", self.seed, 0)

    @property
    def finest_HK(self) -> float:
        """ΔH_min = step_HK / 2^k, the largest such step ≤ fine_HK."""
        return self.step_HK / 2 ** math.ceil(math.log2(self.step_HK / self.fine_HK) - 1e-9)


@dataclass
class Curve:
    """One sample's sweep: accepted fields (A/m, reverse field), M/Ms, the departure max_j(m_z,j,start −
    m_z,j) and the largest m_z change of the step into each point (a jump where > jump_dm)."""

    H: list[float] = field(default_factory=list)
    M: list[float] = field(default_factory=list)
    departure: list[float] = field(default_factory=list)
    change: list[float] = field(default_factory=list)
    converged: bool = True  # every accepted relaxation reached the torque tolerance
    attempts: int = 0  # relaxations, refused steps included
    iterations: int = 0  # minimiser iterations, refused steps included

    def record(self, H: float, M: float, departure: float, change: float) -> None:
        self.H.append(H)
        self.M.append(M)
        self.departure.append(departure)
        self.change.append(change)


def tilt(m: torch.Tensor, occupation: torch.Tensor, keys, attempts, seed: int, angle: float) -> torch.Tensor:
    """m tilted by a random transverse vector of rms angle ``angle`` per cell, seeded per (seed, key,
    attempt), so that each sample's noise is its own whatever the batch."""
    noise = torch.stack([torch.randn(3, m.shape[-1], dtype=torch.float64, generator=torch.Generator().manual_seed(
        _seed(seed, k, a))) for k, a in zip(keys, attempts, strict=True)]).to(m)
    noise = noise - (noise * m).sum(1, keepdim=True) * m  # transverse: 2 of the 3 components survive
    return normalise(m + (angle / math.sqrt(2)) * noise, occupation[:, None])


def _seed(seed: int, key: int, attempt: int) -> int:
    data = struct.pack("<qqq", int(seed), int(key), int(attempt))
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") & ((1 << 63) - 1)


class SweepError(ValueError):
    """A sweep that does not start saturated or does not reverse within its range."""


@dataclass
class _Bracket:
    """One sample's place in its sweep, in whole quanta q = ΔH_min/2 above the start field (exact dyadic
    fields): the last accepted field, the lowest refused one above it (None: none), whether that refusal
    was a stall, and the step of the next free probe."""

    step: int
    last: int  # the quantum of max_HK
    lo: int = 0
    hi: int | None = None
    stalled: bool = False

    def propose(self) -> tuple[int, bool]:
        """The next field and whether its step may still be refused (it is larger than ΔH_min = 2 q)."""
        if self.hi is None:
            k = min(self.lo + self.step, self.last)
            return k, k - self.lo > 2
        if self.hi - self.lo > 2:
            return (self.lo + self.hi) // 2, True  # bisect
        # resolved to ΔH_min: take the step, past a stalled field by half a step (its escape is quick there)
        return min(self.hi + (1 if self.stalled else 0), self.last), False

    def refuse(self, k: int, stalled: bool) -> None:
        self.hi, self.stalled = k, stalled

    def accept(self, k: int, coarse: int) -> None:
        if self.hi is not None and k >= self.hi:
            self.hi, self.step = None, 2  # past the bracket: grow again from ΔH_min
        elif self.hi is None:
            self.step = min(2 * self.step, coarse)
        self.lo = k


def run_sweep(chains: Chains, H_K: float, settings: SweepSettings = SweepSettings(), *, progress=None) -> list[Curve]:
    """Sweep every chain of the batch (docs/hysteresis.md#sweep); ``H_K`` in A/m. ``progress(h)`` is called
    after every round with the lowest field (units of H_K) of the samples still sweeping."""
    s = settings
    B, dev = chains.batch, chains.occupation.device
    occ = chains.occupation
    curves = [Curve() for _ in range(B)]
    # the start: m = +z (0 in vacancies), tilted and relaxed at start_HK
    m = torch.zeros(B, 3, occ.shape[-1], dtype=occ.dtype, device=dev)
    m[:, 2] = occ
    every = torch.arange(B, device=dev)
    start = torch.full((B,), float(s.start_HK), dtype=torch.float64)
    m = _relax(chains, every, tilt(m, occ, chains.keys, [0] * B, s.seed, s.tilt_rad), start, H_K, s, None, curves).m
    M = chains.magnetisation(m, every).cpu()
    bad = [i for i in range(B) if float(M[i]) < 0.99]
    if bad:
        raise SweepError(f"the sweep never saturates: sample(s) {bad[:10]} hold M/Ms = "
                         f"{[round(float(M[i]), 4) for i in bad[:10]]} < 0.99 at the start field "
                         f"{s.start_HK} H_K; lower sweep.start_HK (a saturating field along +z)")
    mz_start = m[:, 2].clone()
    for b in range(B):
        curves[b].record(s.start_HK * H_K, float(M[b]), 0.0, 0.0)
    q = s.finest_HK / 2
    coarse, last = round(s.step_HK / q), math.floor((s.max_HK - s.start_HK) / q + 1e-9)
    walk = [_Bracket(coarse, last) for _ in range(B)]
    departed = [False] * B
    active = list(range(B))
    while active:
        idx = torch.tensor(active, device=dev)
        proposals = [walk[b].propose() for b in active]
        h_try = torch.tensor([s.start_HK + p[0] * q for p in proposals], dtype=torch.float64)
        refinable = torch.tensor([p[1] for p in proposals])
        # refusable steps stop early (a jump they will not keep) and get the budget; the others run to max_iter
        abort = torch.where(refinable, s.refine_dm, math.inf)
        iters = torch.where(refinable, s.budget, s.max_iter)
        m0 = tilt(m[idx], occ[idx], [chains.keys[b] for b in active], [curves[b].attempts for b in active], s.seed,
                  s.tilt_rad)
        res = _relax(chains, idx, m0, h_try, H_K, s, abort, [curves[b] for b in active], iters)
        M_new = chains.magnetisation(res.m, idx).cpu()
        change = (res.m[:, 2] - m[idx, 2]).abs().amax(-1).cpu()
        dep = ((mz_start[idx] - res.m[:, 2]) * occ[idx]).amax(-1).cpu()
        still = []
        for j, b in enumerate(active):
            k, h_j = proposals[j][0], float(h_try[j])
            leaves = not departed[b] and float(dep[j]) > s.departure
            # a stalled relaxation (neither converged nor moved away within the budget) sits next to a
            # threshold, where the escape rate ∝ |H − H_c| vanishes: bisect around it, then step past it
            stalled = not bool(res.converged[j]) and not bool(res.aborted[j])
            if bool(refinable[j]) and (stalled or bool(res.aborted[j]) or float(change[j]) > s.refine_dm or leaves):
                walk[b].refuse(k, stalled)
                still.append(b)
                continue
            curves[b].record(h_j * H_K, float(M_new[j]), float(dep[j]), float(change[j]))
            curves[b].converged &= bool(res.converged[j])
            departed[b] |= leaves
            m[b] = res.m[j]
            walk[b].accept(k, coarse)
            if not ((float(M_new[j]) <= REVERSED and h_j >= LAST_ANCHOR_HK) or k >= last):
                still.append(b)
        active = still
        if progress is not None and active:
            progress(s.start_HK + q * min(walk[b].lo for b in active))
    stuck = [b for b in range(B) if curves[b].M[-1] > -0.9]
    if stuck:
        raise SweepError(f"the sweep never reverses: sample(s) {stuck[:10]} still hold M/Ms = "
                         f"{[round(curves[b].M[-1], 4) for b in stuck[:10]]} > -0.9 at sweep.max_HK = {s.max_HK} "
                         "H_K; raise sweep.max_HK")
    return curves


def _relax(chains: Chains, idx: torch.Tensor, m0: torch.Tensor, h: torch.Tensor, H_K: float, s: SweepSettings,
           abort, curves: list[Curve], iters=None):
    dev = chains.occupation.device
    system = chains.system(idx, h.to(dev) * H_K)
    res = minimise(system, m0, torque_tol=s.torque_tol, max_iter=s.max_iter if iters is None else iters.to(dev),
                   abort=None if abort is None else abort.to(dev))
    for c, n in zip(curves, res.iterations.tolist(), strict=True):
        c.attempts += 1
        c.iterations += int(n)
    return res
