"""One evaluation job of the study: ``evaluate.py`` on the run a finished training recorded.

    python -m spsll.studies.results.evaluate_run marker=<train marker.json> output=<file.json> \
        tracking_uri=<uri> workdir=<dir> -- <evaluate.py overrides>

The run id is only known once the training finished, so it is read here from its marker.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if "--" in argv:
        i = argv.index("--")
        own, extra = argv[:i], argv[i + 1:]
    else:
        own, extra = argv, []
    args = dict(a.split("=", 1) for a in own)
    run_id = json.loads(open(args["marker"]).read())["run_id"]
    hydra_dir = f"{args['workdir']}/{Path(args['output']).stem}_{run_id}"
    cmd = [sys.executable, "evaluate.py", f"run_id={run_id}", f"output={args['output']}", "threads=1",
           f"logger.tracking_uri={args['tracking_uri']}", f"hydra.run.dir={hydra_dir}", *extra]
    print(" ".join(cmd), flush=True)
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
