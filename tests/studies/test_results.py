"""The results study: its plan, its job runner, and one real end-to-end pass at toy scale."""

import json

import pytest
from omegaconf import OmegaConf

from spsll.studies.common import compose_study
from spsll.studies.results.jobs import Job, StudyError, run_jobs
from spsll.studies.results.plan import Entry, Plan
from spsll.studies.results.report import fmt
from tests.training.conftest import small_data  # noqa: F401  (shared tiny datasets)


def _job(tmp_path, key, code, after=()):
    return Job(key, ["-c", code], tmp_path / "markers" / f"{key}.json", tmp_path / "logs" / f"{key}.log", list(after))


def test_jobs_run_in_order_resume_and_report_failures(tmp_path):
    out = tmp_path / "order.txt"
    jobs = [_job(tmp_path, "a", f"open({str(out)!r}, 'a').write('a')"),
            _job(tmp_path, "b", f"open({str(out)!r}, 'a').write('b')", after=["a"]),
            _job(tmp_path, "bad", "import sys; print('boom'); sys.exit(3)"),
            _job(tmp_path, "needs_bad", "pass", after=["bad"])]
    with pytest.raises(StudyError) as err:
        run_jobs(jobs, 2, echo=lambda m: None)
    assert out.read_text() == "ab"  # b waited for a
    msg = str(err.value)
    assert "bad: exit code 3" in msg and "boom" in msg  # the log's tail is in the message
    assert "needs_bad: not run: it needs bad" in msg
    # a second invocation redoes only what did not succeed
    jobs[2] = _job(tmp_path, "bad", "pass")
    run_jobs(jobs, 2, echo=lambda m: None)
    assert out.read_text() == "ab"
    assert json.loads(jobs[3].marker.read_text())["seconds"] >= 0


def test_entries_are_checked():
    base = {"id": "x", "task": "inverse_dispersion", "train": ["model=ridge"]}
    with pytest.raises(ValueError, match="task must be one of"):
        Entry.from_config({**base, "task": "sideways"})
    with pytest.raises(ValueError, match="unknown keys"):
        Entry.from_config({**base, "epochs": 3})
    with pytest.raises(ValueError, match="dataset and seed come from the study"):
        Entry.from_config({**base, "train": ["model=ridge", "dataset=domain_wall"]})
    cfg = compose_study("results", ["only=[nope]"])
    with pytest.raises(ValueError, match="unknown entry ids"):
        Plan(cfg, "sqlite:///x.db")


def test_default_plan_covers_the_protocol():
    """Seeds × networks, one fit per baseline, an evaluation per run and per other model's data."""
    plan = Plan(compose_study("results"), "sqlite:///x.db")
    keys = [j.key for j in plan.all_jobs()]
    assert {f"train/inverse_cnn/seed{s}" for s in (0, 1, 2)} <= set(keys)
    assert "train/ridge_inverse_dispersion/seed0" in keys and "train/ridge_inverse_dispersion/seed1" not in keys
    assert {"eval/inverse_cnn/seed0_rtn_ensemble", "eval/inverse_cnn/seed0_spsll_convolution"} <= set(keys)
    tasks = {e.task for e in plan.entries}
    assert tasks == {"forward", "inverse_dispersion", "inverse_domain_wall"}
    for task in tasks:  # a ridge and a k-NN baseline next to every task
        models = {o for e in plan.entries if e.task == task for o in e.train if o.startswith("model=")}
        assert {"model=ridge", "model=knn"} <= models, task


def test_targets_table_keeps_its_columns():
    """Every row of the targets table has the header's number of cells (a bare | in a cell would add one)."""
    from spsll.studies.results.report import targets_table

    a = {"mean": 0.01, "std": 0.001, "n": 3}
    results = {"width_regressor": {"task": "inverse_domain_wall", "label": "w", "runs": [],
                                   "metrics": {"test/width_error_mean_nm": a, "test/width_error_std_nm": a}}}
    lines = targets_table(results).splitlines()
    cells = [len(line.replace("\\|", "").split("|")) for line in lines]
    assert len(lines) == 3 and len(set(cells)) == 1, lines
    assert "✅ met" in lines[-1]


def test_fmt():
    assert fmt({"mean": 0.012345, "std": 0.0011, "n": 3}) == "0.0123 ± 0.0011"
    assert fmt({"mean": 2.0, "std": 0.0, "n": 1}) == "2"
    assert fmt(None) == "–" and fmt({"mean": None, "n": 0}) == "–"


@pytest.mark.slow
def test_results_study_end_to_end(tmp_path, small_data):  # noqa: F811
    """Two seeds of a tiny network and a ridge baseline on the small dispersions, with a noise level and
    the test points re-simulated by spsll_convolution: every number lands in results.json and RESULTS.md,
    and a second invocation reuses every finished job."""
    from spsll.studies.results.study import run_study

    cfg = compose_study("results", [
        f"work_dir={tmp_path / 'work'}", f"out={tmp_path / 'RESULTS.md'}", f"json={tmp_path / 'results.json'}",
        f"tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}", "seeds=[0,1]", "jobs=2",
        "datasets.dispersion.group=dispersion_small", f"datasets.dispersion.path={small_data['dispersion']}",
        "cross_model.solvers=[spsll_convolution]", "noise.dispersion_ghz=[10]"])
    OmegaConf.update(cfg, "cross_model.path", f"{tmp_path}/{{kind}}_{{solver}}_test.h5")
    OmegaConf.update(cfg, "entries", [
        {"id": "inverse_cnn", "task": "inverse_dispersion", "label": "tiny net", "seeded": True, "report": "test",
         "train": ["model=inverse_cnn", "trainer.max_epochs=1", "model.channels=[4,4,4,4]", "model.dense=[8]",
                   "model.readout=ridge"],
         "evaluate": ["refine=true", "refine_samples=2", "refine_steps=2"]},
        {"id": "ridge_inverse_dispersion", "task": "inverse_dispersion", "label": "ridge", "seeded": False,
         "report": "test", "train": ["model=ridge"], "evaluate": []}], force_add=True)
    lines = []
    run_study(cfg, command="test", echo=lines.append)
    data = json.loads((tmp_path / "results.json").read_text())
    net = data["results"]["inverse_cnn"]
    assert [r["seed"] for r in net["runs"]] == [0, 1]
    for key in ("val/mae_phi", "test/mae_phi", "test/refined_mae_phi", "test/noise10ghz_mae_phi",
                "test_spsll_convolution/mae_phi"):
        assert net["metrics"][key]["n"] == 2, key
    ridge = data["results"]["ridge_inverse_dispersion"]["metrics"]
    assert ridge["test/mae_phi"]["n"] == 1 and ridge["val/mae_phi"]["n"] == 1  # a baseline has no val/loss
    report = (tmp_path / "RESULTS.md").read_text()
    assert "tiny net" in report and "ridge" in report and net["runs"][1]["run_id"] in report
    assert "spsll_convolution" in report and "10 GHz" in report
    assert (tmp_path / "results.csv").read_text().startswith("entry,task,metric,mean,std,n,run_ids")

    first = data["meta"]
    assert not first["time_partial"] and first["n_jobs"] == len(list((tmp_path / "work" / "markers").iterdir()))
    assert first["job_minutes"] > 0 and "min of wall time" in report

    lines.clear()
    run_study(cfg, command="test", echo=lines.append)
    assert any("already done; 0 to run" in m for m in lines), lines
    again = json.loads((tmp_path / "results.json").read_text())["meta"]
    assert again["seconds"] >= first["seconds"] and not again["time_partial"]  # the ledger carries the first time


def test_wall_ledger_counts_an_interrupted_invocation(tmp_path):
    """The ledger is saved at every job event, so a killed invocation's time survives into the next one;
    a study whose jobs were done before any ledger existed says its total is partial."""
    from spsll.studies.results.report import time_statement
    from spsll.studies.results.study import _WallLedger

    path = tmp_path / "wall_seconds.json"
    first = _WallLedger(path, "cfg", untimed_work=False)
    seen = []
    first.wrap(seen.append)("start job")  # the process is killed after this line: no final update
    saved = json.loads(path.read_text())["cfg"]["seconds"]
    assert seen == ["start job"] and saved >= 0
    second = _WallLedger(path, "cfg", untimed_work=True)  # jobs done by now, but the ledger knows them
    assert second.base == saved and not second.partial
    assert second.update() >= saved
    other = _WallLedger(path, "other-config", untimed_work=True, recorded=120.0)
    assert other.base == 120.0 and other.partial
    text = time_statement({"minutes": 2.0, "time_partial": True, "job_minutes": 5.0, "n_jobs": 3, "jobs": 2,
                           "time_note": "shared"})
    assert text.startswith("2 min of wall time, not counting") and "3 jobs took 5 min" in text and "(shared)" in text
