"""Checks on an uploaded image (watchlist images, sign photos) before it is stored: type, size, integrity, decompression bombs."""

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}


class ImageRefused(ValueError):
    """An upload that cannot be used, with a message a person can act on."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str


def image_check(data: bytes, *, filename: str = "image") -> CheckedImage:
    """Refuses anything that is not a sound JPEG or PNG within the size and pixel limits."""
    limit = settings.LFR_WATCHLIST_IMAGE_MAX_BYTES
    if len(data) == 0:
        raise ImageRefused("empty", f"{filename} is empty. Choose the image file again.")
    if len(data) > limit:
        raise ImageRefused(
            "too_large",
            f"{filename} is {len(data) / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB. "
            "Export a smaller JPEG (a face needs no more than about 1000 pixels across).",
        )
    max_pixels = settings.LFR_WATCHLIST_IMAGE_MAX_PIXELS
    width = height = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                width, height = probe.size
                if width * height > max_pixels:
                    raise Image.DecompressionBombError("too many pixels")
                probe.verify()
            # verify() leaves the image unusable and misses truncation: decode it fully as well.
            with Image.open(io.BytesIO(data)) as full:
                full.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused(
            "decompression_bomb",
            f"{filename} claims to be larger than the {max_pixels:,} pixels allowed"
            f"{f' ({width:,} x {height:,})' if width else ''}. "
            "It may be a malicious file; use the original photograph instead.",
        )
    except UnidentifiedImageError:
        raise ImageRefused("wrong_type", f"{filename} is not an image this service accepts. Upload a JPEG or PNG.")
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRefused(
            "corrupt", f"{filename} is damaged or incomplete ({exc}). Export the image again and re-upload it."
        )
    if fmt not in ALLOWED_FORMATS:
        raise ImageRefused(
            "wrong_type", f"{filename} is a {fmt} image; only JPEG and PNG are accepted. Convert it and re-upload."
        )
    return CheckedImage(data, ALLOWED_FORMATS[fmt], width, height, hashlib.sha256(data).hexdigest())
