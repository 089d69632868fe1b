"""The test points of a dataset file re-simulated under another solver (the cross-model rows).

    python -m spsll.studies.results.cross_data kind=dispersion solver=rtn_ensemble \
        source=data/dispersion.h5 out=data/dispersion_rtn_ensemble_test.h5

Takes the source file's own generation request (material, measurement, dtype, ranges), replaces the
solver by ``conf/solver/<solver>.yaml`` and the sampling by the source's test points in file order
(split: all test), and generates through the same ``generate`` as ``generate.py`` (resumable,
locked, with provenance). The ranges stay the source's, so "outside the training range" means the same.
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


def cross_request(source: str | Path, solver: str, out: str | Path):
    with h5py.File(source, "r") as f:
        request = yaml.safe_load(f.attrs["request"])
    solver_file = CONF / "solver" / f"{solver}.yaml"
    if not solver_file.exists():
        raise ValueError(f"unknown solver {solver!r}: no {solver_file}")
    points = test_points(source)
    if len(points) == 0:
        raise ValueError(f"{source} has no test split to re-simulate")
    request["solver"] = yaml.safe_load(solver_file.read_text())
    request["dataset"].update(path=str(out), sampling="explicit", points=points.tolist(), n_samples=len(points),
                              split=[0.0, 0.0, 1.0])
    cfg = OmegaConf.create(request)
    return build_request(cfg), OmegaConf.to_yaml(cfg)


def main(argv: list[str]) -> Path:
    args = dict(a.split("=", 1) for a in argv)
    missing = {"kind", "solver", "source", "out"} - set(args)
    if missing:
        raise SystemExit(__doc__ + f"\nmissing: {sorted(missing)}")
    req, resolved = cross_request(args["source"], args["solver"], args["out"])
    if req.dataset.kind != args["kind"]:
        raise SystemExit(f"{args['source']} is a {req.dataset.kind} dataset, not {args['kind']}")
    path = generate(req, resolved_yaml=resolved, progress=False)
    print(f"wrote {path}: {req.dataset.n_samples} test points under {args['solver']}")
    return path


if __name__ == "__main__":
    main(sys.argv[1:])
