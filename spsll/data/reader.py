"""Reading SPS-LL datasets: refuse what is incomplete, corrupt or not what the caller expects."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from spsll.data.hdf5 import AXES, SAMPLE_FIELDS, DatasetError, partial_path


def _regenerate_hint(path: Path, kind: str | None) -> str:
    k = kind or "<dispersion|domain_wall>"
    return f"python generate.py dataset={k} dataset.path={path}"


def open_dataset(path, *, kind: str | None = None, expect: dict | None = None) -> h5py.File:
    """Open a complete dataset read-only, checking its kind, layout and ``expect``ed attributes."""
    path = Path(path)
    if not path.exists():
        part = partial_path(path)
        if part.exists():
            try:
                with h5py.File(part, "r") as f:
                    done = f["chunk_done"][:]
                    msg = f"{int(done.sum())} of {len(done)} chunks done"
            except (OSError, KeyError):
                msg = "its progress is unreadable"
            raise DatasetError(f"{path} is incomplete: its generation was interrupted ({msg}). "
                               f"Rerun the same generate command to resume it "
                               f"(e.g. {_regenerate_hint(path, kind)}).")
        raise DatasetError(f"no dataset at {path}; generate it with {_regenerate_hint(path, kind)}")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise DatasetError(f"{path} is not a readable HDF5 file ({err}); regenerate it with "
                           f"{_regenerate_hint(path, kind)} overwrite=true") from err
    try:
        _validate(f, path, kind, expect)
    except DatasetError:
        f.close()
        raise
    return f


def _validate(f, path, kind, expect):
    if not bool(f.attrs.get("complete", False)):
        raise DatasetError(f"{path} is not marked complete; rerun the generate command that made it "
                           "to resume, or regenerate it with overwrite=true")
    fkind = f.attrs.get("kind")
    if fkind not in SAMPLE_FIELDS:
        raise DatasetError(f"{path} is not an SPS-LL dataset (kind attribute {fkind!r})")
    if kind is not None and fkind != kind:
        raise DatasetError(f"{path} holds a {fkind} dataset, but a {kind} dataset is needed here")
    n = int(f.attrs["n_samples"])
    for name in SAMPLE_FIELDS[fkind]:
        if name not in f:
            raise DatasetError(f"{path} lacks the dataset {name!r}; the file is damaged, regenerate it")
        if f[name].shape[0] != n:
            raise DatasetError(f"{path}: {name} has {f[name].shape[0]} rows, expected {n}")
    for axis in AXES[fkind]:
        if axis not in f:
            raise DatasetError(f"{path} lacks the axis {axis!r}; regenerate it")
    for key, value in (expect or {}).items():
        if f.attrs.get(key) != value:
            raise DatasetError(f"{path}: attribute {key} is {f.attrs.get(key)!r}, expected {value!r}")


def load(path, *, kind: str | None = None, split: int | None = None, fields=None,
         expect: dict | None = None) -> dict[str, np.ndarray]:
    """Arrays of a complete dataset (optionally one split: 0 train, 1 val, 2 test) and its axes."""
    with open_dataset(path, kind=kind, expect=expect) as f:
        fk = f.attrs["kind"]
        names = list(fields) if fields else [k for k in SAMPLE_FIELDS[fk]] + (["spectrum"] if "spectrum" in f else [])
        rows = slice(None) if split is None else np.nonzero(f["split"][:] == split)[0]
        out = {name: f[name][rows] for name in names}
        for axis in AXES[fk] + (("f_thz",) if "f_thz" in f else ()):
            out[axis] = f[axis][:]
        out["attrs"] = dict(f.attrs)
    return out
