"""A user's measurement onto the model's grid (bad input): units, zone, grids, NaNs, walls."""

import math

import numpy as np
import pytest

from spsll.prediction.observed import InputError, dispersion_on_grid, frequencies_in_thz, read_table, wall_on_grid

A_NM = 0.339
N = 500
DK = 2 * math.pi / (N * A_NM)
GRID_K = -math.pi / A_NM + DK * np.arange(N)  # the datasets' ascending −π/a … π/a − Δk
GRID_X = (np.arange(N) + 0.5 - N / 2) * A_NM


def ideal_thz(k):
    return 0.2131 + 5.2366 * (1 - np.cos(k * A_NM))


def write(path, rows, header="a,b"):
    path.write_text(header + "\n" + "\n".join(",".join(str(v) for v in r) for r in rows) + "\n")
    return path


def test_exact_grid_passes_unchanged():
    f, notes = dispersion_on_grid(GRID_K, ideal_thz(GRID_K), GRID_K, A_NM)
    assert notes == [] and np.array_equal(f, ideal_thz(GRID_K))


def test_other_grid_half_zone_and_ghz_are_resampled_with_notes():
    """120 points on 0 ≤ k ≤ π/a, in GHz: converted, mirrored, resampled. Linear interpolation of
    the cosine branch on a step of π/(119a): error ≤ (Δk)²/8 max|f''| = (0.078)²/8·5.24·a² ≈ 5e-4 THz."""
    k = np.linspace(0, math.pi / A_NM, 120)
    f, notes = dispersion_on_grid(k, 1000 * ideal_thz(k), GRID_K, A_NM)
    assert any("GHz" in n for n in notes) and any("mirrored" in n for n in notes)
    assert any("resampled 239 points" in n for n in notes)  # 120 + 119 mirrored
    assert np.abs(f - ideal_thz(GRID_K)).max() < 5e-4


def test_units_and_zone_are_refused_with_the_reason():
    with pytest.raises(InputError, match="look like GHz: pass freq_unit=ghz"):
        frequencies_in_thz(np.array([10.0, 5000.0]), "thz")
    f, notes = frequencies_in_thz(np.array([2e12, 9e12]))
    assert np.allclose(f, [2, 9]) and "Hz" in notes[0]
    with pytest.raises(InputError, match="negative"):
        frequencies_in_thz(np.array([-1.0, 2.0]))
    with pytest.raises(InputError, match="outside the first Brillouin zone"):
        dispersion_on_grid(np.linspace(-12, 12, 100), ideal_thz(np.linspace(-12, 12, 100)), GRID_K, A_NM)
    k_m = GRID_K * 1e9  # rad/m
    with pytest.raises(InputError, match="rad/m"):
        dispersion_on_grid(k_m, ideal_thz(GRID_K), GRID_K, A_NM)
    k_part = np.linspace(-5, 5, 100)
    with pytest.raises(InputError, match="cannot be extrapolated"):
        dispersion_on_grid(k_part, ideal_thz(k_part), GRID_K, A_NM)
    with pytest.raises(InputError, match="more than once"):
        dispersion_on_grid(np.r_[GRID_K, GRID_K[:1]], ideal_thz(np.r_[GRID_K, GRID_K[:1]]), GRID_K, A_NM)


def test_read_table_refuses_nan_with_line_numbers(tmp_path):
    rows = [[k, ideal_thz(k)] for k in GRID_K[::10]]
    rows[3][1] = float("nan")
    rows[7][0] = float("inf")
    with pytest.raises(InputError, match=r"line\(s\) \[5, 9\]"):  # header is line 1
        read_table(write(tmp_path / "bad.csv", rows))
    with pytest.raises(InputError, match="at least 16"):
        read_table(write(tmp_path / "short.csv", [[0, 1]] * 5))
    with pytest.raises(InputError, match="no input file"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "ws.txt").write_text("\n".join(f"{k} {ideal_thz(k)}" for k in GRID_K[::10]))  # no header
    k, f, names = read_table(tmp_path / "ws.txt")
    assert names == [] and len(k) == 50 and np.allclose(f, ideal_thz(k))


def test_wall_is_oriented_centred_extended_and_resampled():
    """A Bloch wall going +1 → −1, centred at 2 nm, measured on ±30 nm: mirrored, shifted, its
    saturated domains extended to the ±84.7 nm window; linear interpolation on 0.1 nm steps of
    tanh(x/1.17 nm): error ≤ (0.1)²/8·max|f''| ≈ 1e-3·0.77 < 1e-3."""
    delta = 1.17
    x = np.linspace(-28, 32, 601)
    mz = -np.tanh((x - 2.0) / delta)
    out, notes = wall_on_grid(x, mz, GRID_X)
    assert any("mirrored" in n for n in notes) and any("centred" in n for n in notes)
    assert any("extended" in n for n in notes)
    assert np.abs(out - np.tanh(GRID_X / delta)).max() < 1e-3


def test_bad_walls_are_refused():
    x = np.linspace(-20, 20, 200)
    with pytest.raises(InputError, match="normalised"):
        wall_on_grid(x, 950e3 * np.tanh(x), GRID_X)  # A/m, not m_z
    with pytest.raises(InputError, match="no wall"):
        wall_on_grid(x, np.full_like(x, 0.9), GRID_X)
    with pytest.raises(InputError, match="one wall"):
        wall_on_grid(x, np.cos(x), GRID_X)
    with pytest.raises(InputError, match="not saturated"):
        wall_on_grid(x, np.tanh(x / 15), GRID_X)  # ±20 nm of a 15 nm wall: |m_z| = 0.87 at the ends
