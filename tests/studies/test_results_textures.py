"""The textures part of the results study (the skyrmion models): its plan (which job waits for which, with which
data, seeds, noise and explicit-defect file), its checks, the answers that ignore the input, the rendered section
next to the unchanged chain sections, and one real pass on tiny data."""

import copy
import json

import h5py
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from spsll.studies.common import ROOT, compose_study
from spsll.studies.results.coercivity_plan import CoercivityPlan
from spsll.studies.results.plan import Plan
from spsll.studies.results.textures_plan import TexturesPlan

IDS = ("skyrmion_forward", "skyrmion_forward_ridge", "skyrmion_inverse", "skyrmion_inverse_ridge")


def _plan(*overrides, updates=()):
    """The study's plan and its textures jobs; ``updates``: (key, value) set on the config, where ``T<i>`` in a key
    stands for the index in ``entries`` of the i-th textures entry."""
    cfg = compose_study("results", list(overrides))
    part = [i for i, e in enumerate(cfg.entries) if e.get("task") == "textures"]
    for key, value in updates:
        for i, j in enumerate(part):
            key = key.replace(f"T{i}.", f"{j}.")
        OmegaConf.update(cfg, key, value, merge=False, force_add=True)
    plan = Plan(cfg, "sqlite:///x.db")
    return plan, {j.key: j for j in TexturesPlan(plan).jobs()}


def test_plan_lists_the_textures_jobs_with_their_dependencies():
    _, jobs = _plan()
    data = ["dataset=skyrmion", "dataset.path=data/skyrmion.h5"]
    assert jobs["generate/skyrmion"].argv[:3] == ["generate.py", *data]
    cross = jobs["generate/skyrmion_rtn_ensemble"]
    assert cross.after == ["generate/skyrmion"] and cross.argv[:2] == ["-m", "spsll.studies.results.cross_data"]
    assert {"kind=skyrmion", "solver=rtn_ensemble", "source=data/skyrmion.h5", "chunk_size=8",
            "out=data/skyrmion_rtn_ensemble_test.h5"} <= set(cross.argv)
    assert not any(a.startswith("max_samples=") for a in cross.argv)  # every test point
    for eid, seeds, inverse in (("skyrmion_forward", (0, 1, 2), False), ("skyrmion_forward_ridge", (0,), False),
                                ("skyrmion_inverse", (0, 1, 2), True), ("skyrmion_inverse_ridge", (0,), True)):
        assert {k for k in jobs if k.startswith(f"train/{eid}/")} == {f"train/{eid}/seed{s}" for s in seeds}
        for s in seeds:
            train = jobs[f"train/{eid}/seed{s}"]
            assert train.after == ["generate/skyrmion"] and train.argv[0] == "train.py"
            assert {*data, f"seed={s}", "threads=1"} <= set(train.argv)
            own, other = jobs[f"eval/{eid}/seed{s}"], jobs[f"eval/{eid}/seed{s}_rtn_ensemble"]
            assert own.after == [f"train/{eid}/seed{s}"]
            assert ("noise_mz=[0.01,0.05]" in own.argv) == inverse  # noise: the inverse models' images only
            assert "test_data=data/skyrmion_rtn_ensemble_test.h5" in other.argv and not any(
                a.startswith("noise_mz") for a in other.argv)
            # the other solver's data after its file and after the run's own evaluation (one write to the run at a time)
            assert set(other.after) == {f"train/{eid}/seed{s}", "generate/skyrmion_rtn_ensemble", f"eval/{eid}/seed{s}"}
    assert "trainer.max_epochs=300" in jobs["train/skyrmion_forward/seed1"].argv
    assert "trainer.max_epochs=60" in jobs["train/skyrmion_inverse/seed2"].argv
    assert len(jobs) == 2 + 8 * 3  # the two files; 8 runs, each trained and scored on both test sets
    assert all(a in jobs for j in jobs.values() for a in j.after)


def test_only_selects_the_part_or_an_entry_with_what_it_needs():
    plan, jobs = _plan("only=[textures]")
    assert plan.entries == [] and plan.all_jobs() == [] and CoercivityPlan(plan).jobs() == []
    assert len(jobs) == 26
    _, jobs = _plan("only=[skyrmion_inverse_ridge]")
    assert set(jobs) == {"generate/skyrmion", "generate/skyrmion_rtn_ensemble", "train/skyrmion_inverse_ridge/seed0",
                         "eval/skyrmion_inverse_ridge/seed0", "eval/skyrmion_inverse_ridge/seed0_rtn_ensemble"}
    for other in ("coercivity", "inverse_cnn", "dispersion_2d"):
        plan, jobs = _plan(f"only=[{other}]")
        assert jobs == {}
    plan, jobs = _plan()  # no `only`: the whole part beside the others
    assert len(jobs) == 26 and not {j.key for j in plan.all_jobs()} & set(jobs)


def test_the_part_leaves_the_other_jobs_as_they_were():
    """The chain, film and coercivity jobs are those of the config without the part; a study whose entries hold no
    textures entry has no textures job, whatever its `textures:` settings."""
    cfg = compose_study("results")
    without = OmegaConf.create(OmegaConf.to_container(cfg))
    without.entries = [e for e in cfg.entries if e.task != "textures"]
    del without["textures"]

    def keys(c):
        plan = Plan(c, "sqlite:///x.db")
        return {j.key: (j.argv, j.after) for j in plan.all_jobs() + CoercivityPlan(plan).jobs()}

    assert keys(without) == keys(cfg)
    settings_only = OmegaConf.create(OmegaConf.to_container(cfg))
    settings_only.entries = without.entries
    assert TexturesPlan(Plan(settings_only, "sqlite:///x.db")).jobs() == []
    no_settings = OmegaConf.create(OmegaConf.to_container(cfg))
    del no_settings["textures"]
    with pytest.raises(ValueError, match="need the study's textures: settings"):
        Plan(no_settings, "sqlite:///x.db")


@pytest.mark.parametrize("updates, match", [
    ([("entries.T0.direction", "sideways")], "direction must be forward or inverse"),
    ([("entries.T0.epochs", 3)], "unknown keys"),
    ([("entries.T0.train", ["model=skyrmion_forward", "dataset=skyrmion_small"])], "set by the study"),
    ([("entries.T0.train", ["model=skyrmion_forward", "solver=rtn_ensemble"])], "set by the study"),
    ([("entries.T1.id", "skyrmion_forward")], "ids must be unique"),
    ([("entries.T0.id", "inverse_cnn")], "ids must be unique"),
    ([("entries.T0.id", "textures")], "other than textures"),
    ([("textures.cross_model.max_samples", 0)], "max_samples must be null or an integer >= 1"),
    ([("textures.cross_model.path", "data/x.h5")], "with {solver}"),
    ([("textures.cross_model.solvers", ["nope"])], "unknown solvers"),
    ([("textures.noise_mz", [0.01, 1.5])], r"numbers in \(0, 1\)"),
    ([("textures.noise_mz", [0.01, 0.01])], "twice"),
    ([("textures.data", {"group": "skyrmion"})], "needs group and path"),
    ([("textures.data.settings", ["dataset.path=x.h5"])], "are not dataset"),
    ([("textures.extra", 1)], "unknown keys"),
    ([("only", ["textures_nope"])], "unknown entry ids"),
])
def test_textures_settings_are_checked(updates, match):
    with pytest.raises(ValueError, match=match):
        _plan(updates=updates)


def _skyrmion_file(path, split, survived, converged, radius, sigma, tau):
    with h5py.File(path, "w") as f:
        f["split"], f["survived"], f["converged"] = np.array(split), np.array(survived), np.array(converged)
        f["radius_nm"], f["sigma_nm"], f["tau_nm"] = np.array(radius), np.array(sigma), np.array(tau)
    return path


def test_the_answers_that_ignore_the_input_score_what_they_should(tmp_path):
    """Base rate, mean radius and mean (σ, τ) from the training split (survivors for the radius and (σ, τ)),
    scored by hand on the test rows: survival over the converged ones, the rest over the survivors."""
    from spsll.studies.results.textures_collect import _train_constants, constant_answers

    nan = float("nan")
    path = _skyrmion_file(
        tmp_path / "s.h5", split=[0, 0, 0, 0, 1, 2, 2, 2, 2],
        survived=[1, 1, 0, 0, 1, 1, 0, 1, 0], converged=[1, 1, 1, 0, 1, 1, 1, 1, 0],
        radius=[4.0, 6.0, nan, nan, 5.0, 4.0, nan, 10.0, nan], sigma=[10.0, 30.0, 7.0, 7.0, 9.0, 20.0, 8.0, 40.0, 8.0],
        tau=[1.0, 3.0, 5.0, 5.0, 1.0, 1.0, 1.0, 0.5, 1.0])
    train = _train_constants(path)
    assert train["survival"] == pytest.approx(2 / 3)  # 2 survivors of the 3 converged train rows
    assert train["radius_nm"] == pytest.approx(5.0)
    np.testing.assert_allclose(train["params_nm"], [20.0, 2.0])  # the train survivors'
    got = constant_answers(path, train)
    fwd = got["forward"]
    y = np.array([1.0, 0.0, 1.0])  # the converged test rows (the unconverged one has no decided fate)
    assert fwd["brier"] == pytest.approx(np.mean((2 / 3 - y) ** 2))
    assert fwd["ece"] == pytest.approx(0.0)  # one bin: mean p = observed fraction = 2/3
    assert fwd["radius_rel_mae"] == pytest.approx(np.mean([1 / 4, 5 / 10]))
    assert fwd["radius_within_2pct"] == 0.0
    inv = got["inverse"]  # the two test survivors: (20, 1) and (40, 0.5) against the constant (20, 2)
    assert inv["sigma_nm"] == pytest.approx(10.0) and inv["tau_nm"] == pytest.approx(1.25)
    phi = lambda s, t: s / (s + t)  # noqa: E731
    assert inv["phi"] == pytest.approx(np.mean([abs(phi(20, 2) - phi(20, 1)), abs(phi(20, 2) - phi(40, 0.5))]))
    # a file without a test split (another solver's points): every row is scored
    other = _skyrmion_file(tmp_path / "o.h5", split=[2, 2], survived=[0, 0], converged=[1, 1], radius=[nan, nan],
                           sigma=[10.0, 20.0], tau=[1.0, 1.0])
    got = constant_answers(other, train)
    assert got["forward"]["brier"] == pytest.approx((2 / 3) ** 2) and got["inverse"] == {}
    assert np.isnan(got["forward"]["radius_rel_mae"])  # no survivor: no radius to score
    assert _train_constants(tmp_path / "missing.h5") is None


def _agg(*v):
    v = np.array(v, dtype=float)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "n": len(v),
            "values": v.tolist()}


def _textures_data():
    """Textures entries and the part's record as the collect step writes them (a network over 3 seeds and its
    baseline per direction)."""
    runs = [{"seed": s, "run_id": f"tex{s}"} for s in (0, 1, 2)]
    fwd = {f"{p}{k}": _agg(0.01 * (i + 1), 0.012 * (i + 1), 0.014 * (i + 1)) for i, p in enumerate(
        ("test/", "test_rtn_ensemble/")) for k in ("brier", "ece", "radius_rel_mae", "radius_within_2pct")}
    inv = {f"{p}{k}": _agg(1.0 + i, 1.1 + i, 1.2 + i) for i, p in enumerate(
        ("test/", "test/noise0p01mz_", "test/noise0p05mz_", "test_rtn_ensemble/"))
        for k in ("mae_sigma_nm", "mae_tau_nm", "mae_phi", "mae_T_nm", "net_coverage_phi_1sd")}

    def entry(label, direction, metrics, seeded):
        return {"label": label, "task": "textures", "direction": direction, "report": "test", "seeded": seeded,
                "runs": runs if seeded else runs[:1], "data": "skyrmion",
                "metrics": metrics if seeded else {k: _agg(2 * v["mean"]) for k, v in metrics.items()},
                "dataset": {"group": "skyrmion", "path": "data/skyrmion.h5"}}

    results = {"sf": entry("fwd net", "forward", fwd, True), "sfr": entry("fwd ridge", "forward", fwd, False),
               "si": entry("inv net", "inverse", inv, True), "sir": entry("inv ridge", "inverse", inv, False)}
    constants = {"survival_probability": 0.723, "radius_nm": 4.81, "params_nm": [27.5, 0.62],
                 "forward": {"brier": 0.2, "ece": 0.05, "radius_rel_mae": 0.4, "radius_within_2pct": 0.03},
                 "inverse": {"sigma_nm": 11.0, "tau_nm": 0.31, "phi": 0.0185, "T_nm": 0.25}}
    part = {"entries": ["sf", "sfr", "si", "sir"], "noise_mz": [0.01, 0.05],
            "data": {"group": "skyrmion", "path": "data/skyrmion.h5", "solver": "spsll", "material": "Pt-Co",
                     "box_cells": [64, 64], "box_nm": [64.0, 64.0], "cell_nm": 1.0, "crop_cells": 64,
                     "sampling": "uniform", "sigma_nm": [5.0, 50.0], "tau_nm": [0.0, 1.25], "B_T": [0.0, 0.4],
                     "n_samples": 1024, "n_survived": 722, "n_unconverged": 7, "survival_fraction": 0.705,
                     "radius_nm": [2.4, 10.1], "n_train": 819, "n_val": 102, "n_test": 103, "n_train_survived": 592,
                     "n_val_survived": 65, "n_test_survived": 65, "n_train_unconverged": 6, "n_val_unconverged": 1,
                     "n_test_unconverged": 0},
            "constant_answers": {"test": constants},
            "cross": {"rtn_ensemble": {"path": "data/skyrmion_rtn_ensemble_test.h5", "max_samples": None,
                                       "solver": "rtn_ensemble", "n_samples": 103, "n_survived": 7,
                                       "n_unconverged": 12, "n_pinned": 3, "mosaics_per_sample": 1,
                                       "n_source_test": 103, "n_source_survived": 65, "constant_answers": constants}}}
    return results, part


def test_the_section_shows_each_model_on_each_test_set_beside_its_baseline_and_the_constant():
    from spsll.studies.results.textures_report import forward_table, inverse_table, textures_section

    results, part = _textures_data()
    text = textures_section(results, part)
    assert text.startswith("## Textures: isolated skyrmions")
    for s in ("`dataset=skyrmion` (`data/skyrmion.h5`, the `spsll` reading): 1024 isolated skyrmions",
              "Pt-Co film of 64 × 64 cells (64 × 64 nm) at (σ, τ, B) of a `uniform` plan over σ 5–50 nm, τ 0–1.25 nm, "
              "B 0–0.4 T",
              "Split 819 / 102 / 103", "**722 of the 1024 skyrmions survived (70.5 %)**: 592 / 65 / 65 per split",
              "7 did not converge (0 in the test split)",
              "the first 103 of the 103 test points, re-simulated under `rtn_ensemble` (one explicit mosaic film per "
              "sample): **7 survived**, against 65 of the same points under `spsll`; 12 did not converge; pinned "
              "survivors (a vacancy cluster on the wall): 3.",
              "ν = 0.01, 0.05"):
        assert s in text, s
    fwd = forward_table(results, part).splitlines()
    assert fwd[0] == "| model | test data | Brier | ECE | radius rel. MAE | radius within 2 % | seeds |"
    net = " | ".join(["0.012 ± 0.002"] * 4)
    assert fwd[2] == f"| fwd net | test split, spsll | {net} | 3 |"
    assert fwd[3] == "| fwd ridge | test split, spsll | 0.024 | 0.024 | 0.024 | 0.024 | 1 |"  # next to its network
    assert fwd[4] == ("| constant: the training base rate p = 0.723, R = 4.81 nm | test split, spsll | 0.2 | 0.05 "
                      "| 0.4 | 0.03 | – |")
    assert fwd[5].startswith("| fwd net | explicit defects: rtn_ensemble, 103 points | 0.024 ± 0.004 |")
    assert len(fwd) == 2 + 2 * 3 and len({r.count("|") for r in fwd}) == 1
    inv = inverse_table(results, part).splitlines()
    assert inv[0] == "| model | test data | MAE σ / τ / φ / T | network φ coverage | seeds |"
    what = [r.split(" | ")[1] for r in inv[2:]]
    assert what == ["test split, spsll, noiseless"] * 3 + ["test split, spsll, 0.01 m_z noise"] * 2 + [
        "test split, spsll, 0.05 m_z noise"] * 2 + ["explicit defects: rtn_ensemble, 103 points"] * 3
    maes = " / ".join(["1.1 ± 0.1"] * 4)
    assert inv[2] == f"| inv net | test split, spsll, noiseless | {maes} | 1.1 ± 0.1 | 3 |"
    assert inv[4] == ("| constant: the training survivors' mean (σ, τ) = (27.5, 0.62) nm | test split, spsll, "
                      "noiseless | 11 / 0.31 / 0.0185 / 0.25 | – | – |")
    assert inv[6].startswith("| inv ridge | test split, spsll, 0.01 m_z noise | 4.2 / ")
    assert inv[-1].startswith("| constant:") and inv[-2].startswith("| inv ridge | explicit defects")
    assert textures_section(results, None) == ""
    # before any run, before any file
    empty = {eid: {**e, "runs": [], "metrics": {}} for eid, e in results.items()}
    bare = {**part, "data": {"group": "skyrmion", "path": "data/skyrmion.h5"}, "cross": {"rtn_ensemble": {}}}
    text = textures_section(empty, bare)
    assert "the file is not generated yet" in text and text.count("(no runs of this kind in the study yet)") == 2


def test_results_without_the_part_render_as_before_and_the_chain_tables_leave_its_entries_out(tmp_path):
    """The committed results.json renders to the committed RESULTS.md whatever this part adds (no textures record: no
    section), and with textures results every chain, film and coercivity line stays where it was."""
    from spsll.studies.results.report import render

    data = json.loads((ROOT / "docs" / "results" / "results.json").read_text())
    data["results"] = {k: e for k, e in data["results"].items() if e["task"] != "textures"}
    data.pop("textures", None)
    before = render(copy.deepcopy(data), tmp_path / "before.md").read_text()
    results, part = _textures_data()
    data["results"].update(results)
    data["textures"] = part
    after = render(data, tmp_path / "after.md").read_text()
    head, rest = after.split("## Textures: isolated skyrmions")
    section, runs = rest.split("## Runs")
    assert head == before.split("## Runs")[0]  # every other section, and the chain noise/cross tables, unchanged
    assert "inv net" not in head and "fwd ridge" not in head
    assert all(line in runs for line in before.split("## Runs")[1].splitlines() if line.startswith("| "))
    assert "`tex2`" in runs


@pytest.mark.slow
def test_textures_part_end_to_end(tmp_path):
    """Tiny skyrmion data (24 samples in a 32-cell film), its first 3 test points re-simulated by explicit vacancies,
    the inverse network (1 epoch, 1 seed) and the forward baseline, each scored on the test split (the inverse with
    m_z noise) and on the explicit-defect points: markers, MLflow metrics, results.json and the section; a second
    invocation runs nothing."""
    from spsll.evaluation.inputs import EvaluationError
    from spsll.evaluation.skyrmion_evaluate import check_cross_data
    from spsll.studies.results.study import run_study

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    data, cross = tmp_path / "skyrmion.h5", tmp_path / "skyrmion_rtn_ensemble_test.h5"
    cfg = compose_study("results", [
        f"work_dir={tmp_path / 'work'}", f"out={tmp_path / 'RESULTS.md'}", f"json={tmp_path / 'results.json'}",
        f"tracking_uri={uri}", "seeds=[0]", "jobs=2", "only=[textures]", "textures.data.group=skyrmion_small",
        f"textures.data.path={data}", "textures.cross_model.max_samples=3", "textures.cross_model.chunk_size=3",
        "textures.noise_mz=[0.01]"])
    OmegaConf.update(cfg, "textures.cross_model.path", str(tmp_path / "skyrmion_{solver}_test.h5"))
    # τ ≤ 0.02 nm: Pt/Co skyrmions survive explicit vacancies only for φ ≳ 0.99 (docs/thresholds.md); B to 0.35 T:
    # both fates in the training split
    OmegaConf.update(cfg, "textures.data.settings", [
        "dataset.n_samples=24", "dataset.chunk_size=24", "dataset.split=[0.5,0.25,0.25]", "dataset.tau_nm=[0.0,0.02]",
        "dataset.B_T=[0.1,0.35]"], force_add=True)
    OmegaConf.update(cfg, "entries", [  # no chain or coercivity entry: only=[textures] would leave them out too
        {"id": "skyrmion_inverse", "task": "textures", "direction": "inverse", "label": "tiny inverse net",
         "train": ["model=skyrmion_inverse", "trainer.max_epochs=1", "logger.register_model=false"]},
        {"id": "skyrmion_forward_ridge", "task": "textures", "direction": "forward", "label": "forward baseline",
         "seeded": False, "train": ["model=skyrmion_forward_ridge", "logger.register_model=false"]}])
    threads = torch.get_num_threads()
    lines = []
    run_study(cfg, command="test", echo=lines.append)
    torch.set_num_threads(threads)

    out = json.loads((tmp_path / "results.json").read_text())
    part, results = out["textures"], out["results"]
    assert set(results) == {"skyrmion_inverse", "skyrmion_forward_ridge"}
    inv, fwd = results["skyrmion_inverse"]["metrics"], results["skyrmion_forward_ridge"]["metrics"]
    for key in ("val/mae_phi", "test/mae_phi", "test/net_coverage_phi_1sd", "test/noise0p01mz_mae_phi",
                "test_rtn_ensemble/mae_phi"):
        assert inv[key]["n"] == 1, key
    for key in ("test/brier", "test/radius_rel_mae", "test_rtn_ensemble/brier", "test_rtn_ensemble/ece"):
        assert fwd[key]["n"] == 1, key
    assert not any(k.startswith("test_rtn_ensemble/noise") for k in inv)  # the noise is scored on the test split
    d, c = part["data"], part["cross"]["rtn_ensemble"]
    assert (d["n_samples"], d["n_test"], d["box_cells"], d["crop_cells"]) == (24, 6, [32, 32], 24)
    assert c["n_samples"] == 3 and c["n_source_test"] == 6 and c["mosaics_per_sample"] == 1
    assert part["constant_answers"]["test"]["forward"] and c["constant_answers"]["inverse"]
    with h5py.File(data, "r") as f, h5py.File(cross, "r") as g:  # the first test points, each at its own field
        test = f["split"][:] == 2
        for name in ("sigma_nm", "tau_nm", "B_T"):
            np.testing.assert_array_equal(g[name][:], f[name][:][test][:3])
        assert g.attrs["solver"] == "rtn_ensemble" and (g["split"][:] == 2).all()
        n_alive = int(g["survived"][:].sum())
    summary = json.loads((tmp_path / "work" / "eval" / "skyrmion_inverse" / "seed0_rtn_ensemble.json").read_text())
    assert summary["cross_model"]["solver"] == "rtn_ensemble" and summary["n_test"] == n_alive >= 1
    assert summary["n_test_excluded"] == 3 - n_alive and "val_metrics" not in summary
    with pytest.raises(EvaluationError, match="crop_cells"):  # only the solver may differ
        check_cross_data(str(data), {"crop_cells": 16}, str(cross))
    report = (tmp_path / "RESULTS.md").read_text()
    section = report.split("## Textures: isolated skyrmions")[1]
    assert "tiny inverse net" in section and "forward baseline" in section and "0.01 m_z noise" in section
    assert "explicit defects: rtn_ensemble, 3 points" in section and "the first 3 of the 6 test points" in section
    assert results["skyrmion_inverse"]["runs"][0]["run_id"] in report.split("## Runs")[1]

    lines.clear()
    run_study(cfg, command="test", echo=lines.append)
    assert any("already done; 0 to run" in m for m in lines), lines
