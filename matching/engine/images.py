"""Image handling. Every image the engine takes is a numpy uint8 array, HxWx3, BGR order."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from .errors import ImageDecodeError

MAX_IMAGE_PIXELS = 50_000_000
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}  # some ".jpg" files in the wild are WebP
_GREY_TOLERANCE = 8  # JPEG chroma noise leaves a few levels between channels of a grey frame


def decode_image(data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Decode JPEG or PNG (or WebP) bytes to a BGR uint8 array in memory, never via a file."""
    if not data:
        raise ImageDecodeError("The image is empty: upload a JPEG or PNG file.")
    try:
        with Image.open(io.BytesIO(data)) as header:  # reads the header only
            width, height = header.size
            image_format = header.format
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError("The image is too large: upload a smaller JPEG or PNG file.") from exc
    except Exception as exc:
        raise ImageDecodeError("The file is not a readable image: upload a JPEG or PNG file.") from exc
    if image_format not in ACCEPTED_FORMATS:
        raise ImageDecodeError(f"{image_format or 'This'} images are not accepted: upload a JPEG or PNG file.")
    if width * height > max_pixels:
        raise ImageDecodeError(
            f"The image is too large ({width}x{height}): upload one under {max_pixels // 1_000_000} megapixels."
        )
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageDecodeError("The file could not be decoded: upload a JPEG or PNG file.")
    return image


def as_bgr(image: np.ndarray) -> np.ndarray:
    """Accept HxW grey, HxWx1, HxWx3 BGR or HxWx4 BGRA uint8 and return contiguous HxWx3 BGR."""
    if image.dtype != np.uint8:
        raise ValueError(f"Images must be uint8, got {image.dtype}.")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image)
    raise ValueError(f"Unsupported image shape {image.shape}: expected HxW, HxWx3 or HxWx4.")


def is_greyscale(image: np.ndarray, *, tolerance: int = _GREY_TOLERANCE) -> bool:
    """True when the frame carries no colour (all channels equal), e.g. a night-mode camera."""
    if image.ndim == 2 or image.shape[2] == 1:
        return True
    step = max(1, int(np.sqrt(image.shape[0] * image.shape[1] / 40_000)))
    sample = image[::step, ::step, :3]
    b, g, r = sample[..., 0], sample[..., 1], sample[..., 2]
    # Channel by channel (a reduction over the short last axis is several times slower); uint8 cannot wrap
    # here because the maximum is never below the minimum.
    spread = np.maximum(np.maximum(b, g), r) - np.minimum(np.minimum(b, g), r)
    return bool(np.percentile(spread, 99.5) <= tolerance)


def to_greyscale_bgr(image: np.ndarray) -> np.ndarray:
    """The same frame as a greyscale camera would give it, still as 3-channel BGR."""
    return cv2.cvtColor(cv2.cvtColor(as_bgr(image), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
