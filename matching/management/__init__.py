"""Management commands of the matching app, and the settings they read."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from lfr_governance.faces import engine_config as engine_config_from_settings  # noqa: F401  (one mapping)


def faces_dir_from_settings() -> Path:
    return Path(settings.LFR_FACES_DIR)


def calibration_dir_from_settings() -> Path:
    return Path(settings.LFR_CALIBRATION_DIR)


def frame_size(value: str) -> tuple[int, int]:
    """A frame size given as WIDTHxHEIGHT, e.g. 640x360."""
    try:
        width, height = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise CommandError(f"Give the size as WIDTHxHEIGHT, e.g. 640x360, not {value!r}.")
    return width, height
