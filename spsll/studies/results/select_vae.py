"""The VAE's latent size, chosen on the validation split (docs/results-protocol.md, section "Coercivity").

    python -m spsll.studies.results.select_vae out=<selection.json> tracking_uri=<uri> tolerance=<t> \
        candidate=<k>:<train marker of the latent-k run> ...

Each candidate's validation reconstruction is read from its MLflow run at the kept checkpoint (the epoch of
the smallest ``val/loss``, :func:`.collect.validation_metrics`). The choice is the smallest latent size whose
validation BCE per cell b_k is within ``tolerance`` of the best, b_k ≤ (1 + tolerance) min_j b_j (tolerance 0:
the best): a shorter code for the regressors, which see ~400 chains, unless a longer one reconstructs clearly
better. The test split is not read. The chosen candidate's run is the seed-0 VAE of the study (same config and
seed), so ``chosen`` holds its run id and directory as a training's marker does, and the size.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

METRIC = "val/bce_per_cell"
SHOWN = ("val/bce_per_cell", "val/cell_error_rate", "val/mae_defect_fraction", "val/kl", "val/loss", "val/best_step")


def choose(scores: dict[int, float], tolerance: float) -> int:
    """The smallest k with scores[k] <= (1 + tolerance) * min(scores)."""
    if not scores:
        raise ValueError("no candidate latent sizes to choose from")
    best = min(scores.values())
    return min(k for k, v in scores.items() if v <= (1.0 + tolerance) * best)


def select(candidates: dict[int, Path], uri: str, tolerance: float) -> dict:
    from spsll.studies.results.collect import _client, validation_metrics

    client = _client(uri)
    table = {}
    for k, marker in sorted(candidates.items()):
        record = json.loads(Path(marker).read_text())
        val = validation_metrics(client, record["run_id"])
        if METRIC not in val:
            raise ValueError(f"candidate latent {k} (run {record['run_id']}) logged no {METRIC}: not a mask_vae run")
        table[k] = {"run_id": record["run_id"], "run_dir": record["run_dir"],
                    **{m: val[m] for m in SHOWN if m in val}}
    k = choose({k: v[METRIC] for k, v in table.items()}, tolerance)
    chosen = {"run_id": table[k]["run_id"], "run_dir": table[k]["run_dir"], "latent_dim": k}
    return {"metric": METRIC, "tolerance": tolerance, "chosen": chosen,
            "candidates": {str(k): v for k, v in table.items()}}


def main(argv: list[str]) -> dict:
    cands, args = {}, {}
    for a in argv:
        key, _, value = a.partition("=")
        if key == "candidate":
            k, _, marker = value.partition(":")
            cands[int(k)] = Path(marker)
        else:
            args[key] = value
    missing = {"out", "tracking_uri"} - set(args)
    if missing or not cands:
        raise SystemExit(__doc__ + f"\nmissing: {sorted(missing) or ['candidate=...']}")
    result = select(cands, args["tracking_uri"], float(args.get("tolerance", 0.0)))
    out = Path(args["out"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"latent size {result['chosen']['latent_dim']} (run {result['chosen']['run_id']}): "
          + ", ".join(f"{k}: {v[METRIC]:.4f}" for k, v in result["candidates"].items()))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
