"""The test points of a dataset file re-simulated under another solver (the cross-model rows).

    python -m spsll.studies.results.cross_data kind=dispersion solver=rtn_ensemble \
        source=data/dispersion.h5 out=data/dispersion_rtn_ensemble_test.h5 \
        [max_samples=40] [chunk_size=4] [solver.realisations=3]

Takes the source file's own generation request (material, measurement, dtype, ranges), replaces the
solver by ``conf/solver/<solver>.yaml`` (with any ``solver.<key>=<value>`` settings on top) and the
sampling by the source's test points in file order (split: all test), and generates through the same
``generate`` as ``generate.py`` (resumable, locked, with provenance). ``max_samples``: only the first n
test points, where a solver is too costly for all of them (explicit-vacancy films). The ranges stay
the source's, so "outside the training range" means the same. ``chunk_size``: samples per written chunk
(default: the source's); small chunks let a killed run of a costly solver resume with little lost.

Skyrmion files (``kind=skyrmion``): a test point is (σ, τ, B), the field being the third coordinate of their
plan, so the re-simulation relaxes each point's skyrmion at its own field (``rtn_ensemble``: one explicit
mosaic film per sample, docs/data.md#skyrmions).
"""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import yaml
from omegaconf import OmegaConf

from spsll.data.cli import build_request
from spsll.data.generation import generate
from spsll.studies.common import CONF
from spsll.studies.results.plan import test_points


def _positive_or_none(name: str, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be null or an integer >= 1, got {value!r}")


def cross_request(source: str | Path, solver: str, out: str | Path, *, max_samples: int | None = None,
                  solver_settings: dict | None = None, chunk_size: int | None = None):
    with h5py.File(source, "r") as f:
        request = yaml.safe_load(f.attrs["request"])
    solver_file = CONF / "solver" / f"{solver}.yaml"
    if not solver_file.exists():
        raise ValueError(f"unknown solver {solver!r}: no {solver_file}")
    _positive_or_none("max_samples", max_samples)
    _positive_or_none("chunk_size", chunk_size)
    points = test_points(source)
    if len(points) == 0:
        raise ValueError(f"{source} has no test split to re-simulate")
    points = points[:max_samples]
    solver_cfg = yaml.safe_load(solver_file.read_text())
    unknown = set(solver_settings or {}) - set(solver_cfg)
    if unknown:
        raise ValueError(f"solver {solver!r} has no settings {sorted(unknown)}; its keys: {sorted(solver_cfg)}")
    request["solver"] = {**solver_cfg, **(solver_settings or {})}
    request["dataset"].update(path=str(out), sampling="explicit", points=points.tolist(), n_samples=len(points),
                              split=[0.0, 0.0, 1.0])
    if chunk_size is not None:
        request["dataset"]["chunk_size"] = chunk_size
    cfg = OmegaConf.create(request)
    return build_request(cfg), OmegaConf.to_yaml(cfg)


def main(argv: list[str]) -> Path:
    args = dict(a.split("=", 1) for a in argv)
    settings = {k.removeprefix("solver."): yaml.safe_load(v) for k, v in args.items() if k.startswith("solver.")}
    args = {k: v for k, v in args.items() if not k.startswith("solver.")}
    missing = {"kind", "solver", "source", "out"} - set(args)
    if missing:
        raise SystemExit(__doc__ + f"\nmissing: {sorted(missing)}")
    unknown = set(args) - {"kind", "solver", "source", "out", "max_samples", "chunk_size"}
    if unknown:
        raise SystemExit(__doc__ + f"\nunknown arguments: {sorted(unknown)}")
    cap = yaml.safe_load(args.get("max_samples", "null"))
    chunk = yaml.safe_load(args.get("chunk_size", "null"))
    req, resolved = cross_request(args["source"], args["solver"], args["out"], max_samples=cap,
                                  solver_settings=settings, chunk_size=chunk)
    if req.dataset.kind != args["kind"]:
        raise SystemExit(f"{args['source']} is a {req.dataset.kind} dataset, not {args['kind']}")
    path = generate(req, resolved_yaml=resolved, progress=False)
    print(f"wrote {path}: {req.dataset.n_samples} test points under {args['solver']}")
    return path


if __name__ == "__main__":
    main(sys.argv[1:])
