"""Management commands of the matching app, and the settings they read."""

from pathlib import Path

from django.conf import settings

from lfr_governance.faces import engine_config as engine_config_from_settings  # noqa: F401  (one mapping)


def faces_dir_from_settings() -> Path:
    return Path(settings.LFR_FACES_DIR)


def calibration_dir_from_settings() -> Path:
    return Path(settings.LFR_CALIBRATION_DIR)
