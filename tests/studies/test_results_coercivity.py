"""The coercivity part of the results study: its plan (which job waits for which, with which seed and which VAE),
its checks, the latent-size choice, the marker wrapper, the rendered section, and one real pass on tiny data."""

import json

import mlflow
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from spsll.studies.common import CONF, compose_study
from spsll.studies.results.coercivity_plan import CoercivityPlan
from spsll.studies.results.plan import Plan
from spsll.studies.results.select_vae import choose
from spsll.studies.results.with_runs import resolve

#: the tiny chain file: 10 sweeps of 256 cells, two of them in the test split (rows 1 and 5 for dataset_seed 0)
HYSTERESIS = ["dataset.n_samples=10", "dataset.chunk_size=10", "dataset.split=[0.6,0.2,0.2]"]


@pytest.fixture(scope="session")
def coercivity_data(tmp_path_factory):
    """64 masks (microstructures_small) and 10 chains (hysteresis_small, ~15-35 s of sweeps), made through the
    generate command's own code; train.py accepts them with the same dataset overrides."""
    import torch

    from spsll.data.cli import run_generate

    d = tmp_path_factory.mktemp("coercivity_data")
    paths = {"microstructures": d / "micro.h5", "hysteresis": d / "hyst.h5"}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        for key, group, extra in (("microstructures", "microstructures_small", []),
                                  ("hysteresis", "hysteresis_small", HYSTERESIS)):
            run_generate(compose("generate", overrides=[f"dataset={group}", f"dataset.path={paths[key]}",
                                                        "progress=false", "figures=false", *extra]))
    torch.set_num_threads(threads)
    return paths


def _plan(*overrides, updates=()):
    """The study's plan and its coercivity jobs; ``updates``: (key, value) set on the config, where ``C<i>`` in a key
    stands for the index in ``entries`` of the i-th coercivity entry."""
    cfg = compose_study("results", list(overrides))
    part = [i for i, e in enumerate(cfg.entries) if e.get("task") == "coercivity"]
    for key, value in updates:
        for i, j in enumerate(part):
            key = key.replace(f"C{i}.", f"{j}.")
        OmegaConf.update(cfg, key, value, merge=False, force_add=True)
    plan = Plan(cfg, "sqlite:///x.db")
    return plan, {j.key: j for j in CoercivityPlan(plan).jobs()}


def test_plan_lists_the_coercivity_jobs_with_their_dependencies():
    plan, jobs = _plan()
    seeds = (0, 1, 2)
    # the VAE: one candidate per latent size (seed 0), the choice, the chosen size for the other seeds
    for k in (4, 8, 16):
        cand = jobs[f"train/mask_vae_latent{k}/seed0"]
        assert f"model.latent_dim={k}" in cand.argv and "seed=0" in cand.argv and "dataset=microstructures" in cand.argv
        assert "train/mask_vae_latent4/seed1" not in jobs
    select = jobs["train/mask_vae/seed0"]
    assert "spsll.studies.results.select_vae" in select.argv
    assert set(select.after) == {f"train/mask_vae_latent{k}/seed0" for k in (4, 8, 16)}
    for s in (1, 2):
        vae = jobs[f"train/mask_vae/seed{s}"]
        assert vae.after == ["train/mask_vae/seed0"] and f"seed={s}" in vae.argv
        assert any(a.startswith("model.latent_dim=") and a.endswith("train__mask_vae__seed0.json#latent_dim")
                   for a in vae.argv[:vae.argv.index("--")])
    # networks: every seed, each on its own seed's VAE (its run id read from that VAE's train marker)
    singles = [k for k in jobs if k.startswith("train/anchor_regressor_") and k.endswith("/seed0")]
    assert len(singles) == 7  # one per target; H_at_M_0 is H_c's definition, not trained twice
    for eid in ("anchor_regressor", "anchor_regressor_hc", "anchor_regressor_m02"):
        for s in seeds:
            job = jobs[f"train/{eid}/seed{s}"]
            assert set(job.after) == {"generate/hysteresis", f"train/mask_vae/seed{s}"}
            head = job.argv[:job.argv.index("--")]
            assert head[-1] == f"model.encoder={plan.marker(f'train/mask_vae/seed{s}')}"
            assert f"seed={s}" in job.argv and "early_stopping=val_loss" in job.argv
            assert jobs[f"eval/{eid}/seed{s}"].after == [f"train/{eid}/seed{s}"]
    assert "'model.targets=[coercivity_HK]'" not in jobs["train/anchor_regressor_hc/seed0"].argv  # one argv item
    assert "model.targets=[coercivity_HK]" in jobs["train/anchor_regressor_hc/seed0"].argv
    cnn = jobs["train/anchor_cnn/seed2"]
    assert cnn.after == ["generate/hysteresis"] and cnn.argv[0] == "train.py"
    # baselines once; on the latent code, the seed-0 VAE
    for eid in ("anchor_ridge_features", "anchor_gp_features", "anchor_ridge_latent", "anchor_gp_latent"):
        assert f"train/{eid}/seed0" in jobs and f"train/{eid}/seed1" not in jobs
    assert "train/mask_vae/seed0" in jobs["train/anchor_gp_latent/seed0"].after
    assert jobs["train/anchor_gp_features/seed0"].after == ["generate/hysteresis"]
    assert {f"eval/mask_vae/seed{s}" for s in seeds} <= set(jobs)
    assert not any(k.startswith("eval/mask_vae_latent") for k in jobs)  # candidates: validation only
    morph = jobs["morphing/seed0"]
    assert set(morph.after) == {"train/mask_vae/seed0", "train/anchor_regressor/seed0",
                                "train/anchor_gp_features/seed0"}
    assert "spsll.studies.morphing" in morph.argv and "out=docs/coercivity-morphing.md" in morph.argv
    # every dependency is a job of the part
    assert all(a in jobs for j in jobs.values() for a in j.after)


def test_only_selects_the_part_or_an_entry_with_what_it_needs():
    full, _ = _plan()
    chain_keys = {j.key for j in full.all_jobs()}
    plan, jobs = _plan("only=[coercivity]")
    assert plan.entries == [] and plan.all_jobs() == []  # no chain or film job
    assert len(jobs) == 74 and not set(jobs) & chain_keys
    _, jobs = _plan("only=[anchor_cnn]")
    cnn = {f"{w}/anchor_cnn/seed{s}" for w in ("train", "eval") for s in (0, 1, 2)}
    assert set(jobs) == {"generate/hysteresis", *cnn}
    _, jobs = _plan("only=[anchor_regressor_hc]")
    assert {"train/mask_vae/seed1", "train/mask_vae_latent16/seed0", "generate/microstructures"} <= set(jobs)
    assert "morphing/seed0" not in jobs and "train/anchor_regressor/seed0" not in jobs
    _, jobs = _plan("only=[inverse_cnn]")
    assert jobs == {}


def test_the_part_leaves_the_chain_and_film_jobs_as_they_were():
    """The chain and film jobs are those of the config without the part; a study whose entries hold no coercivity
    entry (a test's own entries) has no coercivity job, whatever its `coercivity:` settings."""
    cfg = compose_study("results")
    without = OmegaConf.create(OmegaConf.to_container(cfg))
    without.entries = [e for e in cfg.entries if e.task != "coercivity"]
    del without["coercivity"]
    same = {j.key: (j.argv, j.after) for j in Plan(without, "sqlite:///x.db").all_jobs()}
    assert same == {j.key: (j.argv, j.after) for j in Plan(cfg, "sqlite:///x.db").all_jobs()}
    assert CoercivityPlan(Plan(without, "sqlite:///x.db")).jobs() == []
    chain_only = OmegaConf.create(OmegaConf.to_container(cfg))
    chain_only.entries = without.entries
    assert CoercivityPlan(Plan(chain_only, "sqlite:///x.db")).jobs() == []
    no_settings = OmegaConf.create(OmegaConf.to_container(cfg))
    del no_settings["coercivity"]
    with pytest.raises(ValueError, match="need the study's coercivity: settings"):
        Plan(no_settings, "sqlite:///x.db")


@pytest.mark.parametrize("updates, match", [
    ([("seeds", [1, 2])], "seeds must include 0"),
    ([("coercivity.vae.latent_dims", [4, 4])], "distinct integers"),
    ([("coercivity.vae.tolerance", 1.5)], "tolerance must be a number in"),
    ([("coercivity.vae.train", ["model=mask_vae", "model.latent_dim=3"])], "set by the study"),
    ([("entries.C0.train", ["model=anchor_regressor", "model.encoder=abc"])], "set by the study"),
    ([("entries.C0.train", ["dataset=hysteresis_small"])], "set by the study"),
    ([("entries.C0.encoder", "seed1")], "encoder must be null, seed or seed0"),
    ([("entries.C1.id", "anchor_regressor")], "ids must be unique"),
    ([("entries.C1.id", "mask_vae")], "must be a plain name other than mask_vae"),
    ([("entries.C0.id", "inverse_cnn")], "ids must be unique"),
    ([("entries.C0.epochs", 3)], "unknown keys"),
    ([("coercivity.morphing.regressor", "nope")], "is no coercivity entry"),
    ([("coercivity.data", {"hysteresis": {"group": "hysteresis", "path": "h.h5"}})], "must name"),
    ([("only", ["coercivity_nope"])], "unknown entry ids"),
])
def test_coercivity_settings_are_checked(updates, match):
    with pytest.raises(ValueError, match=match):
        _plan(updates=updates)


def test_the_latent_size_choice_prefers_a_short_code_within_the_tolerance():
    scores = {4: 0.2500, 8: 0.2450, 16: 0.2440}
    assert choose(scores, 0.0) == 16
    assert choose(scores, 0.02) == 8          # 0.2450 <= 1.02 x 0.2440; 0.2500 is not
    assert choose(scores, 0.05) == 4
    with pytest.raises(ValueError, match="no candidate"):
        choose({}, 0.0)


def test_with_runs_reads_the_markers(tmp_path):
    marker = tmp_path / "m.json"
    marker.write_text(json.dumps({"run_id": "abc", "latent_dim": 8}))
    assert resolve([f"model.encoder={marker}", f"model.latent_dim={marker}#latent_dim"]) == [
        "model.encoder=abc", "model.latent_dim=8"]
    with pytest.raises(SystemExit, match="holds no 'size'"):
        resolve([f"x={marker}#size"])


def _part_results():
    a = {"mean": 0.05, "std": 0.01, "n": 3}
    one = {"mean": 0.02, "std": 0.0, "n": 1}
    results = {
        "mask_vae_latent4": {"label": "c4", "task": "coercivity", "runs": [{"seed": 0, "run_id": "r4"}],
                             "metrics": {"val/bce_per_cell": {"mean": 0.25, "n": 1},
                                         "val/best_step": {"mean": 9, "n": 1}}},
        "mask_vae_latent8": {"label": "c8", "task": "coercivity", "runs": [{"seed": 0, "run_id": "r8"}],
                             "metrics": {"val/bce_per_cell": {"mean": 0.24, "n": 1}}},
        "mask_vae": {"label": "vae", "task": "coercivity", "runs": [{"seed": 0, "run_id": "r8"}] * 3,
                     "metrics": {"test/cell_error_rate": {"mean": 0.1, "std": 0.002, "n": 3}}},
        "reg": {"label": "multi", "column": "multi-target", "task": "coercivity", "runs": [{}] * 3, "encoder": "seed",
                "metrics": {"test/mae_coercivity_HK": a, "test/mae_M_at_H_0.2_HK": a}},
        "hc": {"label": "single H_c", "column": "single", "task": "coercivity", "runs": [{}] * 3,
               "metrics": {"test/mae_coercivity_HK": {"mean": 0.04, "std": 0.005, "n": 3}}},
        "m02": {"label": "single M", "column": "single", "task": "coercivity", "runs": [{}] * 3,
                "metrics": {"test/mae_M_at_H_0.2_HK": {"mean": 0.03, "std": 0.005, "n": 3}}},
        "gp": {"label": "GP", "column": "GP, features", "task": "coercivity", "runs": [{}], "encoder": None,
               "metrics": {"test/mae_coercivity_HK": one}},
    }
    part = {"entries": ["reg", "hc", "m02", "gp"], "vae_candidates": ["mask_vae_latent4", "mask_vae_latent8"],
            "latent_dims": [4, 8], "tolerance": 0.02,
            "selection": {"chosen": {"latent_dim": 8, "run_id": "r8"}},
            "data": {"hysteresis": {"n_samples": 512, "n_cells": 256, "n_train": 410, "n_val": 51, "n_test": 51,
                                    "n_test_converged": 49, "reading_mae_coercivity_HK": 0.56,
                                    "test_coercivity_HK_mean": 0.44},
                     "microstructures": {"n_samples": 50000, "n_train": 40000, "n_val": 5000, "n_test": 5000}},
            "morphing": None}
    return results, part


def test_the_section_shows_every_model_per_target_beside_the_baselines(tmp_path):
    from spsll.studies.results.coercivity_report import coercivity_section, target_table

    results, part = _part_results()
    text = coercivity_section(results, part, tmp_path / "RESULTS.md")
    assert "## Coercivity" in text and "**49 of the 51 test chains converged**" in text
    assert "0.003–0.025" in text and "off by 0.56 H_K" in text and "H_c = H_K" in text
    assert "| **8** (chosen) |" in text and "latent size 8" in text
    assert "cells wrong 0.1 ± 0.002;" in text and "(mean ± std over 3 seeds)" in text and "Not run yet" in text
    lines = target_table(results, part).splitlines()
    assert lines[0] == "| target | unit | multi-target | single | GP, features |"
    hc = next(line for line in lines if "`coercivity_HK`" in line)
    assert hc == "| H_c (`coercivity_HK`) | H_K | 0.05 ± 0.01 | 0.04 ± 0.005 | 0.02 |"
    m02 = next(line for line in lines if "`M_at_H_0.2_HK`" in line)
    assert "| Ms | 0.05 ± 0.01 | 0.03 ± 0.005 | – |" in m02
    assert coercivity_section(results, None, tmp_path / "RESULTS.md") == ""

    row = {"unit": "H_K", "simulated_range": 0.75, "test_mae": 0.08, "regressor": {"mae": 0.048, "r": 0.99},
           "gp": {"mae": 0.023, "r": 1.0}}
    part["morphing"] = {"report": str(tmp_path / "docs" / "coercivity-morphing.md"), "regressor": "reg", "gp": "gp",
                        "summary": {"pair": [165, 53], "n_steps": 9, "n_converged": 9, "endpoint_reproduction": 1e-9,
                                    "targets": {"coercivity_HK": row}}}
    text = coercivity_section(results, part, tmp_path / "RESULTS.md")
    assert "[the morphing report](docs/coercivity-morphing.md)" in text and "and the `gp` (a Gaussian" in text
    assert "| `coercivity_HK` | H_K | 0.75 | 0.048 | 0.99 | 0.023 |" in text


@pytest.mark.slow
def test_coercivity_part_end_to_end(tmp_path, coercivity_data):
    """One seed, two candidate latent sizes, the regressor on the chosen VAE, both evaluated, and the morphing
    (2 steps): markers, results.json and the section. Nine processes; the plan test covers the other entries."""
    from spsll.studies.results.study import run_study

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = compose_study("results", [
        f"work_dir={tmp_path / 'work'}", f"out={tmp_path / 'RESULTS.md'}", f"json={tmp_path / 'results.json'}",
        f"tracking_uri={uri}", "seeds=[0]", "jobs=2", "only=[coercivity]",
        "coercivity.data.microstructures.group=microstructures_small",
        f"coercivity.data.microstructures.path={coercivity_data['microstructures']}",
        "coercivity.data.hysteresis.group=hysteresis_small",
        f"coercivity.data.hysteresis.path={coercivity_data['hysteresis']}",
        "coercivity.vae.latent_dims=[2,4]",
        f"coercivity.morphing.out={tmp_path / 'morphing.md'}"])
    OmegaConf.update(cfg, "coercivity.data.hysteresis.settings", HYSTERESIS, force_add=True)
    OmegaConf.update(cfg, "coercivity.vae.train", ["model=mask_vae", "trainer.max_epochs=1", "data.batch_size=16",
                                                   "logger.register_model=false"])
    net = ["trainer.max_epochs=2", "data.batch_size=4", "logger.register_model=false"]
    OmegaConf.update(cfg, "entries", [  # no chain entry: only=[coercivity] would leave them out too
        {"id": "anchor_regressor", "task": "coercivity", "label": "multi", "column": "multi-target",
         "encoder": "seed", "train": ["model=anchor_regressor", *net]}])
    OmegaConf.update(cfg, "coercivity.morphing", {"regressor": "anchor_regressor", "gp": None,
                                                  "out": str(tmp_path / "morphing.md"),
                                                  "settings": ["pair=[1,5]", "n_steps=2"]})
    lines = []
    run_study(cfg, command="test", echo=lines.append)

    data = json.loads((tmp_path / "results.json").read_text())
    part, results = data["coercivity"], data["results"]
    chosen = part["selection"]["chosen"]
    assert chosen["latent_dim"] in (2, 4) and set(part["selection"]["candidates"]) == {"2", "4"}
    cand = results[f"mask_vae_latent{chosen['latent_dim']}"]
    assert results["mask_vae"]["runs"] == [{"seed": 0, "run_id": cand["runs"][0]["run_id"]}]  # not trained twice
    assert results["mask_vae"]["metrics"]["test/cell_error_rate"]["n"] == 1
    assert "val/bce_per_cell" in cand["metrics"] and not any(k.startswith("test") for k in cand["metrics"])
    reg = results["anchor_regressor"]  # it read the seed-0 VAE, by the run id in that VAE's marker
    assert mlflow.MlflowClient(uri).get_run(reg["runs"][0]["run_id"]).data.params["model.encoder"] == chosen["run_id"]
    assert reg["metrics"]["test/mae_coercivity_HK"]["n"] == 1 and "val/mae_coercivity_HK" in reg["metrics"]
    assert part["data"]["hysteresis"]["n_test"] == 2 and part["morphing"]["summary"]["n_steps"] == 2
    markers = {p.name for p in (tmp_path / "work" / "markers").iterdir()}
    assert {"train__mask_vae__seed0.json", "morphing__seed0.json", "eval__anchor_regressor__seed0.json"} <= markers
    report = (tmp_path / "RESULTS.md").read_text()
    assert "## Coercivity" in report and f"Chosen: latent size {chosen['latent_dim']}" in report
    assert "(morphing.md)" in report and chosen["run_id"] in report
    assert (tmp_path / "morphing" / "path.png").is_file()

    lines.clear()
    run_study(cfg, command="test", echo=lines.append)
    assert any("already done; 0 to run" in m for m in lines), lines
