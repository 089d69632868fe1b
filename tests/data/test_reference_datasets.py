"""The same generation command gives the same sample arrays, for every solver and both kinds.

The arrays in ``tests/data/reference/`` were written by this module (``python -m
tests.data.test_reference_datasets --write``) from small explicit-point datasets and are committed,
with the generation requests those files store (``requests.json``): a refactor of the physics, the
solver table or the generation code must reproduce both.

Byte-identity is only meaningful with the same floating-point arithmetic: torch's CPU FFT
dispatches on the processor's vector instructions, so another CPU can differ in the last bit. The
reference therefore stores a fingerprint of that arithmetic (the bytes of a fixed FFT and a fixed
RK4 step); on a machine with the same fingerprint the arrays must be equal to the bit, elsewhere
equal to float round-off amplified by the integration (rtol 1e-9 in float64, 1e-4 in float32; the
arg-max bins, the split and the converged flags exactly).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from spsll.data.generation import generate
from spsll.data.hdf5 import AXES, SAMPLE_FIELDS
from tests.data.conftest import make_request

REFERENCE = Path(__file__).parent / "reference"
SOLVERS = ("psll", "spsll", "spsll_convolution", "rtn_ensemble")
POINTS = [[20.0, 5.0], [10.0, 0.0], [8.0, 12.0]]  # nm; τ = 0 is the perfect chain
MEASUREMENT = {
    "dispersion": {"n_cells": 64, "duration_ps": 2.0, "store_spectrum": True, "spectrum_max_thz": 4.0},
    "domain_wall": {"n_cells": 128, "n_harmonics": 200, "n_error_harmonics": 40},
}
EXACT = ("split", "converged", "freq_thz", "sigma_nm", "tau_nm")  # chosen bins, flags, inputs


def fingerprint() -> str:
    """Hash of the FFT and RK4 arithmetic that the datasets go through, on this machine."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 64, generator=g, dtype=torch.float64)
    parts = [torch.fft.rfft(x, dim=-1), torch.fft.fft(torch.fft.rfft(x.float(), dim=1), dim=2)]
    return hashlib.sha256(b"".join(p.numpy().tobytes() for p in parts)).hexdigest()[:16]


def build(kind: str, solver: str, folder: Path) -> tuple[dict[str, np.ndarray], str]:
    """The sample arrays of the small dataset, and its stored generation request."""
    extra = {"device": "cpu", **({"realisations": 4} if solver == "rtn_ensemble" else {})}
    req = make_request(kind, folder / f"{kind}_{solver}.h5", seed=0, solver=solver, sampling="explicit",
                       points=POINTS, chunk_size=2, measurement=MEASUREMENT[kind], solver_overrides=extra)
    path = generate(req, progress=False)
    names = list(SAMPLE_FIELDS[kind]) + list(AXES[kind]) + (["spectrum", "f_thz"] if kind == "dispersion" else [])
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in names}, f.attrs["request"]


def reference_file(kind: str, solver: str) -> Path:
    return REFERENCE / f"{kind}_{solver}.npz"


@pytest.mark.parametrize("kind", ["dispersion", "domain_wall"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_generation_reproduces_the_stored_arrays(kind, solver, tmp_path):
    ref = np.load(reference_file(kind, solver))
    same_arithmetic = str(ref["fingerprint"]) == fingerprint()
    new, request = build(kind, solver, tmp_path)
    # the request decides whether an existing file is refused, resumed or kept: it must not change either
    assert request == json.loads((REFERENCE / "requests.json").read_text())[f"{kind}_{solver}"]
    assert set(new) == set(ref.files) - {"fingerprint"}
    for name, value in new.items():
        want = ref[name]
        assert value.dtype == want.dtype and value.shape == want.shape, name
        if same_arithmetic or name in EXACT:
            assert value.tobytes() == want.tobytes(), f"{kind}/{solver}: {name} differs"
        else:
            rtol = 1e-4 if value.dtype == np.float32 else 1e-9
            np.testing.assert_allclose(value, want, rtol=rtol, atol=rtol * np.abs(want).max(), err_msg=name)


def write_references() -> None:
    import tempfile

    REFERENCE.mkdir(exist_ok=True)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in MEASUREMENT:
            for solver in SOLVERS:
                arrays, _ = build(kind, solver, Path(tmp))
                np.savez_compressed(reference_file(kind, solver), fingerprint=np.array(fingerprint()), **arrays)
                print("wrote", reference_file(kind, solver))


if __name__ == "__main__" and "--write" in sys.argv:
    write_references()
