"""Demo data built through the real services: people, a live demo deployment and a finished one."""

from importlib.util import find_spec
from pathlib import Path


def sample_images() -> Path:
    """The photographs shipped inside the insightface package: the demo's faces and passers-by."""
    return Path(find_spec("insightface").submodule_search_locations[0]) / "data" / "images"
