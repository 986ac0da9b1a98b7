"""Image-folder data sets: one subfolder per class, images read with Pillow (PNG, JPEG, BMP, GIF, PGM/PPM, TIFF)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from studies.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".pnm", ".tif", ".tiff")
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def read_image_folder(folder: Path, size: list[int] | None, channels: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Images as N×C×H×W floats in [0, 1] and their class-folder names as labels.

    Every image must have the size of the first one unless `size` ([height,
    width]) asks for resizing; `channels` (1 or 3) defaults to 1 when the first
    image is grayscale, else 3.
    """
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder")
    files = [(f, d.name) for d in sorted(folder.iterdir()) if d.is_dir()
             for f in sorted(d.iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise DataError(f"{folder}: no class subfolders with images ({', '.join(IMAGE_SUFFIXES)})")
    images = []
    mode = None
    expected = tuple(reversed(size)) if size else None
    for path, _ in files:
        image = _open(path)
        if mode is None:
            mode = "L" if (channels or (1 if image.mode in GRAY_MODES else 3)) == 1 else "RGB"
        if expected is None:
            expected = image.size
        if image.size != expected and not size:
            raise DataError(f"{path}: image is {image.size[0]}x{image.size[1]}, expected {expected[0]}x{expected[1]} "
                            "like the first one (set data.image_size to resize)")
        image = image.convert(mode)
        if image.size != expected:
            image = image.resize(expected, Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.float32) / 255.0
        images.append(pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1))
    return np.stack(images), np.array([label for _, label in files])


def _open(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            image.load()
            return image
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable image ({exc})") from None
