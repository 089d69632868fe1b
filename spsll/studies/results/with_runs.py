"""A study job whose command needs what an earlier job recorded: a run id, or a chosen setting.

    python -m spsll.studies.results.with_runs model.encoder=<train marker.json> \
        model.latent_dim=<marker.json>#latent_dim -- train.py model=anchor_regressor ...

Each ``<override>=<marker>[#<field>]`` before ``--`` appends ``<override>=<value>`` to the command after it, the
value read from the marker (a finished job's JSON, :mod:`.jobs`) when this job starts: ``run_id`` unless a field
is named. The coercivity regressors get their seed's VAE this way, and the VAEs of the later seeds the latent
size chosen on validation (:mod:`.coercivity_plan`). The command runs with this interpreter; its exit code is
this one's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def resolve(own: list[str]) -> list[str]:
    """The overrides ``own`` names, with their values read from the markers."""
    out = []
    for arg in own:
        key, sep, ref = arg.partition("=")
        if not sep or not key:
            raise SystemExit(f"with_runs: expected <override>=<marker>[#<field>], got {arg!r}")
        path, _, field = ref.partition("#")
        record = json.loads(Path(path).read_text())
        field = field or "run_id"
        if field not in record:
            raise SystemExit(f"with_runs: {path} holds no {field!r} (keys: {sorted(record)})")
        out.append(f"{key}={record[field]}")
    return out


def main(argv: list[str]) -> int:
    if "--" not in argv:
        raise SystemExit(__doc__ + "\nmissing: -- <command>")
    i = argv.index("--")
    cmd = [sys.executable, *argv[i + 1:], *resolve(argv[:i])]
    print(" ".join(cmd), flush=True)
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
