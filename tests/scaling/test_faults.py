"""Two real generator processes pointed at one output file: the second is refused, the file survives."""

import subprocess
import sys

import h5py
import numpy as np
import pytest

from spsll.data.hdf5 import partial_path
from tests.scaling.conftest import ROOT, wait_until


@pytest.mark.slow
def test_second_generator_on_the_same_file_is_refused(tmp_path):
    path = tmp_path / "shared.h5"
    cmd = [sys.executable, "generate.py", "dataset=domain_wall_small", f"dataset.path={path}",
           "dataset.n_samples=400", "dataset.chunk_size=8", "progress=false", "figures=false", "threads=1"]
    first = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    part = partial_path(path)
    try:
        def chunks_done():
            assert first.poll() is None, first.communicate()[1][-3000:]
            try:
                with h5py.File(part, "r", locking=False) as f:
                    return int(f["chunk_done"][:].sum())
            except (OSError, KeyError):
                return 0

        wait_until(lambda: chunks_done() >= 1, 300, "the first generator's first chunk", interval=0.1)
        second = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert second.returncode != 0
        assert f"another generator is writing {path}" in second.stderr, second.stderr[-3000:]
        assert first.poll() is None  # refused while the first one held the lock, not after it finished
        done_before = chunks_done()
    finally:
        first.kill()
        first.wait()
    # the first writer's file is intact: readable, its finished chunks hold relaxed walls, nothing reset
    with h5py.File(part, "r") as f:
        done = f["chunk_done"][:].astype(bool)
        assert not f.attrs["complete"] and done.sum() >= done_before >= 1
        rows = np.concatenate([np.arange(i * 8, (i + 1) * 8) for i in np.flatnonzero(done)])
        mz = f["mz"][:][rows]
        assert np.isfinite(mz).all() and np.abs(mz).max() <= 1 + 1e-9 and (mz.max(1) > 0.9).all()
    assert not path.exists()
