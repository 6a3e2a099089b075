"""Decoding and image-form helpers."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from matching.engine import ImageDecodeError, as_bgr, decode_image, is_greyscale


def test_cv2_imports_and_decodes_in_memory(deepface_dir: Path) -> None:
    data = (deepface_dir / "img1.jpg").read_bytes()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.ndim == 3


def test_decode_image_gives_bgr_for_jpeg_and_png(deepface_dir: Path) -> None:
    jpeg = decode_image((deepface_dir / "img1.jpg").read_bytes())
    ok, png = cv2.imencode(".png", jpeg)
    assert ok
    decoded = decode_image(png.tobytes())
    assert decoded.dtype == np.uint8 and decoded.shape == jpeg.shape
    assert np.array_equal(decoded, jpeg)


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20])
def test_undecodable_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(ImageDecodeError):
        decode_image(data)


def test_formats_other_than_jpeg_and_png_are_refused() -> None:
    _, bmp = cv2.imencode(".bmp", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ImageDecodeError, match="JPEG or PNG"):
        decode_image(bmp.tobytes())


def test_oversized_image_is_refused_before_decoding() -> None:
    _, png = cv2.imencode(".png", np.zeros((1000, 1000, 3), np.uint8))
    with pytest.raises(ImageDecodeError, match="too large"):
        decode_image(png.tobytes(), max_pixels=500_000)


def test_as_bgr_and_is_greyscale() -> None:
    grey = np.full((4, 5), 7, np.uint8)
    assert as_bgr(grey).shape == (4, 5, 3) and is_greyscale(as_bgr(grey))
    colour = np.zeros((4, 5, 3), np.uint8)
    colour[..., 2] = 200
    assert not is_greyscale(colour)
    assert as_bgr(np.zeros((4, 5, 4), np.uint8)).shape == (4, 5, 3)
    with pytest.raises(ValueError):
        as_bgr(np.zeros((4, 5, 3), np.float32))
