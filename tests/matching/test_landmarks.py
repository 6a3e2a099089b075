"""The landmark rules of the edge API (matching/landmarks.py) pass every face the engine itself finds on the
shared face images, cropped as an edge node would crop them, and refuse what cannot be a face."""

import csv

import pytest

from lfr_governance.faces import decode_image, get_engine
from matching.landmarks import landmarks_problem

# A slice of each shared set: the DeepFace photographs (several faces in some, faces at the image edge in others),
# greyscale LFW frames and tight UTKFace crops (faces filling the crop, landmarks near its edges).
SAMPLE_PER_SET = 150


def _shared_images(faces_dir):
    yield from sorted((faces_dir / "deepface").glob("*.jpg"))
    for folder, column in (("lfw-dev", "path"), ("utk-dev", "path")):
        with open(faces_dir / folder / ("identities.csv" if folder == "lfw-dev" else "labels.csv")) as rows:
            paths = [row[column] for row in csv.DictReader(rows)]
        for path in paths[::max(1, len(paths) // SAMPLE_PER_SET)][:SAMPLE_PER_SET]:
            yield faces_dir / folder / path


def _node_crop(face, width: int, height: int, margin: float):
    """The face's box widened by `margin` and clipped to the frame, and its landmarks in the crop's pixels."""
    x1, y1, x2, y2 = face.box
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    left, top = max(0, int(x1 - mx)), max(0, int(y1 - my))
    right, bottom = min(width, int(x2 + mx)), min(height, int(y2 + my))
    return right - left, bottom - top, [[float(x) - left, float(y) - top] for x, y in face.landmarks]


def test_every_face_the_engine_finds_on_the_shared_images_passes(faces_dir):
    engine = get_engine()
    checked, refused = 0, []
    for path in _shared_images(faces_dir):
        try:
            image = decode_image(path.read_bytes())
        except Exception:  # a file the engine cannot read is no face to check
            continue
        height, width = image.shape[:2]
        for face in engine.detect(image):
            for margin in (0.0, 0.2):  # cut at the detector's box, and with a margin
                crop_width, crop_height, points = _node_crop(face, width, height, margin)
                if crop_width <= 0 or crop_height <= 0:
                    continue
                checked += 1
                problem = landmarks_problem(points, crop_width, crop_height)
                if problem:
                    refused.append((path.name, margin, problem))
    assert checked > 500, checked
    assert refused == []


@pytest.mark.parametrize("points, words", [
    ([[100, 100]] * 5, "eyes"),
    ([[10, 10], [20, 20], [30, 30], [40, 40], [50, 50]], "one line"),
    ([[70, 90], [130, 90], [100, 90], [75, 90], [125, 90]], "one line"),
    ([[-101, 90], [130, 90], [100, 120], [75, 150], [125, 150]], "outside"),
    ([[70, 90], [130, 90], [100, 120], [75, 150], [125, 301]], "outside"),
    ([[-60, -60], [-20, -20], [-40, -50], [-55, -30], [-25, -30]], "centre"),  # each near, all beside the crop
    ([["left", 90], [130, 90], [100, 120], [75, 150], [125, 150]], "pairs of numbers"),  # as a payload may hold
    ([[70, 90], [130, 90], [100, 120], [75, 150]], "five"),
])
def test_points_that_cannot_be_a_face_are_refused(points, words):
    assert words in landmarks_problem(points, 200, 200)


def test_a_face_cut_by_the_crops_edge_passes():
    assert landmarks_problem([[-30, 90], [40, 90], [5, 120], [-25, 150], [35, 150]], 200, 200) is None
