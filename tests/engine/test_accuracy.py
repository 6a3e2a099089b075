"""The small DeepFace set: every image yields a face. Accuracy is measured on held-out people (test_held_out.py):
figures on the images a threshold was chosen on would pass by construction."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from .support import PACKS


@pytest.mark.parametrize("pack_id", PACKS)
def test_every_shared_image_yields_a_face(pack_id: str, templates: Callable[[str, str], dict]) -> None:
    found = templates(pack_id, "colour")
    assert [name for name, template in found.items() if template is None] == []
    assert all(np.isclose(np.linalg.norm(t), 1.0, atol=1e-5) for t in found.values() if t is not None)
