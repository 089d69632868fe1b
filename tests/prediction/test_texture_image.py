"""A user's m_z image → the skyrmion models' crop: a drawn skyrmion keeps its radius through the crop, the
flip and the resampling; every kind of bad image is refused with the reason (spsll/prediction/texture_image.py)."""

import numpy as np
import pytest
import torch

from spsll.prediction.observed import InputError
from spsll.prediction.texture_image import read_image, texture_on_grid

CELL_NM = 0.4


def skyrmion_image(shape=(80, 100), radius_nm=4.0, wall_nm=1.0, centre_nm=(16.0, 22.0), cell_nm=CELL_NM):
    """m_z = tanh((r − R)/w) on rows y, columns x: −1 at the core, 0 at r = R, +1 far away."""
    y, x = (np.arange(n) * cell_nm + cell_nm / 2 for n in shape)
    r = np.hypot(x[None, :] - centre_nm[1], y[:, None] - centre_nm[0])
    return np.tanh((r - radius_nm) / wall_nm)


def test_a_drawn_skyrmion_is_cropped_around_its_core_with_its_radius():
    t = texture_on_grid(skyrmion_image(), CELL_NM, CELL_NM, 48)
    assert t.mz.shape == (48, 48) and t.mz.dtype == np.float32 and not t.flipped and t.notes == []
    assert t.radius_nm == pytest.approx(4.0, rel=0.02)  # the contour of a tanh wall, sampled on 0.4 nm cells
    core = np.unravel_index(np.argmin(t.mz), t.mz.shape)
    assert all(abs(c - 24) <= 1 for c in core) and t.mz[0, 0] > 0.99


def test_a_minus_z_background_is_flipped_with_the_field():
    t = texture_on_grid(-skyrmion_image(), CELL_NM, CELL_NM, 48)
    assert t.flipped and "flipped" in t.notes[0] and t.field_for_model(0.1) == -0.1
    assert t.radius_nm == pytest.approx(4.0, rel=0.02)


def test_another_cell_size_is_resampled_and_a_small_image_padded():
    coarse = skyrmion_image(shape=(40, 40), centre_nm=(10.0, 10.0), cell_nm=0.5)
    t = texture_on_grid(coarse, 0.5, CELL_NM, 64)
    assert any("resampled" in n for n in t.notes) and any("padded" in n for n in t.notes)
    assert t.radius_nm == pytest.approx(4.0, rel=0.03)  # bilinear resampling of 0.5 nm cells
    assert t.mz.shape == (64, 64)


@pytest.mark.parametrize(("make", "message"), [
    (lambda im: np.where(np.arange(im.size).reshape(im.shape) == 205, np.nan, im), r"NaN .*\(row 2, column 5\)"),
    (lambda im: 1.5 * im, "in \\[-1, 1\\]"),
    (lambda im: np.ones_like(im), "no texture"),
    (lambda im: np.minimum(im, skyrmion_image(centre_nm=(16.0, 34.0))), "2 separate textures"),
    (lambda im: skyrmion_image(centre_nm=(1.0, 20.0)), "touches the image border"),
    (lambda im: np.random.default_rng(0).uniform(-1, 1, im.shape), "no saturated background"),
])
def test_bad_images_are_refused_with_the_reason(make, message):
    with pytest.raises(InputError, match=message):
        texture_on_grid(make(skyrmion_image()), CELL_NM, CELL_NM, 48)


def test_cell_size_and_crop_are_checked():
    with pytest.raises(InputError, match="factor 3.00"):
        texture_on_grid(skyrmion_image(cell_nm=1.2, radius_nm=12, wall_nm=3, centre_nm=(48, 60)), 1.2, CELL_NM, 48)
    with pytest.raises(InputError, match="cell_nm must be a positive number"):
        texture_on_grid(skyrmion_image(), float("nan"), CELL_NM, 48)
    with pytest.raises(InputError, match="crop_cells must be an integer"):
        texture_on_grid(skyrmion_image(), CELL_NM, CELL_NM, 4)


def test_images_are_read_from_csv_and_npy(tmp_path):
    im = skyrmion_image(shape=(20, 24), centre_nm=(4.0, 5.0), radius_nm=1.2, wall_nm=0.3)
    np.savetxt(tmp_path / "a.csv", im, delimiter=",")
    np.save(tmp_path / "a.npy", im)
    np.testing.assert_allclose(read_image(tmp_path / "a.csv"), im, rtol=1e-12)
    np.testing.assert_array_equal(read_image(tmp_path / "a.npy"), im)
    (tmp_path / "ragged.csv").write_text("1,1,1,1,1,1,1,1\n1,1\n")
    (tmp_path / "header.csv").write_text("x,y,mz\n1,2,3\n")
    np.save(tmp_path / "cube.npy", np.zeros((8, 8, 8)))
    for name, message in (("ragged.csv", "different lengths"), ("header.csv", "not a number"),
                          ("cube.npy", "2D grid"), ("missing.csv", "no image file")):
        with pytest.raises(InputError, match=message):
            read_image(tmp_path / name)


@pytest.mark.parametrize("crop", [24, 25])
def test_the_crop_is_the_datasets_crop_about_the_same_core(crop):
    """The user's crop of a texture equals the dataset's (spsll/data/skyrmion.py: origin round(c − (C/2 − ½))) for a
    core off the grid's cell centres, even and odd C."""
    from spsll.data.skyrmion import crop_origins, periodic_crop
    from spsll.physics.measure.texture import core_centre

    im = skyrmion_image(shape=(60, 64), centre_nm=(11.3, 13.8), cell_nm=0.5, radius_nm=3.0)  # rows y, columns x
    t = texture_on_grid(im, 0.5, 0.5, crop)
    mz = np.clip(im.T, -1.0, 1.0)  # (x, y) as the dataset stores it
    core = np.array([core_centre(torch.from_numpy(mz))])
    expected = periodic_crop(mz[None], crop_origins(core, mz.shape[0], crop), crop)[0].astype(np.float32)
    np.testing.assert_array_equal(t.mz, expected)
