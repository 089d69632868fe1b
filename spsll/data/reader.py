"""Reading SPS-LL datasets: refuse what is incomplete, corrupt or not what the caller expects."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from spsll.data.hdf5 import AXES, FILM_FIELDS, SAMPLE_FIELDS, DatasetError, partial_path

# per-sample profiles and the shared axis their second dimension runs along
PROFILES = {"dispersion": {"freq_thz": "k_rad_per_nm", "freq_refined_thz": "k_rad_per_nm"},
            "domain_wall": {"mz": "x_nm"}, "microstructures": {"defect_mask": "x_nm"},
            "hysteresis": {"defect_mask": "x_nm", "M_over_Ms": "H_HK", "H_at_levels_HK": "anchor_levels_M_over_Ms",
                           "M_over_Ms_at_fields": "anchor_fields_HK"},
            "skyrmion": {"mz": ("x_nm", "y_nm"), "defect_mask": ("x_nm", "y_nm")}}  # images: one axis per dimension
# what training and evaluation read: must be finite (the wall diagnostics width_err_nm, width_tanh_nm
# and max_torque are not, and unconverged walls are flagged by `converged`, not refused)
_MASKS = ("sigma_nm", "tau_nm", "defect_mask", "sigma_hat_nm", "tau_hat_nm", "longest_defect_run_nm",
          "defect_count", "defect_fraction")
FINITE_FIELDS = {"dispersion": ("sigma_nm", "tau_nm", "freq_thz", "freq_refined_thz"),
                 "domain_wall": ("sigma_nm", "tau_nm", "mz", "width_nm"), "microstructures": _MASKS,
                 "hysteresis": _MASKS + ("M_over_Ms", "H_at_levels_HK", "M_over_Ms_at_fields", "coercivity_HK",
                                         "nucleation_field_HK"),
                 "skyrmion": ("sigma_nm", "tau_nm", "B_T", "mz", "Q", "energy_J")}
SPLIT_CODES = (0, 1, 2)


def _regenerate_hint(path: Path, kind: str | None) -> str:
    k = kind or "<dispersion|domain_wall|hysteresis|microstructures|skyrmion>"
    return f"python generate.py dataset={k} dataset.path={path}"


def open_dataset(path, *, kind: str | None = None, expect: dict | None = None,
                 check_values: bool = True) -> h5py.File:
    """Open a complete dataset read-only, checking its kind, layout and ``expect``ed attributes.

    ``check_values`` also reads the arrays that training and evaluation use and refuses NaN or inf
    in them (one pass over the file; a caller that already checked the file can skip it).
    """
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
        _check_shapes(f, path)
        _check_split(f, path)
        if check_values:
            _check_finite(f, path)
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
    for name in per_sample_fields(f):
        if name not in f:
            raise DatasetError(f"{path} lacks the dataset {name!r}; the file is damaged, regenerate it")
        if f[name].ndim == 0 or f[name].shape[0] != n:
            raise DatasetError(f"{path}: {name} has {f[name].shape[0] if f[name].ndim else 0} rows, expected {n}")
    for axis in AXES[fkind]:
        if axis not in f:
            raise DatasetError(f"{path} lacks the axis {axis!r}; regenerate it")
    for key, value in (expect or {}).items():
        if f.attrs.get(key) != value:
            raise DatasetError(f"{path}: attribute {key} is {f.attrs.get(key)!r}, expected {value!r}")


def _check_shapes(f, path):
    """Per-sample arrays that disagree with the shared axes would be read as another physics."""
    fkind = f.attrs["kind"]
    for axis in AXES[fkind] + (("f_thz",) if "f_thz" in f else ()):
        if f[axis].ndim != 1:
            raise DatasetError(f"{path}: the axis {axis} has shape {f[axis].shape}, expected one dimension; "
                               "the file is damaged, regenerate it")
    for name in per_sample_fields(f):
        if name not in PROFILES[fkind] and f[name].ndim != 1:
            raise DatasetError(f"{path}: {name} has shape {f[name].shape}, expected one value per sample; "
                               "the file is damaged, regenerate it")
    for name, axes in PROFILES[fkind].items():
        if name not in f:  # an optional array (per_sample_fields checked the required ones)
            continue
        if not isinstance(axes, str):  # an image (n, len(x), len(y))
            want = tuple(len(f[a]) for a in axes)
            if f[name].shape[1:] != want:
                raise DatasetError(f"{path}: {name} has shape {f[name].shape}, but the axes {' and '.join(axes)} "
                                   f"have {' and '.join(map(str, want))} points; the file is damaged, regenerate it")
            continue
        want = len(f[axes])
        if f[name].ndim != 2 or f[name].shape[1] != want:
            raise DatasetError(f"{path}: {name} has shape {f[name].shape}, but the axis {axes} has {want} "
                               f"points (expected (n, {want})); the file is damaged or was assembled from "
                               "different measurements, regenerate it")
    if "spectrum" in f:
        want = (len(f["f_thz"]) if "f_thz" in f else None, len(f["k_rad_per_nm"]))
        if f["spectrum"].shape[1:] != want:
            raise DatasetError(f"{path}: spectrum has shape {f['spectrum'].shape}, expected (n, len(f_thz), "
                               f"len(k_rad_per_nm)) = (n, {want[0]}, {want[1]}); regenerate it")


def per_sample_fields(f) -> list[str]:
    """The per-sample datasets of an open file of a known kind: every file's, then a film's extras."""
    fkind = f.attrs["kind"]
    return list(SAMPLE_FIELDS[fkind]) + [k for k in FILM_FIELDS[fkind] if k in f]


def _check_split(f, path):
    codes, counts = np.unique(f["split"][:], return_counts=True)
    bad = [(c, n) for c, n in zip(codes.tolist(), counts.tolist(), strict=True) if c not in SPLIT_CODES]
    if bad:
        listed = ", ".join(f"{c} ({n} row{'s' * (n != 1)})" for c, n in bad)
        raise DatasetError(f"{path}: split holds the code(s) {listed}; only 0 train, 1 val, 2 test are "
                           "allowed. The file is damaged, regenerate it")


def _check_finite(f, path, block_bytes: int = 1 << 24):
    """NaN or inf in what training and evaluation read (blockwise: memory stays bounded)."""
    fkind = f.attrs["kind"]
    for name in AXES[fkind] + FINITE_FIELDS[fkind]:
        ds = f[name]
        rows = max(1, block_bytes // max(1, ds.dtype.itemsize * int(np.prod(ds.shape[1:], dtype=np.int64))))
        bad = 0
        for lo in range(0, ds.shape[0], rows):
            block = ds[lo:lo + rows]
            ok = np.isfinite(block)
            bad += int((~ok.reshape(len(block), -1).all(1)).sum()) if block.ndim > 1 else int((~ok).sum())
        if bad:
            what = "entries" if name in AXES[fkind] else "rows"
            raise DatasetError(f"{path}: {name} has NaN or inf in {bad} of {ds.shape[0]} {what}; the data "
                               "cannot be trained on or scored; regenerate the file")


def load(path, *, kind: str | None = None, split: int | None = None, fields=None,
         expect: dict | None = None) -> dict[str, np.ndarray]:
    """Arrays of a complete dataset (optionally one split: 0 train, 1 val, 2 test) and its axes."""
    with open_dataset(path, kind=kind, expect=expect) as f:
        fk = f.attrs["kind"]
        names = list(fields) if fields else per_sample_fields(f) + (["spectrum"] if "spectrum" in f else [])
        rows = slice(None) if split is None else np.nonzero(f["split"][:] == split)[0]
        out = {name: f[name][rows] for name in names}
        for axis in AXES[fk] + (("f_thz",) if "f_thz" in f else ()):
            out[axis] = f[axis][:]
        out["attrs"] = dict(f.attrs)
    return out
