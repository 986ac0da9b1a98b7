"""Data loading: digits, CSV, .npz and image folders; one-line errors; seeded stratified splits; train-only scaling."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from studies.data import load_dataset, split_indices
from studies.errors import DataError


def write_csv(path, rows: list[str]) -> str:
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def three_class_csv(path) -> str:
    rows = ["f1,f2,label"] + [f"{i},{2 * i + c},{'abc'[c]}" for c in range(3) for i in range(10)]
    return write_csv(path, rows)


def one_line_error(exc: pytest.ExceptionInfo, *parts: str) -> None:
    message = str(exc.value)
    assert "\n" not in message
    for part in parts:
        assert part in message, message


def test_digits_is_the_offline_default():
    data = load_dataset({}, seed=0)
    sizes = [len(part[1]) for part in (data.train, data.val, data.test)]
    assert sum(sizes) == 1797
    assert data.n_classes == 10 and data.input_shape == (1, 8, 8)
    assert data.train[0].dtype.is_floating_point and data.train[1].dtype.is_signed


def test_csv_loads_features_and_named_labels(tmp_path):
    data = load_dataset({"source": three_class_csv(tmp_path / "d.csv")}, seed=1)
    assert data.classes == ("a", "b", "c")
    assert data.input_shape == (2,)
    assert sum(len(part[1]) for part in (data.train, data.val, data.test)) == 30


def test_standardization_uses_training_statistics_only(tmp_path):
    data = load_dataset({"source": three_class_csv(tmp_path / "d.csv")}, seed=1)
    x = data.train[0].numpy()
    assert np.allclose(x.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(x.std(axis=0), 1, atol=1e-4)
    held_out = np.concatenate([data.val[0].numpy(), data.test[0].numpy()])
    assert not np.allclose(held_out.mean(axis=0), 0, atol=1e-3)
    raw = load_dataset({"source": three_class_csv(tmp_path / "d.csv"), "standardize": False}, seed=1)
    assert raw.mean is None and raw.std is None
    assert data.mean.shape == data.std.shape == (2,)
    assert np.allclose(data.mean, raw.train[0].numpy().mean(axis=0), rtol=1e-5)
    assert np.allclose((raw.test[0].numpy() - data.mean) / data.std, data.test[0].numpy())


def test_csv_without_the_label_column_names_file_and_column(tmp_path):
    path = three_class_csv(tmp_path / "d.csv")
    with pytest.raises(DataError) as exc:
        load_dataset({"source": path, "label_column": "class"}, seed=0)
    one_line_error(exc, "d.csv", "'class'")


def test_csv_with_a_text_feature_names_column_and_row(tmp_path):
    path = write_csv(tmp_path / "d.csv", ["f1,f2,label", "1,2,a", "3,oops,b", "5,6,a"])
    with pytest.raises(DataError) as exc:
        load_dataset({"source": path}, seed=0)
    one_line_error(exc, "d.csv:3:", "'f2'", "oops")


def test_npz_loads_images_with_a_channel_axis(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    np.savez(path, x=rng.random((40, 4, 5)), y=np.repeat([0, 1], 20))
    data = load_dataset({"source": str(path)}, seed=0)
    assert data.input_shape == (1, 4, 5) and data.n_classes == 2


def test_npz_with_wrong_keys_names_what_it_found(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, features=np.zeros((4, 2)), labels=np.zeros(4))
    with pytest.raises(DataError) as exc:
        load_dataset({"source": str(path)}, seed=0)
    one_line_error(exc, "d.npz", "'x' and 'y'", "features, labels")


@pytest.mark.parametrize("content", [b"not a zip archive", b""], ids=["garbage", "empty"])
def test_unreadable_npz_is_a_data_error(tmp_path, content):
    path = tmp_path / "d.npz"
    path.write_bytes(content)
    with pytest.raises(DataError) as exc:
        load_dataset({"source": str(path)}, seed=0)
    one_line_error(exc, "d.npz")


def test_npz_with_mismatched_label_count(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((6, 2)), y=np.zeros(5))
    with pytest.raises(DataError) as exc:
        load_dataset({"source": str(path)}, seed=0)
    one_line_error(exc, "d.npz", "'y'")


def write_images(folder, sizes: dict[str, list[tuple[int, int]]], mode: str = "L") -> None:
    for label, shapes in sizes.items():
        (folder / label).mkdir(parents=True)
        for i, (width, height) in enumerate(shapes):
            value = 40 * i if mode == "L" else (40 * i, 0, 255)
            Image.new(mode, (width, height), value).save(folder / label / f"{i}.png")


def test_image_folder_gives_one_class_per_subfolder(tmp_path):
    write_images(tmp_path / "img", {"cat": [(5, 3)] * 6, "dog": [(5, 3)] * 6})
    data = load_dataset({"source": str(tmp_path / "img"), "standardize": False}, seed=0)
    assert data.classes == ("cat", "dog")
    assert data.input_shape == (1, 3, 5)
    pixels = np.unique(np.concatenate([part[0].numpy().ravel() for part in (data.train, data.val, data.test)]))
    assert np.allclose(pixels, np.arange(6) * 40 / 255)


def test_color_images_have_three_channels(tmp_path):
    write_images(tmp_path / "img", {"a": [(4, 4)] * 5, "b": [(4, 4)] * 5}, mode="RGB")
    assert load_dataset({"source": str(tmp_path / "img")}, seed=0).input_shape == (3, 4, 4)


def test_images_of_another_size_are_named_unless_resized(tmp_path):
    write_images(tmp_path / "img", {"a": [(4, 4)] * 5, "b": [(4, 4)] * 4 + [(6, 4)]})
    with pytest.raises(DataError) as exc:
        load_dataset({"source": str(tmp_path / "img")}, seed=0)
    one_line_error(exc, "4.png", "6x4", "image_size")
    data = load_dataset({"source": str(tmp_path / "img"), "image_size": [2, 3]}, seed=0)
    assert data.input_shape == (1, 2, 3)


def test_a_broken_image_is_named(tmp_path):
    write_images(tmp_path / "img", {"a": [(4, 4)] * 5, "b": [(4, 4)] * 5})
    (tmp_path / "img" / "b" / "broken.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(DataError) as exc:
        load_dataset({"source": str(tmp_path / "img")}, seed=0)
    one_line_error(exc, "broken.png")


def test_folder_without_class_subfolders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as exc:
        load_dataset({"source": str(tmp_path / "empty")}, seed=0)
    one_line_error(exc, "empty", "subfolders")


@pytest.mark.parametrize("config, key", [
    ({"path": "x.csv"}, "data.path"),
    ({"val_fraction": 0.6, "test_fraction": 0.5}, "data.val_fraction"),
    ({"test_fraction": 1.5}, "data.test_fraction"),
    ({"source": "missing.csv"}, "missing.csv"),
])
def test_bad_settings_name_the_key(config, key):
    with pytest.raises(DataError) as exc:
        load_dataset(config, seed=0)
    one_line_error(exc, key)


def test_same_seed_same_split_other_seed_other_split():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    first, again, other = (split_indices(y, 0.2, 0.2, seed) for seed in (3, 3, 4))
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(first[2], other[2])


def test_split_is_a_stratified_partition():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    train, val, test = split_indices(y, 0.2, 0.2, seed=0)
    assert np.array_equal(np.sort(np.concatenate([train, val, test])), np.arange(100))
    assert np.bincount(y[test]).tolist() == [10, 6, 4]
    assert np.bincount(y[val]).tolist() == [10, 6, 4]
    assert np.bincount(y[train]).tolist() == [30, 18, 12]


def test_a_class_too_small_to_stratify(tmp_path):
    path = write_csv(tmp_path / "d.csv", ["f,label"] + [f"{i},a" for i in range(10)] + ["1,b"])
    with pytest.raises(DataError) as exc:
        load_dataset({"source": path}, seed=0)
    one_line_error(exc, "d.csv", "stratified")


def test_a_single_array_file_is_not_an_archive(tmp_path):
    path = tmp_path / "d.npz"
    with open(path, "wb") as handle:
        np.save(handle, np.zeros((4, 2)))
    with pytest.raises(DataError) as exc:
        load_dataset({"source": str(path)}, seed=0)
    one_line_error(exc, "d.npz", "single array")


def pattern_images(n: int, height: int, width: int, channels: int) -> np.ndarray:
    """Channels-last images whose every pixel says where it is: channel * 100 + row * 10 + column."""
    c, h, w = np.meshgrid(np.arange(channels), np.arange(height), np.arange(width), indexing="ij")
    return np.broadcast_to((c * 100 + h * 10 + w).transpose(1, 2, 0), (n, height, width, channels)).astype(np.uint8)


def test_channels_last_npz_is_detected_and_transposed(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=pattern_images(20, 6, 5, 3), y=np.repeat([0, 1], 10))
    data = load_dataset({"source": str(path), "standardize": False}, seed=0)
    assert data.input_shape == (3, 6, 5)
    c, h, w = np.meshgrid(np.arange(3), np.arange(6), np.arange(5), indexing="ij")
    for part in (data.train, data.val, data.test):
        assert np.array_equal(part[0].numpy(), np.broadcast_to(c * 100 + h * 10 + w, (len(part[0]), 3, 6, 5)))


def test_an_ambiguous_layout_is_named_and_can_be_set(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=pattern_images(20, 4, 4, 4), y=np.repeat([0, 1], 10))
    with pytest.raises(DataError) as exc:
        load_dataset({"source": str(path)}, seed=0)
    one_line_error(exc, "d.npz", "(20, 4, 4, 4)", "data.layout", "nchw or nhwc")
    channels_last = load_dataset({"source": str(path), "layout": "nhwc", "standardize": False}, seed=0)
    assert channels_last.train[0][0, 1].max() == 100 + 33  # channel 1 holds 100 + row * 10 + column
    np.savez(path, x=np.zeros((20, 3)), y=np.repeat([0, 1], 10))
    with pytest.raises(DataError) as exc:
        load_dataset({"source": str(path), "layout": "nchw"}, seed=0)
    one_line_error(exc, "data.layout 'nchw' is for 4-D image arrays", "(20, 3)")


@pytest.mark.parametrize("kind", ["npz", "csv"])
def test_loading_holds_the_data_about_once(tmp_path, monkeypatch, kind):
    """Peak traced memory of loading, split and standardization stays under 1.5x the float32 data (the chunk
    is made small, so that the test's data is many chunks)."""
    import tracemalloc

    for module in ("studies.data", "studies.sources"):
        monkeypatch.setattr(f"{module}.CHUNK_BYTES", 1 << 17)
    rng = np.random.default_rng(0)
    if kind == "npz":
        x = rng.random((1000, 16, 16, 3), dtype=np.float32)
        path = tmp_path / "d.npz"
        np.savez(path, x=x, y=np.repeat(np.arange(10), 100))
    else:
        x = rng.random((20000, 60), dtype=np.float32).round(3)
        path = tmp_path / "d.csv"
        np.savetxt(path, np.column_stack([x, np.repeat(np.arange(10), 2000)]), fmt="%g", delimiter=",",
                   header=",".join([*(f"f{i}" for i in range(60)), "label"]), comments="")
    size, expected = x.nbytes, np.sort(x.reshape(len(x), -1).sum(axis=1))
    del x
    tracemalloc.start()
    data = load_dataset({"source": str(path), "standardize": kind == "npz"}, seed=0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1.5 * size, f"peak {peak / size:.2f}x the data"
    if kind == "csv":  # parsed as float32: the very values written
        rows = np.concatenate([part[0].numpy() for part in (data.train, data.val, data.test)])
        assert np.allclose(np.sort(rows.sum(axis=1)), expected, rtol=1e-5)


def test_images_are_standardized_per_channel(tmp_path):
    """One affine map per channel: the same raw value gives the same input wherever it is. Per pixel, a pixel
    that is almost always blank would map ink there to a value in the tens or hundreds, which would set the
    first layer's input quantization range and round every other pixel to zero."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (200, 3, 6, 6)).astype(np.float32) * np.array([1, 10, 100], np.float32)[:, None, None]
    x[:, :, 0, 0] = x[:, :, 1, 1] = 0
    inked = [7, 8, 9]
    x[inked, :, 0, 0] = 1  # a few images with ink in the corner
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(200) % 4)
    data = load_dataset({"source": str(tmp_path / "d.npz"), "layout": "nchw"}, 0)
    train = data.train[0].numpy()
    assert np.allclose(train.mean(axis=(0, 2, 3)), 0, atol=1e-4)
    assert np.allclose(train.std(axis=(0, 2, 3)), 1, atol=1e-3)
    every = np.concatenate([train, data.val[0].numpy(), data.test[0].numpy()])
    assert np.isclose(every[:, :, 0, 0], every[:, :, 1, 1]).sum() == 3 * (len(every) - len(inked))
    assert np.abs(every).max() < 10
