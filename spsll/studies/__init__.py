"""Studies: one-off computations over the physics that end in a report, each a Hydra entry point.

    python -m spsll.studies.validation        # docs/validation.md: the readings of Eq. 4 vs explicit vacancies
    python -m spsll.studies.identifiability   # docs/identifiability.md: what the observables determine
    python -m spsll.studies.demo              # outputs/demo/: the paper's Fig. 1 b–f

Each study has its config under ``conf/studies/`` (composing the ``material``, ``solver`` and
``dataset`` groups where it uses them), computes its numbers, writes them as JSON next to its report,
and renders the report from a short template in ``spsll/studies/templates/``
(:mod:`spsll.studies.rendering`), so that a report can be re-rendered from its JSON alone.
"""
