"""The tools' management commands, and what their options share."""

from django.core.management.base import CommandError


def frame_size(value: str) -> tuple[int, int]:
    """A frame size given as WIDTHxHEIGHT, e.g. 640x360."""
    try:
        width, height = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise CommandError(f"Give the size as WIDTHxHEIGHT, e.g. 640x360, not {value!r}.")
    return width, height
