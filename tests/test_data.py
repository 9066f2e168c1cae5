"""Data sources on small generated files (good, truncated, wrong magic, missing), splits, batches, augmentation."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from cnnc.errors import CnncError
from cnnc.runtime.batches import Batches, augment, parse_augment
from cnnc.runtime.data import CIFAR_RECORD, load_data, stratified_split


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">i4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def _write_idx(folder, n_train=20, n_test=10, gz=False):
    rng = np.random.default_rng(0)
    files = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 6, 6)),
        "train-labels-idx1-ubyte": np.arange(n_train) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 6, 6)),
        "t10k-labels-idx1-ubyte": np.arange(n_test) % 10,
    }
    for name, array in files.items():
        data = _idx_bytes(array)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return files


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_loads_scaled_images_and_test_split(tmp_path, gz):
    files = _write_idx(tmp_path, gz=gz)
    data = load_data(f"idx:{tmp_path}", (1, 6, 6), val_split=0.0)
    assert data.x_train.shape == (20, 1, 6, 6) and data.x_test.shape == (10, 1, 6, 6)
    np.testing.assert_allclose(data.x_test[:, 0] * 255, files["t10k-images-idx3-ubyte"], atol=1e-4)
    assert data.y_test.tolist() == files["t10k-labels-idx1-ubyte"].tolist()


def test_idx_wrong_magic_is_one_clear_error(tmp_path):
    _write_idx(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x09\x01" + path.read_bytes()[4:])
    with pytest.raises(CnncError, match="train-labels-idx1-ubyte: not an IDX file of 1-d unsigned bytes"):
        load_data(f"idx:{tmp_path}")


def test_idx_truncated_file_is_one_clear_error(tmp_path):
    _write_idx(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(
        CnncError, match=r"t10k-images-idx3-ubyte: truncated or padded: 10x6x6 needs 360 bytes of data, found 353"
    ):
        load_data(f"idx:{tmp_path}")


def test_idx_missing_file_and_corrupt_gzip(tmp_path):
    _write_idx(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(CnncError, match=r"no t10k-labels-idx1-ubyte \(or t10k-labels-idx1-ubyte.gz\)"):
        load_data(f"idx:{tmp_path}")
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b not gzip")
    with pytest.raises(CnncError, match="t10k-labels-idx1-ubyte.gz: cannot read"):
        load_data(f"idx:{tmp_path}")
    with pytest.raises(CnncError, match="no such data folder"):
        load_data(f"idx:{tmp_path / 'nowhere'}")


def _write_cifar(folder, per_batch=4):
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        records = rng.integers(0, 256, (per_batch, CIFAR_RECORD)).astype(np.uint8)
        records[:, 0] = np.arange(per_batch) % 10
        (folder / name).write_bytes(records.tobytes())


def test_cifar10_batches_load_as_3x32x32(tmp_path):
    _write_cifar(tmp_path)
    raw = np.frombuffer((tmp_path / "test_batch.bin").read_bytes(), np.uint8).reshape(-1, CIFAR_RECORD)
    data = load_data(f"cifar10:{tmp_path}", (3, 32, 32), val_split=0.0)
    assert data.x_train.shape == (20, 3, 32, 32) and data.x_test.shape == (4, 3, 32, 32)
    np.testing.assert_allclose(data.x_test[1, 2, 0, :3] * 255, raw[1, 1 + 2 * 1024 : 1 + 2 * 1024 + 3], atol=1e-4)


def test_cifar10_truncated_and_bad_label_and_missing(tmp_path):
    _write_cifar(tmp_path)
    batch = tmp_path / "data_batch_3.bin"
    batch.write_bytes(batch.read_bytes()[:-1])
    with pytest.raises(CnncError, match=r"data_batch_3.bin: not a CIFAR-10 batch: 12291 bytes is not a whole number"):
        load_data(f"cifar10:{tmp_path}")
    _write_cifar(tmp_path)
    records = bytearray(batch.read_bytes())
    records[0] = 12
    batch.write_bytes(bytes(records))
    with pytest.raises(CnncError, match="data_batch_3.bin: label 12 is not a CIFAR-10 class"):
        load_data(f"cifar10:{tmp_path}")
    _write_cifar(tmp_path)
    (tmp_path / "test_batch.bin").unlink()
    with pytest.raises(CnncError, match="no test_batch.bin"):
        load_data(f"cifar10:{tmp_path}")


def test_npz_with_and_without_test_arrays(tmp_path):
    rng = np.random.default_rng(2)
    x, y = rng.integers(0, 256, (50, 5, 5)).astype(np.uint8), np.arange(50) % 5
    np.savez(tmp_path / "a.npz", x=x, y=y)
    data = load_data(f"npz:{tmp_path / 'a.npz'}", (1, 5, 5), val_split=0.2)
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (30, 10, 10)
    assert data.x_train.max() <= 1.0
    np.savez(tmp_path / "b.npz", x=x[:, None].astype(np.float32), y=y, x_test=x[:3, None] / 1.0, y_test=y[:3])
    assert len(load_data(f"npz:{tmp_path / 'b.npz'}").x_test) == 3


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros((3, 1, 2, 2))}, "no array 'y'"),
        ({"x": np.zeros((3, 1, 2, 2)), "y": np.zeros(4, int)}, "are not N images and N labels"),
        ({"x": np.zeros((3, 1, 2, 2)), "y": np.zeros(3)}, "y must hold class indices"),
        ({"x": np.zeros((3, 1, 2, 2)), "y": np.zeros(3, int), "x_test": np.zeros((1, 1, 2, 2))}, "come together"),
    ],
)
def test_npz_malformed_arrays(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(CnncError, match=message):
        load_data(f"npz:{tmp_path / 'bad.npz'}")


def test_npz_not_a_zip_and_missing(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(CnncError, match="junk.npz: not a readable .npz file"):
        load_data(f"npz:{tmp_path / 'junk.npz'}")
    with pytest.raises(CnncError, match="none.npz: no such file"):
        load_data(f"npz:{tmp_path / 'none.npz'}")


def test_shape_mismatch_and_unknown_source():
    with pytest.raises(CnncError, match="data 'digits' has images of 1x8x8, the network takes 3x32x32"):
        load_data("digits", (3, 32, 32))
    with pytest.raises(CnncError, match="unknown data source 'mnist'"):
        load_data("mnist")


def test_digits_split_is_fixed_stratified_and_disjoint():
    a, b = load_data("digits", (1, 8, 8)), load_data("digits", (1, 8, 8))
    assert np.array_equal(a.x_test, b.x_test)
    assert len(a.x_train) + len(a.x_val) + len(a.x_test) == 1797
    assert np.all(np.bincount(a.y_test) >= 35)  # every class about 20% of its ~180
    kept, held = stratified_split(np.arange(100) % 4, 0.2, 0)
    assert len(np.intersect1d(kept, held)) == 0 and len(held) == 20


def test_batches_restore_replays_the_same_order_mid_epoch():
    batches = Batches(10, 3, np.random.default_rng(5))
    batches.start_epoch()
    first = batches.next()
    state = batches.state()
    rest = [batches.next() for _ in range(3)]
    assert batches.next() is None and len(rest[-1]) == 1
    again = Batches(10, 3, np.random.default_rng(99))
    again.restore(state)
    assert first is not None
    for expected in rest:
        assert np.array_equal(again.next(), expected)


def test_flip_flips_half_the_images_left_right():
    x = np.arange(2000 * 4, dtype=np.float32).reshape(2000, 1, 2, 2)
    out = augment(x, ("flip",), np.random.default_rng(0))
    flipped = np.all(out == x[..., ::-1], axis=(1, 2, 3))
    assert np.all(flipped | np.all(out == x, axis=(1, 2, 3)))
    assert abs(flipped.mean() - 0.5) < 0.05


def test_crop_shifts_by_at_most_the_padding_uniformly():
    x = np.zeros((4000, 1, 8, 8), np.float32)
    x[:, :, 3, 3] = 1  # a single lit pixel shows the shift
    out = augment(x, ("crop",), np.random.default_rng(1))
    rows, cols = np.nonzero(out[:, 0].reshape(4000, 64))[1] // 8, np.nonzero(out[:, 0].reshape(4000, 64))[1] % 8
    assert set(rows - 3) == {-1, 0, 1} and set(cols - 3) == {-1, 0, 1}
    assert abs(np.mean(rows == 3) - 1 / 3) < 0.04
    np.testing.assert_array_equal(out, augment(x, ("crop",), np.random.default_rng(1)))


def test_parse_augment():
    assert parse_augment("crop,flip") == ("crop", "flip") and parse_augment(None) == ()
    with pytest.raises(CnncError, match="unknown augmentation 'rotate'"):
        parse_augment("crop,rotate")
