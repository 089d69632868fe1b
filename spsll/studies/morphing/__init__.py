"""Latent morphing checked by physics (docs/coercivity-morphing.md, docs/coercivity.md#results).

``python -m spsll.studies.morphing vae_run=<mask_vae run> regressor_run=<anchor model run> [gp_run=<anchor_gp run>]``
(conf/studies/morphing.yaml): two test chains of the hysteresis file, a straight path between their latent means,
the decoded microstructures re-simulated with the dataset's own sweep and predicted by the regressor (and the
GP): does the model follow the physics between two real microstructures?

* :mod:`.runs`   the runs and the data file, and what is refused;
* :mod:`.path`   the latent path, its decoding, the batched re-simulation and the predictions;
* :mod:`.report` the summary along the path, the figures and the report; :mod:`.study` the entry point.
"""
