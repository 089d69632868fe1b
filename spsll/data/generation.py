"""Chunked, resumable, shardable generation of the SPS-LL datasets into HDF5 (docs/data.md#generation).

Every chunk of ``chunk_size`` samples is computed in one batched physics call, written, flushed and
then marked done in ``chunk_done``; a killed run resumes at the first chunk not done and, because
chunk boundaries and (σ, τ) depend only on the config and the seed, produces the same sample data
as an uninterrupted run. Shards take every ``count``-th chunk, so merged shards equal one run too.
The file is written as ``<path>.partial`` and renamed to ``<path>`` with ``complete = True`` at the
very end; an existing complete file is never touched unless the new one is complete.

About 420 lines: writing a file, resuming it and merging shards into it share the layout
(``_create``) and the request check, and are kept together so that they cannot drift apart.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import h5py
import numpy as np
import torch
from tqdm.auto import tqdm

from spsll.data.config import DatasetConfig
from spsll.data.hdf5 import (
    AXES,
    FILM_FIELDS,
    MASK_KINDS,
    OWN_DTYPE_KINDS,
    SAMPLE_FIELDS,
    DatasetError,
    canonical_yaml,
    exclusive_lock,
    partial_path,
    provenance,
    request_hash,
    shard_path,
)
from spsll.data.hysteresis import FIELD_CONVENTION, HK_DEFINITION, check_start, compute_hysteresis
from spsll.data.microstructures import check_mean_lengths, compute_microstructures
from spsll.data.sampling import make_split, sample_points
from spsll.data.skyrmion import FIELD_CONVENTION as SKYRMION_FIELD
from spsll.data.skyrmion import check_request as check_skyrmion_request
from spsll.data.skyrmion import compute_skyrmions
from spsll.physics.material import Material
from spsll.physics.measure.dispersion import simulate_dispersions
from spsll.physics.measure.domain_wall import relax_domain_walls
from spsll.physics.solvers import SolverConfig
from spsll.units import NM

log = logging.getLogger(__name__)


@dataclass
class GenerationRequest:
    """Everything that determines the data (the ``request`` compared on resume)."""

    dataset: DatasetConfig
    material: dict
    solver: SolverConfig
    seed: int

    @property
    def physics_solver(self) -> SolverConfig:
        if self.dataset.dtype:
            return replace(self.solver, dtype=self.dataset.dtype)
        return self.solver

    def request_yaml(self) -> str:
        d = self.dataset.to_dict()
        d.pop("path")
        d.pop("shard")
        if self.dataset.kind in MASK_KINDS:  # no solver: masks, and the sweep's own chain (docs/data.md#request)
            return canonical_yaml({"dataset": d, "material": dict(self.material), "seed": int(self.seed)})
        s = self.solver.to_dict()
        s.pop("device")  # where it runs does not change what is computed (float tolerance aside)
        return canonical_yaml({"dataset": d, "material": dict(self.material), "solver": s,
                               "seed": int(self.seed)})

    def target(self) -> Path:
        path = Path(self.dataset.path)
        sh = self.dataset.shard
        return shard_path(path, sh.index, sh.count) if sh.count > 1 else path


# -- physics per chunk -------------------------------------------------------------------------
def compute_chunk(req: GenerationRequest, material: Material, sigma_nm, tau_nm, index=None, field_T=None) -> dict:
    """The per-sample arrays of one chunk (edge units) and the shared axes; ``index``: the chunk's
    samples in the whole dataset (they seed a hysteresis sample's tilt noise and a skyrmion sample's
    mosaic); ``field_T``: the skyrmion samples' fields (T)."""
    ds = req.dataset
    if ds.kind == "skyrmion":
        return compute_skyrmions(material, ds.measurement, req.physics_solver, sigma_nm, tau_nm, field_T, index,
                                 req.seed)
    if ds.kind == "microstructures":
        return compute_microstructures(ds.measurement.n_cells, material.a, sigma_nm, tau_nm, req.seed)
    if ds.kind == "hysteresis":
        return compute_hysteresis(material, ds.measurement, ds.defects, sigma_nm, tau_nm, index, req.seed,
                                  req.solver.device)
    s = torch.as_tensor(sigma_nm, dtype=torch.float64) * NM
    t = torch.as_tensor(tau_nm, dtype=torch.float64) * NM
    if ds.kind == "dispersion":
        r = simulate_dispersions(material, s, t, solver=req.physics_solver, settings=ds.measurement.settings())
        out = {"freq_thz": r.freq_thz, "freq_refined_thz": r.freq_refined_thz,
               "k_rad_per_nm": r.k_rad_per_nm}
        if r.spectrum is not None:
            out["spectrum"] = r.spectrum
            out["f_thz"] = r.f * 1e-12
    else:
        r = relax_domain_walls(material, s, t, solver=req.physics_solver, settings=ds.measurement.settings())
        out = {"mz": r.mz, "width_nm": r.width_nm, "width_err_nm": r.width_err_nm,
               "width_tanh_nm": r.width_tanh_nm, "converged": r.converged,
               "max_torque": r.max_torque, "x_nm": r.x_nm}
        if ds.measurement.n_rows > 1:  # films only: chain files keep the layout they had before films
            out.update(_film_wall_fields(r))
    return {k: v.detach().cpu().numpy() for k, v in out.items()}


def _film_wall_fields(r) -> dict:
    """The per-sample extras of a film's walls (metres → nm): the spread of the row widths, and for
    an explicit-defect ensemble its pinned fraction and spreads (docs/data.md#wall-file)."""
    out = {"row_width_mean_nm": r.row_width_mean * 1e9, "row_width_std_nm": r.row_width_std * 1e9}
    if getattr(r, "pinned_fraction", None) is not None:
        out.update(pinned_fraction=r.pinned_fraction, width_unpinned_nm=r.width_unpinned * 1e9,
                   width_std_nm=r.width_std * 1e9)
    return out


# -- file layout -------------------------------------------------------------------------------
def _create(path: Path, req: GenerationRequest, first: dict, n: int, chunk_ids, resolved_yaml: str):
    f = h5py.File(path, "w")
    kind = req.dataset.kind
    for axis in AXES[kind] + (("f_thz",) if "f_thz" in first else ()):
        f.create_dataset(axis, data=first[axis])
    for name, units in _fields(kind, first).items():
        if name in ("sigma_nm", "tau_nm", "B_T", "split"):  # the plan (written by _write) and the split
            continue
        shape = (n,) + first[name].shape[1:]
        dt = np.bool_ if name == "converged" else (np.float32 if name == "spectrum" else np.float64)
        if kind in OWN_DTYPE_KINDS:  # the computed dtype (uint8 masks, int8 modes, float32 images)
            dt = first[name].dtype
        f.create_dataset(name, shape=shape, dtype=dt, chunks=(min(n, req.dataset.chunk_size),) + shape[1:])
        f[name].attrs["units"] = units
    if "spectrum" in first:
        shape = (n,) + first["spectrum"].shape[1:]
        f.create_dataset("spectrum", shape=shape, dtype=np.float32, compression="gzip",
                         chunks=(1,) + shape[1:])
        f["spectrum"].attrs["units"] = "|FFT| of m_x (arb.)"
    f.create_dataset("chunk_done", data=np.zeros(len(chunk_ids), dtype=np.uint8))
    f.create_dataset("chunk_ids", data=np.asarray(chunk_ids, dtype=np.int64))
    f.attrs.update({
        "complete": False, "kind": kind, "solver": req.solver.name, "config": resolved_yaml,
        "request": req.request_yaml(), "request_hash": request_hash(req.request_yaml()),
        "seed": int(req.seed), "n_samples": int(req.dataset.n_samples),
        "material": canonical_yaml(dict(req.material)),
        "solver_settings": canonical_yaml(req.solver.to_dict()),
        "shard_index": int(req.dataset.shard.index), "shard_count": int(req.dataset.shard.count),
        **provenance(),
        **_box_attributes(req),
    })
    return f


def _fields(kind: str, data: dict) -> dict:
    """The per-sample datasets (name → units) of a file of ``kind`` holding ``data``'s fields."""
    return {**SAMPLE_FIELDS[kind], **{k: u for k, u in FILM_FIELDS[kind].items() if k in data}}


def _box_attributes(req: GenerationRequest) -> dict:
    """A film's rows and its simulated periodic box: the statistical filter, and the mosaic of an
    explicit-defect ensemble, depend on the box (docs/physics.md#films). Chains: none (their box,
    N·a, is in the request, and their attributes stay as they were before films). Masks and
    hysteresis: what replaces the solver (docs/data.md#attributes). Skyrmions: the film, the cell and
    the crop (docs/data.md#skyrmion-file)."""
    meas = req.dataset.measurement
    if req.dataset.kind in MASK_KINDS:
        return _mask_attributes(req)
    if req.dataset.kind == "skyrmion":
        a_nm = Material.from_config(req.material).a / NM
        cells = np.array([meas.n_cells, meas.n_cells], dtype=np.int64)
        return {"box_cells": cells, "box_nm": cells * a_nm, "cell_nm": a_nm, "crop_cells": int(meas.crop_cells),
                "mosaics_per_sample": int(req.solver.solver.explicit_defects), "field_convention": SKYRMION_FIELD}
    if meas.n_rows == 1:
        return {}
    a_nm = Material.from_config(req.material).a * 1e9
    cells = np.asarray(meas.box_cells, dtype=np.int64)
    return {"n_rows": int(meas.n_rows), "box_cells": cells, "box_nm": cells * a_nm}


def _mask_attributes(req: GenerationRequest) -> dict:
    material = Material.from_config(req.material)
    out = {"solver": "none", "solver_settings": "", "n_cells": int(req.dataset.measurement.n_cells),
           "cell_nm": material.a / NM}
    if req.dataset.kind == "hysteresis":
        d = req.dataset.defects
        out.update(solver="hysteresis_sweep", defect_kind=d.kind, kappa=float(d.kappa),
                   geometry=req.dataset.measurement.geometry, H_K_A_per_m=float(material.gap_field),
                   H_K_definition=HK_DEFINITION, field_convention=FIELD_CONVENTION)
    return out


def check_mask_request(req: GenerationRequest) -> None:
    """What the config alone cannot check: mean lengths of at least one cell, a saturating first field."""
    ds = req.dataset
    material = Material.from_config(req.material)
    check_mean_lengths(ds, material.a)
    if ds.kind == "hysteresis":
        check_start(material, ds.defects, ds.measurement.settings(req.seed).start_HK)


def _check_same_request(f: h5py.File, req: GenerationRequest, where: Path):
    if f.attrs.get("request") != req.request_yaml():
        raise DatasetError(
            f"{where} was made with a different config than requested; pass overwrite=true to "
            f"replace it, or choose another dataset.path.\n--- file ---\n{f.attrs.get('request')}"
            f"--- requested ---\n{req.request_yaml()}"
        )


def generate(req: GenerationRequest, *, resolved_yaml: str = "", overwrite: bool = False,
             progress: bool = True) -> Path:
    """Generate (or resume, or confirm) the dataset of ``req``; returns the complete file's path."""
    if req.dataset.kind in MASK_KINDS:
        check_mask_request(req)
    if req.dataset.kind == "skyrmion":
        check_skyrmion_request(Material.from_config(req.material), req.dataset, req.physics_solver)
    target = req.target()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DatasetError(f"cannot create the folder of {target}: {err}") from err
    if not os.access(target.parent, os.W_OK):
        raise DatasetError(f"{target.parent} is not writable; choose another dataset.path")

    with exclusive_lock(target):
        if target.exists():
            try:
                with h5py.File(target, "r") as f:
                    same = f.attrs.get("request") == req.request_yaml() and bool(f.attrs.get("complete"))
            except OSError:
                same = False  # unreadable: only overwrite may replace it
                if not overwrite:
                    raise DatasetError(f"{target} exists but is not a readable HDF5 file; pass "
                                       "overwrite=true to replace it") from None
            if same:
                log.info("%s is already complete for this config: nothing to do", target)
                return target
            if not overwrite:
                with h5py.File(target, "r") as f:
                    _check_same_request(f, req, target)
        return _write(req, target, resolved_yaml, overwrite, progress)


def _open_partial(part: Path, req: GenerationRequest, overwrite: bool) -> h5py.File | None:
    """The interrupted generation at ``part`` to resume, or None to start afresh (none, unreadable, or
    another config with ``overwrite``); another config without ``overwrite`` is refused."""
    if not part.exists():
        return None
    try:
        f = h5py.File(part, "r+")
    except OSError:
        log.warning("%s is unreadable (killed while creating it?): starting afresh", part)
        part.unlink()
        return None
    if f.attrs.get("request") == req.request_yaml():
        return f
    f.close()
    if not overwrite:
        raise DatasetError(f"an interrupted generation with a different config left {part}; pass "
                           "overwrite=true to discard it, or rerun that generation's command")
    part.unlink()
    return None


def _finish(f: h5py.File, req: GenerationRequest, index: np.ndarray, seconds: float) -> None:
    """The split of this file's samples, a warning for unconverged walls, and the complete flag."""
    ds = req.dataset
    f["split"] = make_split(ds.n_samples, ds.split, req.seed)[index]
    f["split"].attrs["units"] = SAMPLE_FIELDS[ds.kind]["split"]
    if ds.kind in ("domain_wall", "hysteresis"):
        n_bad = int((~f["converged"][:]).sum())
        if n_bad:
            what = "walls" if ds.kind == "domain_wall" else "sweeps (some accepted relaxation)"
            log.warning("%d of %d %s did not reach the torque tolerance (flag 'converged')", n_bad, len(index), what)
    if ds.kind == "skyrmion":
        log.info("%d of %d skyrmions survived; %d undecided (still moving at max_iter), %d grown to the box (raise "
                 "dataset.B_T's minimum if many)", int(f["survived"][:].sum()), len(index),
                 int(f["undecided"][:].sum()), int(f["grown"][:].sum()))
    f.attrs["complete"] = True
    f.attrs["generation_seconds"] = float(seconds)


def _write(req, target, resolved_yaml, overwrite, progress) -> Path:
    ds = req.dataset
    material = Material.from_config(req.material)
    plan = sample_points(ds, req.seed)
    sigma_nm, tau_nm = plan[:, 0].copy(), plan[:, 1].copy()
    field_T = plan[:, 2].copy() if ds.kind == "skyrmion" else None
    n_chunks = ds.n_chunks
    chunk_ids = [c for c in range(n_chunks) if c % ds.shard.count == ds.shard.index]
    index = np.concatenate([np.arange(c * ds.chunk_size, min((c + 1) * ds.chunk_size, ds.n_samples))
                            for c in chunk_ids]) if chunk_ids else np.zeros(0, dtype=np.int64)
    n_local = len(index)
    part = partial_path(target)

    f = _open_partial(part, req, overwrite)
    offsets = np.cumsum([0] + [min(ds.chunk_size, ds.n_samples - c * ds.chunk_size) for c in chunk_ids])
    try:
        done = f["chunk_done"][:].astype(bool) if f is not None else np.zeros(len(chunk_ids), bool)
        todo = [i for i, ok in enumerate(done) if not ok]
        if f is not None and len(todo) < len(chunk_ids):
            log.info("resuming %s: %d of %d chunks already done", part, len(chunk_ids) - len(todo),
                     len(chunk_ids))
        bar = tqdm(total=int(sum(offsets[i + 1] - offsets[i] for i in todo)), unit="sample",
                   desc=f"{ds.kind} ({req.solver.name})", disable=not progress, smoothing=0.1)
        t0 = time.perf_counter()
        for i in todo:
            lo, hi = offsets[i], offsets[i + 1]
            extra = {} if field_T is None else {"field_T": field_T[index[lo:hi]]}
            data = compute_chunk(req, material, sigma_nm[index[lo:hi]], tau_nm[index[lo:hi]], index[lo:hi], **extra)
            if f is None:  # the first chunk fixes the shapes of the file's datasets
                f = _create(part, req, data, n_local, chunk_ids, resolved_yaml)
                f.create_dataset("sigma_nm", data=sigma_nm[index])
                f.create_dataset("tau_nm", data=tau_nm[index])
                f.create_dataset("global_index", data=index.astype(np.int64))
                for k in ("sigma_nm", "tau_nm"):
                    f[k].attrs["units"] = "nm"
                if field_T is not None:
                    f.create_dataset("B_T", data=field_T[index])
                    f["B_T"].attrs["units"] = SAMPLE_FIELDS[ds.kind]["B_T"]
            for name in _fields(ds.kind, data):
                if name in data:
                    f[name][lo:hi] = data[name]
            if "spectrum" in data:
                f["spectrum"][lo:hi] = data["spectrum"]
            f.flush()  # the chunk's data is on disk before it is marked done
            f["chunk_done"][i] = 1
            f.flush()
            bar.update(hi - lo)
        bar.close()
        _finish(f, req, index, time.perf_counter() - t0)
        f.close()
        f = None
    except OSError as err:
        if f is not None:
            try:
                f.close()
            except Exception:  # noqa: BLE001 - closing a broken file must not hide the cause
                pass
        raise DatasetError(
            f"writing {part} failed ({err}); is the disk full or the path unwritable? The chunks "
            f"written so far are kept: rerun the same command to resume. {target} was not touched."
        ) from err
    except BaseException:
        if f is not None:
            f.close()  # keep what is flushed: a rerun resumes from it
        raise
    os.replace(part, target)
    return target


def merge_shards(req: GenerationRequest, *, overwrite: bool = False) -> Path:
    """Join the ``shard.count`` shard files of ``dataset.path`` into one complete file."""
    ds = req.dataset
    count = ds.shard.count
    if count < 2:
        raise DatasetError("merge needs dataset.shard.count >= 2 (the number of shards to join)")
    path = Path(ds.path)
    shards = [shard_path(path, i, count) for i in range(count)]
    missing = [str(p) for p in shards if not p.exists()]
    if missing:
        raise DatasetError(f"cannot merge: missing shard file(s) {missing}; generate them with "
                           f"dataset.shard.index=<i> dataset.shard.count={count}")
    with exclusive_lock(path):
        if path.exists() and not overwrite:
            with h5py.File(path, "r") as f:
                if f.attrs.get("request") == req.request_yaml() and f.attrs.get("complete"):
                    return path
            raise DatasetError(f"{path} exists with another config; pass overwrite=true to replace it")
        n = ds.n_samples
        seen = np.zeros(n, dtype=np.int64)
        part = partial_path(path)
        with h5py.File(shards[0], "r") as f0, h5py.File(part, "w") as out:
            for key in list(f0.attrs):
                out.attrs[key] = f0.attrs[key]
            for name, obj in f0.items():
                if name in ("chunk_done", "chunk_ids", "global_index"):
                    continue
                if name in AXES[ds.kind] or name == "f_thz":
                    out.create_dataset(name, data=obj[:])
                else:
                    out.create_dataset(name, shape=(n,) + obj.shape[1:], dtype=obj.dtype)
                for k, v in obj.attrs.items():
                    out[name].attrs[k] = v
            for i, sp in enumerate(shards):
                with h5py.File(sp, "r") as f:
                    if not f.attrs.get("complete"):
                        raise DatasetError(f"shard {sp} is not complete; rerun its generation to resume it")
                    if f.attrs.get("request") != req.request_yaml():
                        raise DatasetError(f"shard {sp} was made with a different config than requested")
                    if int(f.attrs["shard_index"]) != i or int(f.attrs["shard_count"]) != count:
                        raise DatasetError(f"{sp} claims to be shard {f.attrs['shard_index']} of "
                                           f"{f.attrs['shard_count']}, expected {i} of {count}")
                    gi = f["global_index"][:]
                    seen[gi] += 1
                    for name in out:
                        if name in AXES[ds.kind] or name == "f_thz":
                            continue
                        out[name][np.sort(gi)] = f[name][:][np.argsort(gi)]
            dup, miss = np.nonzero(seen > 1)[0], np.nonzero(seen == 0)[0]
            if len(dup) or len(miss):
                raise DatasetError(f"shards do not cover the dataset exactly: {len(miss)} samples "
                                   f"missing, {len(dup)} duplicated")
            out.attrs["shard_index"], out.attrs["shard_count"] = 0, 1
            out.attrs["merged_from"] = count
            out.attrs["complete"] = True
        os.replace(part, path)
    return path


