"""Errors a person can act on: each says what was wrong and what to do."""

from __future__ import annotations


class EngineError(Exception):
    """Base class for every error the face-matching engine raises."""


class PackError(EngineError):
    """A model pack cannot be used (unknown id, missing file, bad manifest)."""


class PackIntegrityError(PackError):
    """A model file's SHA-256 does not match its manifest."""

    def __init__(self, filename: str, expected: str, actual: str, path: str) -> None:
        super().__init__(
            f"Model file {filename} failed its integrity check: expected SHA-256 {expected}, "
            f"found {actual} at {path}. Replace it with the file the pack was validated on."
        )
        self.filename = filename
        self.expected = expected
        self.actual = actual
        self.path = path


class LicenceNotAcknowledgedError(PackError):
    """A pack whose weights carry a restrictive licence was loaded without acknowledging it."""


class ImageDecodeError(EngineError):
    """Bytes could not be decoded as a JPEG or PNG image."""
