"""Measurements on the model, written against the solver table (never a particular solver):
magnon dispersions from a pulse, relaxed domain walls and their widths, and the closed-form
small-amplitude dispersion of the k-diagonal solvers."""
