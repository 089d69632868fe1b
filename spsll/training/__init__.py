"""What ``train.py`` does, in three parts: :mod:`.config_checks` (the composed config is checked and
turned into model arguments before any work), :mod:`.run` (data, model, MLflow run, Lightning fit)
and :mod:`.distributed` (data-parallel training with the numbers of one process).

Nothing is imported here, so that importing one part does not load the others.
"""
