"""Passers-by, not frames: the faces of one camera joined into tracks, and one decision per track.

Plain numpy, no Django, so the live pipeline, the rehearsal command and the edge agent run the same code.

A camera's faces are joined frame to frame by box overlap (IoU with the track's last box) and, for faces
without a box in frame coordinates (crops an edge node sent), by template similarity with the track's best
template. A track ends when its face has not been seen for `gap_seconds` of frame time.

The decision: a track alerts for a watchlist entry when that entry scores at or above the authorised threshold
in at least `confirm_frames` (k) of the track's frames; once, for the entry that reached k first (the best score
breaks a tie), recording the best other entry's score as the runner-up. Later faces of the track are sightings
of that alert. A track that ends without reaching k was a candidate (if any frame was above threshold) or a
passer-by who never resembled anyone: either way its state is simply dropped.

The threshold is the frame's: the pipeline loads a camera's tracks with the rule for the frame's imaging
condition (the authorised colour or greyscale threshold), so each face is judged at its own frame's threshold
and a camera switching to night mode mid-track changes only how its later faces are judged (tracks hold no rule).

Less work per frame: a face whose track is already identified, or ruled out (embedded at good quality at
least twice without a single score above threshold), is embedded again only when its detection quality beats
the track's best so far or every `reembed_every` faces; otherwise its identity is carried by the track.

Track state is biometric data (the best template of each track): it is held in memory and, between a
pipeline's frames, in the non-persistent Redis under a TTL (see matching/tracks.py), and dropped when the
track ends. `CameraTracks.dumps()` / `loads()` give the bytes for that, with no pickle.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np



@dataclass(frozen=True)
class TrackingRule:
    """How faces are joined and decided. threshold (for one imaging condition) and confirm_frames come from the
    authorised deployment."""

    threshold: float
    confirm_frames: int = 2
    gap_seconds: float = 1.5
    reembed_every: int = 5
    min_iou: float = 0.2
    min_similarity: float = 0.5  # to join a face without a box (a crop) to a track by its template
    # A boxed face that overlaps a track but whose template is this unlike the track's is someone else (two people
    # swapping places between frames): it starts its own track.
    min_same_person: float = 0.2
    # Reuse trusts the box only while the face looks as it did: a 12x12 grey thumbnail of the face correlating
    # below this with the track's last one (someone else in the box; measured: the same face moved and scaled by 5%
    # 0.91-0.99, different people at most 0.79) is embedded again.
    min_appearance: float = 0.85
    good_quality: float = 0.5  # a template this good, twice without a hit, rules a track out
    quality_gain: float = 1.15  # re-embed a face whose quality beats the track's best by this factor

    def __post_init__(self) -> None:
        if not 0 < self.threshold < 1:
            raise ValueError("threshold must be between 0 and 1")
        if not 1 <= self.confirm_frames <= 50:
            raise ValueError("confirm_frames must be between 1 and 50")
        if not 0 < self.gap_seconds <= 60:
            raise ValueError("gap_seconds must be above 0 and at most 60")
        if self.reembed_every < 1:
            raise ValueError("reembed_every must be at least 1")


@dataclass(frozen=True)
class Observation:
    """One face of one frame: where it is (None for a crop without frame coordinates) and how good it is."""

    frame_id: str
    face_index: int
    t: float  # the frame's capture time, seconds (frame time, not the server's)
    box: tuple[float, float, float, float] | None
    quality: float
    received_at: float = 0.0  # wall-clock receipt, for the deletion latency
    appearance: np.ndarray | None = None  # the face's thumbnail vector (see appearance_of), None for crops


@dataclass(frozen=True)
class Candidate:
    """A watchlist entry's score for one face (from the gallery search), with the image that scored it."""

    entry: Hashable
    score: float
    image: Hashable = None


@dataclass
class Hit:
    """A face of a track at or above threshold for an entry: what an alert's sightings are made of."""

    frame_id: str
    face_index: int
    t: float
    score: float
    image: Hashable
    quality: float
    runner_up_entry: Hashable = None
    runner_up_score: float | None = None


@dataclass
class Track:
    ref: str  # track_ref of its first face: the same after a re-run of that frame
    first_t: float
    last_t: float
    box: tuple[float, float, float, float] | None
    faces: int = 0
    embedded: int = 0
    since_embedded: int = 0
    best_quality: float = 0.0
    template: np.ndarray | None = None
    hits: dict[Hashable, list[Hit]] = field(default_factory=dict)
    entry: Hashable = None  # the entry it alerted for, once confirmed
    alert_id: int | None = None  # the pipeline's alert for it, once made
    misses_good: int = 0  # good-quality embeddings with no score at threshold
    # Receipt times of the faces whose template and thumbnail the track holds: the only data of any face it keeps
    # (one template, one thumbnail); every other face's data is gone when its frame is.
    template_rx: float | None = None
    appearance_rx: float | None = None
    probe_quality: float = 0.0  # the quality of the face its alert's probe crop shows (the pipeline keeps it)
    appearance: np.ndarray | None = None  # its last face's thumbnail vector

    @property
    def confirmed(self) -> bool:
        return self.entry is not None

    @property
    def ruled_out(self) -> bool:
        return not self.hits and self.misses_good >= 2

    @property
    def candidate(self) -> bool:
        """At or above threshold in at least one frame."""
        return bool(self.hits)

    def best_hit(self, entry: Hashable | None = None) -> Hit | None:
        hits = self.hits.get(self.entry if entry is None else entry, [])
        return max(hits, key=lambda h: (h.quality, h.score)) if hits else None

    def runner_up(self) -> tuple[Hashable, float] | tuple[None, None]:
        """The best score of any other entry over the track's faces (at or above threshold, or the runner-up
        each hit recorded)."""
        best: tuple[Hashable, float] | tuple[None, None] = (None, None)
        for entry, hits in self.hits.items():
            for hit in hits:
                for other, score in ((entry, hit.score), (hit.runner_up_entry, hit.runner_up_score)):
                    if other is None or other == self.entry or score is None:
                        continue
                    if best[1] is None or score > best[1]:
                        best = (other, score)
        return best


@dataclass
class Assignment:
    """Where a face went: its track (new or continued) and whether it should be embedded this frame."""

    observation: Observation
    track: Track
    new: bool
    embed: bool


@dataclass
class Confirmed:
    """The track reached k frames for `entry` with this face: make (or join) one alert, with these sightings."""

    track: Track
    entry: Hashable
    hits: list[Hit]
    runner_up_entry: Hashable
    runner_up_score: float | None


@dataclass
class Sighting:
    """A further face of a confirmed track: a sighting of its alert (score None when it was not embedded)."""

    track: Track
    observation: Observation
    score: float | None
    image: Hashable


def track_ref(obs: Observation) -> str:
    """A track's name, from its first face: the same when that frame is run again after a crash, and not the frame
    id itself (the first frame may show the person below threshold: no frame id of a non-match is kept)."""
    return hashlib.blake2b(f"{obs.frame_id}#{obs.face_index}".encode(), digest_size=8).hexdigest()


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def appearance_of(image: np.ndarray, box: Sequence[float], side: int = 12) -> np.ndarray | None:
    """A face's thumbnail as a zero-mean unit vector (side x side grey pixels of its box): cheap to compare, and
    enough to tell that the face in a tracked box is no longer the one that was there."""
    import cv2  # here: the tracker itself needs only numpy

    height, width = image.shape[:2]
    x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
    x2, y2 = min(width, int(box[2])), min(height, int(box[3]))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    patch = image[y1:y2, x1:x2]
    grey = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY) if patch.ndim == 3 else patch
    vector = cv2.resize(grey, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    vector -= vector.mean()
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 1e-6 else None


def face_quality(score: float, inter_eye_distance: float, full_size_eyes: float = 40.0) -> float:
    """A face's quality for choosing templates and probe crops: the detector's confidence, scaled down for
    faces smaller than `full_size_eyes` pixels between the eyes."""
    return float(max(0.0, min(1.0, score)) * max(0.0, min(1.0, inter_eye_distance / full_size_eyes)))


class CameraTracks:
    """The open tracks of one camera. One frame at a time: `assign` its faces, embed the ones it asks for,
    `observe` each face with its template and gallery candidates, then `end` the tracks whose gap has passed."""

    def __init__(self, rule: TrackingRule, tracks: list[Track] | None = None):
        self.rule = rule
        self.tracks: list[Track] = tracks or []
        # Receipt times of non-match faces (of tracks not confirmed) whose every trace the tracks have let go since
        # the last take_released(): their frame's, or, for a face the track held, the moment it was replaced,
        # dropped or its track ended. The pipeline turns them into deletion latencies.
        self.released: list[float] = []

    def take_released(self) -> list[float]:
        released, self.released = self.released, []
        return released

    def _let_go(self, track: Track, rx: float | None) -> None:
        if rx is None or rx in (track.template_rx, track.appearance_rx) or track.confirmed:
            return
        self.released.append(rx)

    def _drop_template(self, track: Track) -> None:
        old, track.template, track.template_rx = track.template_rx, None, None
        self._let_go(track, old)

    # --- joining ---------------------------------------------------------------------------------

    def assign(self, observations: Sequence[Observation], templates: np.ndarray | None = None) -> list[Assignment]:
        """Each face to a track. Faces with boxes join the open track whose last box overlaps most (greedy by
        IoU, at least `min_iou`, one face per track per frame); faces without a box need their template
        (`templates`, one row per observation, rows of boxed faces ignored) and join the most similar track.
        The rest start tracks."""
        open_tracks = [t for t in self.tracks if not self._gap_passed(t, observations[0].t)] if observations else []
        taken: set[int] = set()
        chosen: dict[int, Track] = {}
        pairs = []
        for i, obs in enumerate(observations):
            for j, track in enumerate(open_tracks):
                if obs.box is not None and track.box is not None:
                    overlap = iou(obs.box, track.box)
                    if overlap >= self.rule.min_iou:
                        pairs.append((overlap, i, j))
                elif obs.box is None and templates is not None and track.template is not None:
                    similarity = float(np.dot(templates[i], track.template))
                    if similarity >= self.rule.min_similarity:
                        pairs.append((similarity, i, j))
        for _, i, j in sorted(pairs, key=lambda p: -p[0]):
            if i in chosen or j in taken:
                continue
            chosen[i] = open_tracks[j]
            taken.add(j)
        assignments = []
        for i, obs in enumerate(observations):
            track = chosen.get(i)
            if track is None:
                track = Track(ref=track_ref(obs), first_t=obs.t, last_t=obs.t, box=obs.box)
                self.tracks.append(track)
                assignments.append(Assignment(obs, track, new=True, embed=True))
            else:
                assignments.append(Assignment(obs, track, new=False, embed=self._wants_template(track, obs)))
        return assignments

    def rejoin_by_template(self, assignment: Assignment, template: np.ndarray, busy: set[int]) -> Assignment:
        """A face that started a track (no box overlapped: it moved far between frames, or came from a crop) joins
        the open track, not continued in this frame (`busy`: ids of tracks taken), whose template it resembles
        most, at least `min_similarity`."""
        if not assignment.new:
            return assignment
        obs = assignment.observation
        best, best_similarity = None, self.rule.min_similarity
        for track in self.tracks:
            if track is assignment.track or id(track) in busy or track.template is None:
                continue
            if self._gap_passed(track, obs.t):
                continue
            similarity = float(np.dot(template, track.template))
            if similarity >= best_similarity:
                best, best_similarity = track, similarity
        if best is None:
            return assignment
        self.tracks.remove(assignment.track)
        return Assignment(obs, best, new=False, embed=True)

    def split_if_other_person(self, assignment: Assignment, template: np.ndarray) -> Assignment:
        """The face joined a track by its box, but its template says it is someone else: a track of its own."""
        track = assignment.track
        if assignment.new or track.template is None:
            return assignment
        if float(np.dot(template, track.template)) >= self.rule.min_same_person:
            return assignment
        obs = assignment.observation
        own = Track(ref=track_ref(obs), first_t=obs.t, last_t=obs.t, box=obs.box)
        self.tracks.append(own)
        return Assignment(obs, own, new=True, embed=True)

    def _wants_template(self, track: Track, obs: Observation) -> bool:
        if not (track.confirmed or track.ruled_out):
            return True
        if obs.appearance is None or track.appearance is None:
            return True
        if float(np.dot(obs.appearance, track.appearance)) < self.rule.min_appearance:
            return True
        if obs.quality > track.best_quality * self.rule.quality_gain:
            return True
        return track.since_embedded + 1 >= self.rule.reembed_every

    def _gap_passed(self, track: Track, t: float) -> bool:
        return t - track.last_t > self.rule.gap_seconds

    # --- deciding --------------------------------------------------------------------------------

    def observe(self, assignment: Assignment, template: np.ndarray | None,
                candidates: Sequence[Candidate] = ()) -> Confirmed | Sighting | None:
        """One face's evidence. `template` is None when it was not embedded; `candidates` are the gallery's
        entries for it at or above threshold (best first; at most one per entry), the first entry below
        threshold may follow as the runner-up."""
        track, obs = assignment.track, assignment.observation
        track.faces += 1
        event = self._observe(track, obs, template, candidates)
        # This face's data goes with its frame unless the track kept its template or thumbnail.
        self._let_go(track, obs.received_at)
        return event

    def _observe(self, track: Track, obs: Observation, template: np.ndarray | None,
                 candidates: Sequence[Candidate]) -> Confirmed | Sighting | None:
        if obs.t >= track.last_t:  # a late (out-of-order) face joins, but does not move the track back
            track.last_t, track.box = obs.t, obs.box if obs.box is not None else track.box
            if obs.appearance is not None:
                old, track.appearance, track.appearance_rx = track.appearance_rx, obs.appearance, obs.received_at
                self._let_go(track, old)
        track.first_t = min(track.first_t, obs.t)
        above = [c for c in candidates if c.score >= self.rule.threshold]
        if template is None:
            track.since_embedded += 1
            return Sighting(track, obs, None, None) if track.confirmed else None
        track.embedded += 1
        track.since_embedded = 0
        if obs.quality >= track.best_quality or track.template is None:
            old = track.template_rx
            track.best_quality, track.template = obs.quality, np.asarray(template, dtype=np.float32).copy()
            track.template_rx = obs.received_at
            self._let_go(track, old)
        if not above:
            if obs.quality >= self.rule.good_quality:
                track.misses_good += 1
            if track.ruled_out and track.box is not None:
                # Ruled out: its template is not kept (its box and thumbnail carry it; a face that stops looking
                # like the last is compared again, and anyone on the watchlist who steps in is found then). A track
                # of crops, which has no box, keeps it: crops join their track by template.
                self._drop_template(track)
            if track.confirmed:
                own = next((c for c in candidates if c.entry == track.entry), None)
                return Sighting(track, obs, own.score if own else None, own.image if own else None)
            return None
        best = above[0]
        others = [c for c in candidates if c.entry != best.entry]
        runner = others[0] if others else None
        hit = Hit(obs.frame_id, obs.face_index, obs.t, best.score, best.image, obs.quality,
                  runner.entry if runner else None, runner.score if runner else None)
        if track.confirmed:
            own = next((c for c in candidates if c.entry == track.entry), None)
            if own is not None and own.score >= self.rule.threshold and not _has_frame(track, track.entry, obs):
                track.hits.setdefault(track.entry, []).append(
                    Hit(obs.frame_id, obs.face_index, obs.t, own.score, own.image, obs.quality,
                        best.entry if best.entry != track.entry else (runner.entry if runner else None),
                        best.score if best.entry != track.entry else (runner.score if runner else None)))
            return Sighting(track, obs, own.score if own else None, own.image if own else None)
        for candidate in above:  # every entry at threshold gains a frame; the best is this face's hit
            if _has_frame(track, candidate.entry, obs):  # a re-run of a frame already counted: not a second frame
                continue
            if candidate is best:
                track.hits.setdefault(candidate.entry, []).append(hit)
            else:
                track.hits.setdefault(candidate.entry, []).append(
                    Hit(obs.frame_id, obs.face_index, obs.t, candidate.score, candidate.image, obs.quality,
                        best.entry, best.score))
        reached = [entry for entry, hits in track.hits.items() if len(hits) >= self.rule.confirm_frames]
        if not reached:
            return None
        entry = max(reached, key=lambda e: max(h.score for h in track.hits[e]))
        track.entry = entry
        runner_entry, runner_score = track.runner_up()
        return Confirmed(track, entry, list(track.hits[entry]), runner_entry, runner_score)

    # --- ending ----------------------------------------------------------------------------------

    def end(self, t: float) -> list[Track]:
        """Drops and returns the tracks not seen for more than the gap before frame time `t`."""
        ended = [track for track in self.tracks if self._gap_passed(track, t)]
        if ended:
            self.tracks = [track for track in self.tracks if not self._gap_passed(track, t)]
        self._forget(ended)
        return ended

    def end_all(self) -> list[Track]:
        ended, self.tracks = self.tracks, []
        self._forget(ended)
        return ended

    def _forget(self, ended: list[Track]) -> None:
        for track in ended:
            held = {track.template_rx, track.appearance_rx} - {None}
            track.template = track.appearance = None
            track.template_rx = track.appearance_rx = None
            for rx in held:
                self._let_go(track, rx)

    # --- between frames --------------------------------------------------------------------------

    def dumps(self) -> bytes:
        return json.dumps([_track_dict(t) for t in self.tracks], separators=(",", ":")).encode()

    @classmethod
    def loads(cls, rule: TrackingRule, data: bytes | None) -> CameraTracks:
        if not data:
            return cls(rule)
        return cls(rule, [_track_from(d) for d in json.loads(data)])


def _has_frame(track: Track, entry: Hashable, obs: Observation) -> bool:
    return any(hit.frame_id == obs.frame_id for hit in track.hits.get(entry, ()))


def _hit_dict(hit: Hit) -> list:
    return [hit.frame_id, hit.face_index, hit.t, hit.score, hit.image, hit.quality, hit.runner_up_entry,
            hit.runner_up_score]


def _track_dict(track: Track) -> dict:
    return {
        "ref": track.ref, "first_t": track.first_t, "last_t": track.last_t,
        "box": list(track.box) if track.box is not None else None, "faces": track.faces,
        "embedded": track.embedded, "since": track.since_embedded, "bq": track.best_quality,
        "tpl": _b64(track.template),
        # JSON keys are strings: the entries go as pairs so that integer entry ids come back as integers.
        "hits": [[entry, [_hit_dict(h) for h in hits]] for entry, hits in track.hits.items()],
        "entry": track.entry, "alert": track.alert_id, "misses": track.misses_good,
        "trx": track.template_rx, "arx": track.appearance_rx,
        "pq": track.probe_quality, "app": _b64(track.appearance),
    }


def _track_from(d: dict) -> Track:
    template = _array(d["tpl"])
    return Track(
        ref=d["ref"], first_t=d["first_t"], last_t=d["last_t"], box=tuple(d["box"]) if d["box"] else None,
        faces=d["faces"], embedded=d["embedded"], since_embedded=d["since"], best_quality=d["bq"], template=template,
        hits={entry: [Hit(*h) for h in hits] for entry, hits in d["hits"]}, entry=d["entry"], alert_id=d["alert"],
        misses_good=d["misses"], template_rx=d.get("trx"), appearance_rx=d.get("arx"), probe_quality=d.get("pq", 0.0),
        appearance=_array(d.get("app")),
    )


def _b64(array: np.ndarray | None) -> str | None:
    return base64.b64encode(array.astype(np.float32).tobytes()).decode() if array is not None else None


def _array(text: str | None) -> np.ndarray | None:
    return np.frombuffer(base64.b64decode(text), dtype=np.float32).copy() if text else None
