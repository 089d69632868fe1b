"""The HDF5 layout (docs/data.md#layout), provenance attributes, file locks and shard naming.

A dataset file is written as ``<path>.partial`` and renamed to ``<path>`` only when every chunk is
in and the ``complete`` attribute is set, so a file at ``<path>`` is complete by construction and
an interrupted run leaves only the partial file, which the same command resumes.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import hashlib
import subprocess
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
import yaml

import spsll

# per-sample datasets (first axis = sample) and their units, by kind
SAMPLE_FIELDS = {
    "dispersion": {
        "sigma_nm": "nm", "tau_nm": "nm", "freq_thz": "THz", "freq_refined_thz": "THz",
        "split": "0 train, 1 val, 2 test",
    },
    "domain_wall": {
        "sigma_nm": "nm", "tau_nm": "nm", "mz": "1", "width_nm": "nm", "width_err_nm": "nm",
        "width_tanh_nm": "nm", "converged": "bool", "max_torque": "A/m",
        "split": "0 train, 1 val, 2 test",
    },
}
# microstructure kinds (docs/data.md#microstructures): RTN defect masks, their hand features, and for hysteresis
# the demagnetisation curve and its anchors (fields: reverse field in units of H_K)
MASK_FEATURES = {"defect_mask": "1 defect, 0 material", "sigma_hat_nm": "nm", "tau_hat_nm": "nm",
                 "longest_defect_run_nm": "nm", "defect_count": "defect runs", "defect_fraction": "1"}
SAMPLE_FIELDS["microstructures"] = {"sigma_nm": "nm", "tau_nm": "nm", **MASK_FEATURES,
                                    "split": "0 train, 1 val, 2 test"}
SAMPLE_FIELDS["hysteresis"] = {
    "sigma_nm": "nm", "tau_nm": "nm", **MASK_FEATURES, "M_over_Ms": "1", "H_at_levels_HK": "H_K",
    "M_over_Ms_at_fields": "1", "coercivity_HK": "H_K", "nucleation_field_HK": "H_K",
    "reversal_mode": "0 single jump, 1 spring then depinning, 2 continuous", "converged": "bool",
    "split": "0 train, 1 val, 2 test",
}
# relaxed isolated skyrmions over (σ, τ, B) (docs/data.md#skyrmions): the cropped m_z image and its labels
SAMPLE_FIELDS["skyrmion"] = {
    "sigma_nm": "nm", "tau_nm": "nm", "B_T": "T (applied field along +z, the background)",
    "mz": "1 (vacant cells 0)", "survived": "bool", "radius_nm": "nm (NaN unless survived)", "Q": "1",
    "energy_J": "J, E(skyrmion) - E(uniform)", "converged": "bool", "undecided": "bool (intact, still moving)",
    "grown": "bool (intact, not isolated: grown to the box)", "pinned": "bool",
    "split": "0 train, 1 val, 2 test",
}
MASK_KINDS = ("hysteresis", "microstructures")
OWN_DTYPE_KINDS = MASK_KINDS + ("skyrmion",)  # each array is stored in the dtype it is computed in
AXES = {"dispersion": ("k_rad_per_nm",), "domain_wall": ("x_nm",), "microstructures": ("x_nm",),
        "hysteresis": ("x_nm", "H_HK", "anchor_levels_M_over_Ms", "anchor_fields_HK"), "skyrmion": ("x_nm", "y_nm")}
# per-sample values only films have (one per sample; absent from chain files, whose layout predates films)
FILM_FIELDS = {
    "dispersion": {},
    "domain_wall": {
        "row_width_mean_nm": "nm", "row_width_std_nm": "nm",
        "pinned_fraction": "1", "width_unpinned_nm": "nm", "width_std_nm": "nm",
    },
    "microstructures": {},
    "hysteresis": {},
    "skyrmion": {"defect_mask": "1 vacancy, 0 material"},  # explicit-vacancy solvers only
}

class DatasetError(RuntimeError):
    """A dataset file is missing, incomplete, corrupt, locked or not what the caller expects."""


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def shard_path(path: Path, index: int, count: int) -> Path:
    """``data/x.h5`` → ``data/x.shard-01-of-04.h5``."""
    width = max(2, len(str(count)))
    return path.with_name(f"{path.stem}.shard-{index:0{width}d}-of-{count:0{width}d}{path.suffix}")


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(spsll.__file__).parent,
                             capture_output=True, text=True, timeout=5)
        sha = out.stdout.strip()
        if out.returncode != 0 or not sha:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=Path(spsll.__file__).parent, capture_output=True, text=True,
                               timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance() -> dict:
    return {
        "version": spsll.__version__,
        "git_commit": git_commit(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def canonical_yaml(obj) -> str:
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=None)


def request_hash(request_yaml: str) -> str:
    return hashlib.sha256(request_yaml.encode()).hexdigest()[:16]


def _flatten(obj, prefix: str = "") -> dict:
    if isinstance(obj, dict) and (obj or not prefix):  # an empty dict inside is a value
        out = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: obj}


def request_differences(stored_yaml: str | None, wanted_yaml: str) -> dict[str, tuple]:
    """``{dotted key: (stored value, wanted value)}`` of two ``request`` YAMLs (a key absent on one
    side has the value ``"<absent>"`` there); {} when they agree."""
    stored = _flatten(yaml.safe_load(stored_yaml or "") or {})
    wanted = _flatten(yaml.safe_load(wanted_yaml) or {})
    return {k: (stored.get(k, "<absent>"), wanted.get(k, "<absent>")) for k in sorted(stored.keys() | wanted.keys())
            if stored.get(k, "<absent>") != wanted.get(k, "<absent>")}


def file_hash(path: Path, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file's bytes (for tracking which data a model saw)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


BOOKKEEPING = ("chunk_done", "chunk_ids", "global_index")  # how a file was written, not what it holds


def data_digest(path: Path, block_bytes: int = 1 << 24) -> str:
    """SHA-256 of what a dataset file holds: its ``request`` attribute and every array but the
    bookkeeping ones (name, dtype, shape and bytes in C order, read in blocks).

    Unlike :func:`file_hash` it ignores how and when the file was written (creation time, git commit,
    HDF5 chunking), so the same generation run again gives the same digest wherever the arithmetic
    gives the same arrays, and a merged file that of the unsharded one (docs/data.md#lineage).
    """
    h = hashlib.sha256()
    with h5py.File(path, "r") as f:
        h.update(str(f.attrs.get("request", "")).encode())
        for name in sorted(f):
            ds = f[name]
            if name in BOOKKEEPING or not isinstance(ds, h5py.Dataset):
                continue
            h.update(f"\0{name}\0{ds.dtype.str}\0{ds.shape}\0".encode())
            if ds.ndim == 0:
                h.update(np.ascontiguousarray(ds[()]).tobytes())
                continue
            row_bytes = ds.dtype.itemsize * int(np.prod(ds.shape[1:], dtype=np.int64))
            rows = max(1, block_bytes // max(1, row_bytes))
            for lo in range(0, ds.shape[0], rows):
                h.update(np.ascontiguousarray(ds[lo:lo + rows]).tobytes())
    return h.hexdigest()


@contextmanager
def exclusive_lock(path: Path):
    """Hold ``<path>.lock`` exclusively; a second writer of the same file is refused at once."""
    lock = path.with_name(path.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fh = open(lock, "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise DatasetError(
                f"another generator is writing {path} (lock {lock} is held); wait for it to finish"
            ) from err
        yield
    finally:
        # the lock file is left in place: unlinking it would let a waiting writer lock a deleted
        # inode while a third one creates a fresh file
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()
