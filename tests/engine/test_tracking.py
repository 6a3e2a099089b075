"""Passers-by, not frames: joining faces into tracks and one decision per track (matching/engine/tracking.py and
sightings.py, the code the live pipeline and manage.py rehearse run), with a stand-in engine that hands back each
face's chosen template, so every score is exact; each person's face shows a pattern of their own, for the tracker's
thumbnail check."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import cv2
import numpy as np
import pytest

from matching.engine import Face, Gallery
from matching.engine.sightings import FaceSource, FrameOutcome, frame_track
from matching.engine.tracking import (
    CameraTracks,
    Candidate,
    Confirmed,
    Observation,
    Sighting,
    Track,
    TrackingRule,
    face_quality,
    iou,
)

DIM = 128
THRESHOLD = 0.43
RNG = np.random.default_rng(20261201)


def unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


PEOPLE = {name: unit(RNG.standard_normal(DIM)) for name in ("alice", "bob", "carol")}


def photo_of(name: str, noise: float = 0.3, seed: int = 0) -> np.ndarray:
    """Another image of the same person: the person's template plus noise (similarity about 0.95)."""
    rng = np.random.default_rng(seed)
    return unit(PEOPLE[name] + noise * rng.standard_normal(DIM) / np.sqrt(DIM))


FRAME = (360, 640)
TEMPLATES: dict[Face, np.ndarray] = {}  # each stand-in face's template (faces compare by identity)


def texture(name: str) -> np.ndarray:
    """What a person's face looks like to the tracker's thumbnail check: a fixed pattern of their own."""
    rng = np.random.default_rng(sum(map(ord, name)))
    return rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)


class StandInEngine:
    """frame_track's engine: `align` hands back the face's template, `embed` stacks them and counts."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def align(self, image: np.ndarray, face: Face) -> np.ndarray:
        return TEMPLATES[face]

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        self.batches.append(len(crops))
        return np.stack([unit(np.asarray(c, dtype=np.float32)) for c in crops])

    @property
    def embedded(self) -> int:
        return sum(self.batches)


def resembling(name: str, score: float, seed: int = 0) -> np.ndarray:
    """A template scoring exactly `score` against `name`'s, the rest of it one fixed direction: frames of one
    passer-by who resembles `name` more in some frames than in others (one person to the tracker)."""
    other = np.random.default_rng(1000 + seed).standard_normal(DIM)
    other = unit(other - float(other @ PEOPLE[name]) * PEOPLE[name])
    return unit(score * PEOPLE[name] + np.sqrt(1 - score**2) * other)


def source(name: str, box: tuple[float, float, float, float] | None, *, eyes: float = 40.0, score: float = 0.9,
           seed: int = 0, template: np.ndarray | None = None) -> FaceSource:
    """A face of `name`: in a frame showing their pattern at `box`, or a 112x112 crop when box is None."""
    x1, y1, x2, y2 = box if box is not None else (0.0, 0.0, 112.0, 112.0)
    image = np.full((*FRAME, 3), 90, dtype=np.uint8) if box is not None else np.empty((112, 112, 3), np.uint8)
    image[int(y1):int(y2), int(x1):int(x2)] = cv2.resize(texture(name), (int(x2) - int(x1), int(y2) - int(y1)),
                                                         interpolation=cv2.INTER_NEAREST)
    landmarks = np.array([[x1 + 10, y1 + 20], [x1 + 10 + eyes, y1 + 20], [x1 + 30, y1 + 35], [x1 + 15, y1 + 50],
                          [x1 + 45, y1 + 50]], dtype=np.float32)
    face = Face(box=(x1, y1, x2, y2), landmarks=landmarks, score=score)
    TEMPLATES[face] = photo_of(name, seed=seed) if template is None else template
    return FaceSource(image, face, box)


def box_at(x: float, y: float = 100.0, size: float = 80.0) -> tuple[float, float, float, float]:
    return (x, y, x + size, y + size)


def gallery_of(**references: str) -> Gallery:
    """Reference image label -> person: e.g. gallery_of(**{"alice.jpg": "alice"})."""
    labels = list(references)
    return Gallery(np.stack([PEOPLE[references[label]] for label in labels]), labels)


def entry(label: str) -> str:
    return label.split(".")[0]  # "alice.jpg" is the image of entry "alice"; "alice-2.jpg" another of hers


def run(engine: StandInEngine, gallery: Gallery, tracks: CameraTracks, frames: Sequence[Sequence[FaceSource]],
        fps: float = 5.0, start: int = 0, entry_of=entry) -> list[FrameOutcome]:
    return [frame_track(engine, gallery, entry_of, tracks, faces, frame_id=f"f{start + n}", t=(start + n) / fps)
            for n, faces in enumerate(frames)]


def events(outcomes: Sequence[FrameOutcome], kind: type) -> list:
    return [e.event for outcome in outcomes for e in outcome.events if isinstance(e.event, kind)]


def test_one_face_moving_across_frames_is_one_track() -> None:
    tracks, engine = CameraTracks(TrackingRule(threshold=THRESHOLD)), StandInEngine()
    outcomes = run(engine, gallery_of(**{"bob.jpg": "bob"}), tracks,
                   [[source("alice", box_at(40 + 15 * n), seed=n)] for n in range(20)])
    assert [o.new_tracks for o in outcomes] == [1] + [0] * 19
    [track] = tracks.tracks
    assert track.faces == 20 and track.first_t == 0.0 and track.last_t == pytest.approx(19 / 5)
    assert not track.candidate and not events(outcomes, Confirmed)


def test_two_faces_crossing_stay_two_tracks_each_with_its_own_person() -> None:
    tracks, engine = CameraTracks(TrackingRule(threshold=THRESHOLD)), StandInEngine()
    frames = [[source("alice", box_at(40 + 20 * n, y=100), seed=n), source("bob", box_at(440 - 20 * n, y=130), seed=n)]
              for n in range(21)]  # they pass each other at frame 10, boxes overlapping for several frames
    assert iou(frames[10][0].box, frames[10][1].box) > 0.4
    outcomes = run(engine, gallery_of(**{"alice.jpg": "alice", "bob.jpg": "bob"}), tracks, frames)
    assert sum(o.new_tracks for o in outcomes) == 2 and len(tracks.tracks) == 2
    confirmed = {c.entry: c.track for c in events(outcomes, Confirmed)}
    assert set(confirmed) == {"alice", "bob"}
    for name, track in confirmed.items():
        assert track.faces == 21 and set(track.hits) == {name}  # never a face of the other person
        assert all(s.score is None or s.image == f"{name}.jpg" for s in events(outcomes, Sighting) if s.track is track)


def test_a_face_absent_longer_than_the_gap_starts_a_new_track() -> None:
    rule = TrackingRule(threshold=THRESHOLD, gap_seconds=1.5)
    tracks, engine = CameraTracks(rule), StandInEngine()
    gallery = gallery_of(**{"alice.jpg": "alice"})
    first = run(engine, gallery, tracks, [[source("alice", box_at(100))] for _ in range(5)])  # t 0.0 .. 0.8
    within = run(engine, gallery, tracks, [[]] * 6 + [[source("alice", box_at(100))]], start=5)
    assert sum(o.new_tracks for o in first + within) == 1  # unseen 1.4 s (t 0.8 to 2.2): the same track
    assert not any(o.ended for o in first + within)
    later = run(engine, gallery, tracks, [[]] * 8 + [[source("alice", box_at(100))]] * 2, start=12)  # unseen 1.8 s
    ended = [track for o in later for track in o.ended]
    assert len(ended) == 1 and ended[0].confirmed and ended[0].faces == 6
    assert later[0].new_tracks == 0 and later[-2].new_tracks == 1
    assert len(tracks.tracks) == 1 and tracks.tracks[0].first_t == pytest.approx(4.0)
    assert len(events(first + within + later, Confirmed)) == 2  # one decision per track


def test_k2_refuses_one_frame_above_threshold_and_counts_a_candidate() -> None:
    tracks, engine = CameraTracks(TrackingRule(threshold=THRESHOLD, confirm_frames=2)), StandInEngine()
    gallery = gallery_of(**{"alice.jpg": "alice"})
    frames = [[source("dave", box_at(100 + 4 * n), template=resembling("alice", score))]
              for n, score in enumerate((0.30, 0.60, 0.35))]  # one passer-by, above threshold in one frame only
    outcomes = run(engine, gallery, tracks, frames)
    assert [o.new_candidates for o in outcomes] == [0, 1, 0]
    assert not events(outcomes, Confirmed)
    [track] = tracks.end_all()
    assert track.candidate and not track.confirmed and len(track.hits["alice"]) == 1


def test_k1_confirms_on_the_first_hit() -> None:
    tracks, engine = CameraTracks(TrackingRule(threshold=THRESHOLD, confirm_frames=1)), StandInEngine()
    [outcome] = run(engine, gallery_of(**{"alice.jpg": "alice"}), tracks, [[source("alice", box_at(100))]])
    [confirmed] = events([outcome], Confirmed)
    assert confirmed.entry == "alice" and len(confirmed.hits) == 1 and confirmed.hits[0].score > 0.9


def test_a_rerun_of_a_frame_is_not_a_second_frame() -> None:
    tracks, engine = CameraTracks(TrackingRule(threshold=THRESHOLD, confirm_frames=2)), StandInEngine()
    gallery = gallery_of(**{"alice.jpg": "alice"})
    face = [source("alice", box_at(100))]
    again = [frame_track(engine, gallery, entry, tracks, face, frame_id="f0", t=0.0) for _ in range(2)]
    assert not events(again, Confirmed) and len(tracks.tracks[0].hits["alice"]) == 1
    assert events(run(engine, gallery, tracks, [face], start=1), Confirmed)


def test_the_runner_up_is_recorded_and_the_alert_is_for_the_best_entry() -> None:
    # Two entries of the watchlist whose references both look like the face: "alice" (her own photo) and
    # "alias" (a photo of her too, enrolled under another entry), the latter scoring lower.
    labels = ["alice.jpg", "alias.jpg", "bob.jpg"]
    gallery = Gallery(np.stack([photo_of("alice", 0.1, seed=1), photo_of("alice", 1.5, seed=2), PEOPLE["bob"]]),
                      labels)
    tracks, engine = CameraTracks(TrackingRule(threshold=THRESHOLD, confirm_frames=2)), StandInEngine()
    outcomes = run(engine, gallery, tracks, [[source("alice", box_at(100 + 5 * n), seed=n)] for n in range(3)])
    [confirmed] = events(outcomes, Confirmed)
    assert confirmed.entry == "alice" and confirmed.runner_up_entry == "alias"
    best_alias = max(h.score for h in confirmed.track.hits["alias"])
    assert THRESHOLD <= confirmed.runner_up_score == best_alias < min(h.score for h in confirmed.hits)
    assert all(h.runner_up_entry == "alias" for h in confirmed.hits)


def test_a_candidate_gallery_entry_below_threshold_is_still_the_runner_up() -> None:
    tracks = CameraTracks(TrackingRule(threshold=0.5, confirm_frames=1))
    obs = Observation("f0", 0, 0.0, box_at(0), 0.9)
    [assignment] = tracks.assign([obs])
    confirmed = tracks.observe(assignment, PEOPLE["alice"], [Candidate("alice", 0.8, "a.jpg"),
                                                             Candidate("bob", 0.3, "b.jpg")])
    assert isinstance(confirmed, Confirmed)
    assert (confirmed.runner_up_entry, confirmed.runner_up_score) == ("bob", 0.3)


def test_a_confirmed_track_is_embedded_again_only_every_reembed_every_faces() -> None:
    rule = TrackingRule(threshold=THRESHOLD, confirm_frames=2, reembed_every=5)
    tracks, engine = CameraTracks(rule), StandInEngine()
    outcomes = run(engine, gallery_of(**{"alice.jpg": "alice"}), tracks,
                   [[source("alice", box_at(100 + 2 * n), seed=n)] for n in range(14)])
    # Frames 0 and 1 confirm; then the track carries the identity and embeds every fifth face: 6 and 11.
    assert [o.embedded for o in outcomes] == [1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0]
    sightings = events(outcomes, Sighting)
    assert len(sightings) == 12 and [s.score is not None for s in sightings].count(True) == 2
    [track] = tracks.tracks
    assert track.embedded == 4 and track.faces == 14


def test_a_confirmed_track_is_embedded_again_for_a_better_face() -> None:
    rule = TrackingRule(threshold=THRESHOLD, confirm_frames=2, reembed_every=50)
    tracks, engine = CameraTracks(rule), StandInEngine()
    eyes = [20, 20, 21, 22, 30, 30, 31, 40, 40]  # quality 0.45 .. 0.9: a face walking towards the camera
    outcomes = run(engine, gallery_of(**{"alice.jpg": "alice"}), tracks,
                   [[source("alice", box_at(100), eyes=e)] for e in eyes])
    # Embedded while deciding (0, 1), then only when the quality beats the best so far by 15%: 30 and 40 px.
    assert [o.embedded for o in outcomes] == [1, 1, 0, 0, 1, 0, 0, 1, 0]
    assert tracks.tracks[0].best_quality == pytest.approx(face_quality(0.9, 40))


def test_a_passer_by_is_ruled_out_and_then_embedded_less() -> None:
    tracks, engine = CameraTracks(TrackingRule(threshold=THRESHOLD, reembed_every=5)), StandInEngine()
    outcomes = run(engine, gallery_of(**{"alice.jpg": "alice"}), tracks,
                   [[source("bob", box_at(100), seed=n)] for n in range(8)])
    assert [o.embedded for o in outcomes] == [1, 1, 0, 0, 0, 0, 1, 0]
    assert tracks.tracks[0].ruled_out


def test_every_face_is_embedded_without_reuse() -> None:
    rule = TrackingRule(threshold=THRESHOLD, reembed_every=1, quality_gain=0.0)
    tracks, engine = CameraTracks(rule), StandInEngine()
    run(engine, gallery_of(**{"alice.jpg": "alice"}), tracks,
        [[source("alice", box_at(100), seed=n), source("bob", box_at(300), seed=n)] for n in range(6)])
    assert engine.embedded == 12


def test_out_of_order_frames_still_join() -> None:
    tracks, engine = CameraTracks(TrackingRule(threshold=THRESHOLD)), StandInEngine()
    gallery = gallery_of(**{"alice.jpg": "alice"})
    for frame_id, t, x in (("f0", 0.0, 100), ("f2", 0.4, 120), ("f1", 0.2, 110), ("f3", 0.6, 130)):
        outcome = frame_track(engine, gallery, entry, tracks, [source("alice", box_at(x))], frame_id=frame_id, t=t)
        assert outcome.new_tracks == (1 if frame_id == "f0" else 0)
        if frame_id == "f1":  # the late face joined; the track's last time and box stay those of f2
            assert tracks.tracks[0].last_t == 0.4 and tracks.tracks[0].box == box_at(120)
    [track] = tracks.tracks
    assert track.faces == 4 and track.first_t == 0.0 and track.last_t == 0.6 and track.confirmed


def test_dumps_and_loads_round_trip() -> None:
    rule = TrackingRule(threshold=THRESHOLD)
    tracks, engine = CameraTracks(rule), StandInEngine()
    gallery = Gallery(np.stack([PEOPLE["alice"], photo_of("alice", 1.5, seed=3)]), [7, 8])  # integer entry ids
    run(engine, gallery, tracks, [[source("alice", box_at(100 + n), seed=n), source("bob", box_at(300 + n))]
                                  for n in range(4)], entry_of=lambda label: label)
    tracks.tracks[0].alert_id, tracks.tracks[0].probe_quality = 42, 0.8
    tracks.tracks.append(CameraTracks(rule).assign([Observation("crop", 0, 0.8, None, 0.4)])[0].track)  # no box
    data = tracks.dumps()
    assert isinstance(data, bytes)
    loaded = CameraTracks.loads(rule, data)
    assert len(loaded.tracks) == len(tracks.tracks) == 3
    for before, after in zip(tracks.tracks, loaded.tracks, strict=True):
        for name in (f.name for f in dataclasses.fields(Track)):
            was, now = getattr(before, name), getattr(after, name)
            if isinstance(was, np.ndarray):  # the template (and any other array): the very same float32 bytes
                assert isinstance(now, np.ndarray) and now.dtype == np.float32 and now.tobytes() == was.tobytes(), name
            else:
                assert now == was, name
    assert tracks.tracks[0].template is not None
    assert loaded.tracks[0].entry == 7 and set(loaded.tracks[0].hits) == {7, 8}
    assert loaded.dumps() == data
    assert CameraTracks.loads(rule, None).tracks == [] and CameraTracks.loads(rule, b"").tracks == []


def test_crops_without_boxes_join_by_template_similarity() -> None:
    tracks, engine = CameraTracks(TrackingRule(threshold=THRESHOLD)), StandInEngine()
    gallery = gallery_of(**{"carol.jpg": "carol"})
    outcomes = run(engine, gallery, tracks, [[source("alice", None, seed=n), source("bob", None, seed=n + 50)]
                                             for n in range(5)])
    assert [o.new_tracks for o in outcomes] == [2, 0, 0, 0, 0]
    assert all(o.embedded == 2 for o in outcomes)  # crops are embedded to be joined at all
    alice, bob = tracks.tracks
    assert alice.faces == bob.faces == 5 and alice.box is None
    assert float(alice.template @ PEOPLE["alice"]) > 0.9 and float(bob.template @ PEOPLE["bob"]) > 0.9
    # Someone else's crop starts a track of its own.
    [outcome] = run(engine, gallery, tracks, [[source("carol", None)]], start=5)
    assert outcome.new_tracks == 1 and len(tracks.tracks) == 3


def test_someone_else_taking_a_track_s_place_gets_a_track_of_their_own() -> None:
    tracks, engine = CameraTracks(TrackingRule(threshold=THRESHOLD)), StandInEngine()
    gallery = gallery_of(**{"alice.jpg": "alice"})
    outcomes = run(engine, gallery, tracks, [[source("bob", box_at(100))], [source("alice", box_at(104))]])
    assert [o.new_tracks for o in outcomes] == [1, 1] and len(tracks.tracks) == 2


def test_no_faces_ends_tracks_and_does_nothing_else() -> None:
    tracks, engine = CameraTracks(TrackingRule(threshold=THRESHOLD, gap_seconds=0.5)), StandInEngine()
    gallery = gallery_of(**{"alice.jpg": "alice"})
    run(engine, gallery, tracks, [[source("bob", box_at(100))]])
    [outcome] = run(engine, gallery, tracks, [[]], start=5)
    assert outcome.faces == 0 and len(outcome.ended) == 1 and tracks.tracks == [] and engine.embedded == 1


@pytest.mark.parametrize("bad", [dict(threshold=0.0), dict(threshold=1.0), dict(threshold=float("nan")),
                                 dict(threshold=0.5, confirm_frames=0), dict(threshold=0.5, gap_seconds=0),
                                 dict(threshold=0.5, reembed_every=0)])
def test_rule_refuses_nonsense(bad: dict) -> None:
    with pytest.raises(ValueError):
        TrackingRule(**bad)


def test_a_non_match_track_keeps_at_most_two_faces_data_and_lets_each_go() -> None:
    """Deletion per face: a stranger's track holds one template and one thumbnail at most; every other face's data
    is released with its frame, a held one when it is replaced or dropped (ruled out), the rest when the track
    ends. Each face is released exactly once, and none of a confirmed track's."""
    rule = TrackingRule(threshold=THRESHOLD)
    tracks = CameraTracks(rule)
    stranger = PEOPLE["bob"]
    thumbnails = np.eye(144, dtype=np.float32)
    for n in range(10):
        obs = Observation(f"f{n}", 0, n * 0.2, box_at(100 + 3 * n), 0.9, received_at=1000.0 + n,
                          appearance=thumbnails[0])
        (assignment,) = tracks.assign([obs])
        tracks.observe(assignment, stranger if assignment.embed else None, [])
        track = assignment.track
        held = {track.template_rx, track.appearance_rx} - {None}
        assert len(held) <= 2 and held <= {1000.0 + k for k in range(n + 1)}
    assert track.ruled_out and track.template is None  # ruled out: its template was dropped
    released_while_seen = tracks.take_released()
    assert len(released_while_seen) == 9 and 1009.0 not in released_while_seen  # the last face's thumbnail is held
    tracks.end(10.0)
    assert tracks.take_released() == [1009.0] and tracks.tracks == []
    assert sorted(released_while_seen + [1009.0]) == [1000.0 + k for k in range(10)]


def test_the_faces_of_a_confirmed_track_are_not_counted_as_non_match_deletions() -> None:
    tracks = CameraTracks(TrackingRule(threshold=THRESHOLD, confirm_frames=1))
    obs = Observation("f0", 0, 0.0, box_at(100), 0.9, received_at=5.0)
    (assignment,) = tracks.assign([obs])
    assert isinstance(tracks.observe(assignment, PEOPLE["alice"], [Candidate("alice", 0.9, "a.jpg")]), Confirmed)
    tracks.end(10.0)
    assert tracks.take_released() == []
