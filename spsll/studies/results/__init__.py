"""``python -m spsll.studies.results``: every number of RESULTS.md, made under docs/results-protocol.md.

:mod:`.plan` turns the study config into jobs (generate, train per seed, evaluate), :mod:`.coercivity_plan` those
of the coercivity part and :mod:`.textures_plan` those of the textures part (the skyrmion models), :mod:`.jobs` runs
them a few at a time as separate processes (resumable: a finished job leaves a marker), :mod:`.collect` reads the
runs' validation and test numbers back and aggregates them over seeds, :mod:`.report` renders RESULTS.md from the
JSON (entry point: :mod:`.study`).

Nothing is imported here: the small job wrappers (``evaluate_run``, ``with_runs``) start without torch.
"""
