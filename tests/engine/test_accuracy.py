"""Done-when targets on shared/faces/deepface: verification accuracy and open-set 1:N at each pack's threshold."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from matching.engine import load_manifest
from matching.engine.calibration import FaceSet, accuracy_at, open_set, pair_scores

from .support import PACKS

CONDITIONS = ("colour", "greyscale")


@pytest.mark.parametrize("condition", CONDITIONS)
@pytest.mark.parametrize("pack_id", PACKS)
def test_verification_accuracy_at_pack_threshold(
    pack_id: str, condition: str, face_set: FaceSet, templates: Callable[[str, str], dict]
) -> None:
    threshold = load_manifest(pack_id).threshold_for(greyscale=condition == "greyscale")
    assert threshold is not None
    scores, genuine = pair_scores(templates(pack_id, condition), face_set.pairs)
    assert accuracy_at(scores, genuine, threshold) >= 0.99


@pytest.mark.parametrize("condition", CONDITIONS)
@pytest.mark.parametrize("pack_id", PACKS)
def test_open_set_identification_at_pack_threshold(
    pack_id: str, condition: str, face_set: FaceSet, templates: Callable[[str, str], dict]
) -> None:
    threshold = load_manifest(pack_id).threshold_for(greyscale=condition == "greyscale")
    assert threshold is not None
    result = open_set(templates(pack_id, condition), face_set.identities, threshold)
    assert result["enrolled"] == 7 and result["mated_probes"] + result["nonmated_probes"] == 61 - 7
    assert result["tpir"] >= 0.95
    assert result["fpir"] == 0.0


@pytest.mark.parametrize("pack_id", PACKS)
def test_every_shared_image_yields_a_face(pack_id: str, templates: Callable[[str, str], dict]) -> None:
    found = templates(pack_id, "colour")
    assert [name for name, template in found.items() if template is None] == []
    assert all(np.isclose(np.linalg.norm(t), 1.0, atol=1e-5) for t in found.values() if t is not None)
