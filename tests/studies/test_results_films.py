"""The results study's films (2D): the film datasets' box, the plan's film jobs, the capped explicit-defect
re-simulation, the Films section of the report, and the chain numbers left exactly as they were."""

import copy
import json
import shutil

import h5py
import numpy as np
import pytest
import yaml
from omegaconf import OmegaConf

from spsll.studies.common import CONF, ROOT, compose_study
from spsll.studies.results.kinds import group_config
from spsll.studies.results.plan import Plan

FILM_KINDS = ("dispersion_2d", "dispersion_2d_fitted", "domain_wall_2d")


def _plan(overrides=()):
    return Plan(compose_study("results", list(overrides)), "sqlite:///x.db")


def _jobs(plan):
    return {j.key: j for j in plan.all_jobs()}


@pytest.mark.parametrize("group", ["dispersion_2d_b256", "domain_wall_2d_b256"])
def test_film_datasets_hold_the_mosaic_in_their_box(group):
    """A mosaic needs a box of at least 50 correlation lengths T = στ/(σ+τ) per side (docs/physics.md#mosaic);
    T grows with σ and τ, so the range's corner sets it. The simulated film is 256 × 256 cells (walls: the
    mirrored 2N × M)."""
    cfg = group_config(group)
    a_nm = yaml.safe_load((CONF / "material" / "fept.yaml").read_text())["lattice_constant_nm"]
    m = cfg["measurement"]
    nx = m["n_cells"] * (2 if cfg["kind"] == "domain_wall" else 1)
    assert (nx, m["n_rows"]) == (256, 256)
    s, t = cfg["sigma_nm"][1], cfg["tau_nm"][1]
    box_over_T = 256 * a_nm / (s * t / (s + t))
    assert 50.0 <= box_over_T < 53.0, box_over_T  # at the limit: the widest τ range this box allows
    if cfg["kind"] == "domain_wall":  # the cosine series keeps the chain dataset's resolution, 0.7 × 2N
        assert m["n_harmonics"] == round(0.7 * nx) and m["n_error_harmonics"] < m["n_harmonics"] < nx


def test_plan_lists_the_film_jobs():
    """Both readings' films are generated and trained on (networks per seed, the ridge once); the explicit
    ensembles are made once per dataset group, capped, with few realisations, and score both readings."""
    plan = _plan()
    jobs = _jobs(plan)
    for kind, solver in (("dispersion_2d", "spsll"), ("dispersion_2d_fitted", "spsll_fitted"),
                         ("domain_wall_2d", "spsll")):
        assert f"solver={solver}" in jobs[f"generate/{kind}"].argv
    cross = jobs["generate/dispersion_2d_rtn_ensemble"].argv
    assert {"max_samples=40", "chunk_size=4", "solver.realisations=3", "kind=dispersion",
            "source=data/dispersion_2d_b256.h5"} <= set(cross)
    assert {"max_samples=24", "chunk_size=4"} <= set(jobs["generate/domain_wall_2d_rtn_ensemble"].argv)
    assert "generate/dispersion_2d_fitted_rtn_ensemble" not in jobs  # shared: the same test points
    assert "generate/dispersion_2d_spsll_convolution" not in jobs  # the films' own solvers
    for s in (0, 1, 2):
        train = jobs[f"train/inverse_cnn_2d_fitted/seed{s}"]
        assert {"dataset=dispersion_2d_b256", "solver=spsll_fitted", f"seed={s}"} <= set(train.argv)
        ev = jobs[f"eval/inverse_cnn_2d_fitted/seed{s}_rtn_ensemble"]
        assert "test_data=data/dispersion_2d_rtn_ensemble_test.h5" in ev.argv
        assert "generate/dispersion_2d_rtn_ensemble" in ev.after
        assert "noise_ghz=[10,50]" in jobs[f"eval/inverse_cnn_2d_fitted/seed{s}"].argv
        assert "noise_mz=[0.01]" in jobs[f"eval/width_regressor_2d/seed{s}"].argv
    assert "train/ridge_inverse_dispersion_2d_fitted/seed0" in jobs
    assert "train/ridge_inverse_dispersion_2d_fitted/seed1" not in jobs
    for kind in FILM_KINDS:  # a network and its ridge baseline on every film kind
        models = {o for e in plan.entries if e.data == kind for o in e.train}
        assert "model=ridge" in models and any(o.startswith("experiment=") for o in models), kind

    # `only` by data kind: its entries, its files and the shared ensembles; the report still collects all
    sub = _plan(["only=[dispersion_2d_fitted]"])
    assert {e.id for e in sub.entries} == {"inverse_cnn_2d_fitted", "ridge_inverse_dispersion_2d_fitted"}
    assert {k for k in _jobs(sub) if k.startswith("generate/")} == {
        "generate/dispersion_2d", "generate/dispersion_2d_rtn_ensemble", "generate/dispersion_2d_fitted"}
    assert len(sub.all_entries) == len(plan.entries)


def test_film_additions_leave_the_chain_jobs_as_they_were():
    """The chain entries' jobs (keys, commands, dependencies, markers) do not change with the film kinds:
    the study's config without them plans exactly the default plan's chain jobs."""
    cfg = compose_study("results")
    chain = OmegaConf.create(OmegaConf.to_container(cfg))
    chain.entries = [e for e in cfg.entries if "data" not in e]
    chain.datasets = {k: v for k, v in cfg.datasets.items() if k in ("dispersion", "domain_wall")}
    del chain.cross_model["per_kind"]
    only_chain = {k: (j.argv, j.after, j.marker) for k, j in _jobs(Plan(chain, "sqlite:///x.db")).items()}
    full = {k: (j.argv, j.after, j.marker) for k, j in _jobs(_plan()).items()}
    assert only_chain and {k: full[k] for k in only_chain} == only_chain
    assert len(only_chain) == 98  # the jobs of the RESULTS.md the chain study rendered
    film_ids = {e.id for e in _plan().entries if e.data in FILM_KINDS}
    assert all(k.split("/")[1] in film_ids or k.split("/")[1].startswith(FILM_KINDS) for k in set(full) - set(
        only_chain))


def test_film_settings_are_checked():
    with pytest.raises(ValueError, match="reads domain_wall data"):
        cfg = compose_study("results")
        OmegaConf.update(cfg, "entries", [{"id": "x", "task": "inverse_domain_wall", "data": "dispersion_2d",
                                           "train": ["model=ridge"]}], force_add=True)
        Plan(cfg, "sqlite:///x.db")
    with pytest.raises(ValueError, match="is not in datasets"):
        cfg = compose_study("results")
        OmegaConf.update(cfg, "entries", [{"id": "x", "task": "inverse_dispersion", "data": "films",
                                           "train": ["model=ridge"]}], force_add=True)
        Plan(cfg, "sqlite:///x.db")
    with pytest.raises(ValueError, match="only kinds of one group"):
        _plan(["cross_model.per_kind.dispersion_2d_fitted.shared_with=domain_wall_2d"])
    with pytest.raises(ValueError, match="max_samples must be null or an integer >= 1"):
        _plan(["cross_model.per_kind.dispersion_2d.max_samples=0"])
    with pytest.raises(ValueError, match="does not re-simulate with"):
        _plan(["+cross_model.per_kind.dispersion_2d.settings.spsll_convolution.dtype=float32"])
    with pytest.raises(ValueError, match="and so does its solver"):
        _plan(["entries.0.train=['solver=psll']"])
    with pytest.raises(ValueError, match="unknown entry ids or data kinds"):
        _plan(["only=[films]"])


def _film_source(path, points):
    """A tiny film dispersion file through generate's own request (16 × 16 cells, every point a test point)."""
    from hydra import compose, initialize_config_dir

    from spsll.data.cli import build_request
    from spsll.data.generation import generate

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("generate", [
            "dataset=dispersion_2d_b256", f"dataset.path={path}", "dataset.sampling=explicit",
            f"dataset.points={points}", f"dataset.n_samples={len(points)}", f"dataset.chunk_size={len(points)}",
            "dataset.split=[0.0,0.0,1.0]", "dataset.measurement.n_cells=16", "dataset.measurement.n_rows=16"])
    return generate(build_request(cfg), resolved_yaml=OmegaConf.to_yaml(cfg), progress=False)


def test_cross_data_re_simulates_only_the_first_test_points(tmp_path):
    """max_samples=2 keeps the first two test points in file order, with the realisations asked for; at
    τ = 0 the explicit film has no vacancy, so the ensemble is the perfect film, as is spsll's (F = 1 there):
    their refined peaks agree to float32 round-off (the ensemble integrates the whole film, spsll its
    k_y = 0 line, the same arithmetic per row)."""
    from spsll.studies.results.cross_data import main

    points = [[10.0, 0.0], [20.0, 1.0], [30.0, 0.5]]
    src = _film_source(tmp_path / "film.h5", points)
    out = main(["kind=dispersion", "solver=rtn_ensemble", f"source={src}", f"out={tmp_path / 'rtn.h5'}",
                "max_samples=2", "solver.realisations=2", "chunk_size=1"])
    with h5py.File(out, "r") as f, h5py.File(src, "r") as g:
        got = np.stack([f["sigma_nm"][:], f["tau_nm"][:]], 1)
        np.testing.assert_allclose(got, points[:2])
        assert len(f["chunk_done"]) == 2  # one point per chunk: a stopped run resumes at the next point
        assert (f["split"][:] == 2).all() and f.attrs["n_rows"] == 16
        request = yaml.safe_load(f.attrs["request"])
        assert request["solver"]["name"] == "rtn_ensemble" and request["solver"]["realisations"] == 2
        # round-off only (bit-equal here): 0.1 MHz, far below float32-vs-float64 refined-peak differences (0.1 GHz)
        np.testing.assert_allclose(f["freq_refined_thz"][0], g["freq_refined_thz"][0], rtol=0, atol=1e-4)
        assert np.abs(f["freq_refined_thz"][1] - g["freq_refined_thz"][1]).max() > 0.1  # vacancies: not spsll
    with pytest.raises(ValueError, match="has no settings"):
        main(["kind=dispersion", "solver=rtn_ensemble", f"source={src}", f"out={tmp_path / 'x.h5'}",
              "solver.realisation=2"])
    with pytest.raises(ValueError, match="max_samples must be"):
        main(["kind=dispersion", "solver=rtn_ensemble", f"source={src}", f"out={tmp_path / 'x.h5'}", "max_samples=0"])
    with pytest.raises(ValueError, match="chunk_size must be"):
        main(["kind=dispersion", "solver=rtn_ensemble", f"source={src}", f"out={tmp_path / 'x.h5'}", "chunk_size=0"])


def _film_results():
    """Film entries as collect writes them: a seeded network (3 seeds) and its ridge on film dispersions."""
    def agg(*v):
        v = np.array(v, dtype=float)
        return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "n": len(v),
                "values": v.tolist()}
    info = {"group": "dispersion_2d_b256", "path": "data/dispersion_2d_b256.h5", "solver": "spsll",
            "kind": "dispersion", "n_rows": 256, "n_samples": 1000, "n_train": 800, "n_val": 100, "n_test": 100,
            "sigma_nm": [5.0, 50.0], "tau_nm": [0.0, 1.75], "n_cells": 256, "realisations": None,
            "box_cells": [256, 256], "box_nm": [86.784, 86.784],
            "cross": {"rtn_ensemble": {"shared_with": "dispersion_2d", "max_samples": 40, "n_samples": 40,
                                       "realisations": 3, "path": "data/dispersion_2d_rtn_ensemble_test.h5",
                                       "constant_answers": {
                                           "train_mean": {"sigma_nm": 9.5, "tau_nm": 0.5, "phi": 0.01, "T_nm": 0.4},
                                           "no_defects": {"tau_nm": 0.8, "phi": 0.02, "T_nm": 0.7}}}}}
    net = {f"{p}mae_{q}": agg(1.0 + i, 1.1 + i, 1.2 + i) for i, p in enumerate(
        ("test/", "test/noise10ghz_", "test_rtn_ensemble/")) for q in ("sigma_nm", "tau_nm", "phi", "T_nm")}
    ridge = {k: agg(v["mean"] * 2) for k, v in net.items()}
    runs = [{"seed": s, "run_id": f"film{s}"} for s in (0, 1, 2)]
    return {
        "inverse_cnn_2d": {"label": "film net", "task": "inverse_dispersion", "report": "test", "seeded": True,
                           "runs": runs, "metrics": net, "data": "dispersion_2d", "dataset": info},
        "ridge_inverse_dispersion_2d": {"label": "film ridge", "task": "inverse_dispersion", "report": "test",
                                        "seeded": False, "runs": runs[:1], "metrics": ridge, "data": "dispersion_2d",
                                        "dataset": info}}


def test_results_md_is_what_the_renderer_makes_of_results_json(tmp_path):
    """RESULTS.md re-renders byte for byte from the committed results.json (render_only on a copy): the
    film additions change nothing for results without film entries."""
    from spsll.studies.results.study import run_study

    shutil.copy(ROOT / "docs" / "results" / "results.json", tmp_path / "results.json")
    cfg = compose_study("results", ["render_only=true", f"json={tmp_path / 'results.json'}",
                                    f"out={tmp_path / 'RESULTS.md'}"])
    run_study(cfg, echo=lambda m: None)
    assert (tmp_path / "RESULTS.md").read_text() == (ROOT / "RESULTS.md").read_text()


def test_films_section_with_film_numbers(tmp_path):
    """Film entries get their own section (box, solver, ranges, split, the capped explicit-defect data,
    mean ± std over seeds, the ridge next to the network); the chain sections are unchanged by them."""
    from spsll.studies.results.report import render
    from spsll.studies.results.tables import is_film

    data = json.loads((ROOT / "docs" / "results" / "results.json").read_text())
    data["results"] = {k: e for k, e in data["results"].items()
                       if not is_film(e) and e["task"] not in ("coercivity", "textures")}
    data.pop("coercivity", None)  # the chains' sections alone
    data.pop("textures", None)
    chain = render(copy.deepcopy(data), tmp_path / "chain.md").read_text()
    data["results"].update(_film_results())
    text = render(data, tmp_path / "films.md").read_text()
    head, films = text.split("## Films (2D)")
    assert head == chain.split("## Runs")[0]  # every chain number where it was
    films, runs = films.split("## Runs")
    assert all(line in runs for line in chain.split("## Runs")[1].splitlines() if line.startswith("| "))
    assert "`film0`" in runs
    for s in ("dispersion_2d_b256 solver=spsll", "N × M = 256 × 256 cells, 86.8 × 86.8 nm", "σ 5–50 nm, τ 0–1.75 nm",
              "T ≤ 1.69 nm", "800 / 100 / 100", "first 40 of the 100 test points (capped by `max_samples: 40`)",
              "3 realisations each"):
        assert s in films, s
    rows = [line for line in films.splitlines() if line.startswith("| film")]
    assert len(rows) == 6 and len({r.count("|") for r in rows}) == 1  # 2 models × (noiseless, 10 GHz, rtn)
    assert rows[0].startswith("| film net | test split, spsll, noiseless | 1.1 ± 0.1 / ") and rows[0].endswith(" 3 |")
    assert rows[1].startswith("| film ridge | test split, spsll, noiseless | 2.2 / ")  # next to its network
    assert "10 GHz noise" in rows[2] and "explicit defects: rtn_ensemble, 40 points, R = 3" in rows[4]
    constant = [line for line in films.splitlines() if line.startswith("| constant")]
    assert constant == [  # only where recorded: here the explicit-defect points, after their models
        "| constant: the training split's mean (σ, τ) | explicit defects: rtn_ensemble, 40 points, R = 3 "
        "| 9.5 / 0.5 / 0.01 / 0.4 | – | – | – |",
        "| constant: no defects (τ = 0; σ not scored) | explicit defects: rtn_ensemble, 40 points, R = 3 "
        "| – / 0.8 / 0.02 / 0.7 | – | – | – |"]
    assert films.index(rows[5]) < films.index(constant[0])


def test_constant_answers_score_what_ignoring_the_data_scores(tmp_path):
    """The training mean and "no defects" answers, scored by hand on a file with a known split."""
    import h5py

    from spsll.studies.results.collect import _train_mean, constant_answers

    sigma = np.array([10.0, 30.0, 20.0, 40.0, 5.0])
    tau = np.array([1.0, 3.0, 2.0, 0.0, 1.0])
    split = np.array([0, 0, 1, 2, 2])
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f["sigma_nm"], f["tau_nm"], f["split"] = sigma, tau, split
    mean = _train_mean(tmp_path / "d.h5")
    np.testing.assert_allclose(mean, [20.0, 2.0])  # the train rows only, not validation or test
    got = constant_answers(tmp_path / "d.h5", mean)
    phi = sigma[3:] / (sigma[3:] + tau[3:])
    T = sigma[3:] * tau[3:] / (sigma[3:] + tau[3:])
    np.testing.assert_allclose(got["train_mean"]["sigma_nm"], np.mean([20.0, 15.0]))
    np.testing.assert_allclose(got["train_mean"]["tau_nm"], np.mean([2.0, 1.0]))
    np.testing.assert_allclose(got["train_mean"]["phi"], np.abs(20 / 22 - phi).mean(), rtol=1e-6)
    np.testing.assert_allclose(got["train_mean"]["T_nm"], np.abs(40 / 22 - T).mean(), rtol=1e-6)
    np.testing.assert_allclose(got["no_defects"]["tau_nm"], 0.5)
    np.testing.assert_allclose(got["no_defects"]["phi"], (1 - phi).mean(), rtol=1e-6)
    np.testing.assert_allclose(got["no_defects"]["T_nm"], T.mean(), rtol=1e-6)
    assert "sigma_nm" not in got["no_defects"]
    assert _train_mean(tmp_path / "missing.h5") is None


def test_provenance_names_the_earlier_invocation():
    from spsll.studies.results.report import provenance
    from spsll.studies.results.study import _reused

    assert provenance({"commit": "abc", "date": "2027-01-02"}) == "git abc, 2027-01-02"
    text = provenance({"commit": "abc", "date": "2027-01-02", "earlier": {"commit": "old", "date": "2026-12-01"}})
    assert text.endswith("earlier invocation finished: git old, 2026-12-01")
    results = {"a": {"runs": [{"seed": 0}]}, "b": {"runs": [{"seed": 0}, {"seed": 1}]}, "c": {"runs": []}}
    assert _reused(results, {"train/a/seed0": 3.0, "train/b/seed0": 1.0}) == ["b"]


@pytest.mark.slow
def test_results_study_on_tiny_films(tmp_path):
    """The film part end to end at toy size: a tiny network on film dispersions, a ridge on film dispersions of
    the fitted reading scored on the shared explicit-defect file of the spsll dispersions, a ridge on film walls;
    the capped cross data, its count in results.json and the Films section of the report."""
    from spsll.studies.results.study import run_study

    cfg = compose_study("results", [
        f"work_dir={tmp_path / 'work'}", f"out={tmp_path / 'RESULTS.md'}", f"json={tmp_path / 'results.json'}",
        f"tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}", "seeds=[0]", "jobs=2", "noise.dispersion_ghz=[10]",
        "only=[dispersion_2d,dispersion_2d_fitted,domain_wall_2d]"])
    OmegaConf.update(cfg, "cross_model.path", f"{tmp_path}/{{kind}}_{{solver}}_test.h5")
    disp = ["dataset.measurement.n_cells=32", "dataset.measurement.n_rows=32", "dataset.n_samples=30",
            "dataset.chunk_size=30"]
    # walls 64 cells apart along x (2N = 128): a tinier film lets the two walls of a vacancy film meet
    wall = ["dataset.measurement.n_cells=64", "dataset.measurement.n_rows=16", "dataset.measurement.n_harmonics=89",
            "dataset.measurement.n_error_harmonics=12", "dataset.n_samples=40", "dataset.chunk_size=40"]
    for key, solver, settings in (("dispersion_2d", "spsll", disp), ("dispersion_2d_fitted", "spsll_fitted", disp),
                                  ("domain_wall_2d", "spsll", wall)):
        group = "dispersion_2d_b256" if key.startswith("dispersion") else "domain_wall_2d_b256"
        OmegaConf.update(cfg, f"datasets.{key}", {"group": group, "path": f"{tmp_path}/{key}.h5", "solver": solver,
                                                 "settings": settings}, force_add=True)
    for key in ("dispersion_2d", "domain_wall_2d"):
        OmegaConf.update(cfg, f"cross_model.per_kind.{key}", {"solvers": ["rtn_ensemble"], "max_samples": 2,
                                                              "settings": {"rtn_ensemble": {"realisations": 2}}})
    OmegaConf.update(cfg, "entries", [
        {"id": "cnn_film", "task": "inverse_dispersion", "data": "dispersion_2d", "label": "tiny film net",
         "train": ["model=inverse_cnn", "trainer.max_epochs=1", "model.channels=[4,4,4,4]", "model.dense=[8]"]},
        {"id": "ridge_disp_fitted", "task": "inverse_dispersion", "data": "dispersion_2d_fitted",
         "label": "fitted dispersion ridge", "seeded": False, "train": ["model=ridge"]},
        {"id": "ridge_wall", "task": "inverse_domain_wall", "data": "domain_wall_2d",
         "label": "film wall ridge", "seeded": False, "train": ["model=ridge"]}], force_add=True)
    run_study(cfg, command="test", echo=lambda m: None)
    assert not (tmp_path / "dispersion_2d_fitted_rtn_ensemble_test.h5").exists()  # shared with dispersion_2d
    with h5py.File(tmp_path / "domain_wall_2d_rtn_ensemble_test.h5", "r") as f:
        assert len(f["split"]) == 2
    results = json.loads((tmp_path / "results.json").read_text())["results"]
    for eid in ("cnn_film", "ridge_disp_fitted", "ridge_wall"):
        m = results[eid]["metrics"]
        assert m["test/mae_phi"]["n"] == 1 and m["test_rtn_ensemble/mae_phi"]["n"] == 1, eid
        assert results[eid]["dataset"]["cross"]["rtn_ensemble"]["n_samples"] == 2
    assert results["ridge_disp_fitted"]["dataset"]["solver"] == "spsll_fitted"
    assert results["ridge_wall"]["dataset"]["box_cells"] == [128, 16]
    report = (tmp_path / "RESULTS.md").read_text()
    films = report.split("## Films (2D)")[1]
    assert "first 2 of the 3 test points" in films and "first 2 of the 4 test points" in films
    assert "tiny film net" in films and "fitted dispersion ridge" in films and "10 GHz noise" in films
    assert "`spsll_fitted` data (dispersion_2d_fitted)" in films and "film wall ridge" in films
    assert "explicit defects: rtn_ensemble, 2 points" in films
    assert "(no runs of this kind in the study yet)" in report.split("## Films (2D)")[0]  # no chain entry ran
