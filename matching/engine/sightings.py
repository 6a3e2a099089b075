"""One frame through tracking: the code the live pipeline and the rehearsal command both run (not copies).

`frame_track` takes a frame's faces (detected in the frame, or crops an edge node sent), joins them to the
camera's tracks, embeds only the faces the tracks ask for, searches the gallery for those, and returns what
happened: alerts to make (Confirmed), sightings of alerts already made, and the tracks that ended. Nothing is
written anywhere; the caller decides what to keep (an alert) and drops the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .face import Face
from .gallery import Gallery
from .tracking import (
    Assignment,
    CameraTracks,
    Candidate,
    Confirmed,
    Observation,
    Sighting,
    Track,
    appearance_of,
    face_quality,
)


@dataclass
class FaceSource:
    """A face to track: the image it is in (the frame, or a crop), the face in that image's pixels, and its box
    in frame coordinates (None for a crop, which carries no frame position)."""

    image: np.ndarray
    face: Face
    box: tuple[float, float, float, float] | None


@dataclass
class FrameEvent:
    assignment: Assignment
    event: Confirmed | Sighting
    source: FaceSource


@dataclass
class FrameOutcome:
    faces: int = 0
    embedded: int = 0
    new_tracks: int = 0
    new_candidates: int = 0  # tracks whose first face at or above threshold came in this frame
    events: list[FrameEvent] = field(default_factory=list)
    ended: list[Track] = field(default_factory=list)


def frame_sources(engine, image: np.ndarray) -> list[FaceSource]:
    """Every face the engine finds in a whole frame."""
    return [FaceSource(image, face, face.box) for face in engine.detect(image)]


def frame_track(engine, gallery: Gallery, entry_of: Callable[[Hashable], Hashable], tracks: CameraTracks,
                sources: Sequence[FaceSource], *, frame_id: str, t: float, received_at: float = 0.0,
                aligned: Sequence[np.ndarray] | None = None) -> FrameOutcome:
    """One frame's faces through the camera's tracks, decided by `tracks.rule` (the caller chooses the rule for the
    frame's imaging condition). `entry_of` maps a gallery label to its watchlist entry: the identity for the live
    pipeline, whose gallery has one row per entry (the mean of its images' templates); a gallery with a row per
    reference image (the rehearsal command) maps each to its entry. `aligned` may give the faces' aligned crops when the caller has them already (crops from an
    edge node must be embedded before they can be joined, having no box)."""
    outcome = FrameOutcome(faces=len(sources))
    outcome.ended = tracks.end(t)
    if not sources:
        return outcome
    observations = [Observation(frame_id, index, t, source.box,
                                face_quality(source.face.score, source.face.inter_eye_distance), received_at,
                                appearance_of(source.image, source.box) if source.box is not None else None)
                    for index, source in enumerate(sources)]
    unboxed = [i for i, s in enumerate(sources) if s.box is None]
    templates: np.ndarray | None = None
    if unboxed:  # crops join by template: embed them all first
        crops = aligned if aligned is not None else [engine.align(s.image, s.face) for s in sources]
        templates = engine.embed(list(crops))
    assignments = tracks.assign(observations, templates)
    wanted = [i for i, a in enumerate(assignments) if a.embed]
    if templates is None and wanted:
        crops = [aligned[i] if aligned is not None else engine.align(sources[i].image, sources[i].face)
                 for i in wanted]
        wanted_templates = engine.embed(crops)
    elif wanted:
        wanted_templates = templates[wanted]
    else:
        wanted_templates = np.empty((0, 0), dtype=np.float32)
    outcome.embedded = len(wanted) if templates is None else len(sources)
    for n, i in enumerate(wanted):  # a face that took a track by its box but is someone else gets its own
        assignments[i] = tracks.split_if_other_person(assignments[i], wanted_templates[n])
    for n, i in enumerate(wanted):  # one that moved too far for its box to overlap rejoins its track by template
        busy = {id(a.track) for j, a in enumerate(assignments) if j != i}
        assignments[i] = tracks.rejoin_by_template(assignments[i], wanted_templates[n], busy)
    outcome.new_tracks = sum(1 for a in assignments if a.new)
    searched = gallery.search(wanted_templates, k=min(len(gallery), 8)) if wanted and len(gallery) else []
    by_index = {i: (wanted_templates[n], _candidates(searched[n] if searched else [], entry_of))
                for n, i in enumerate(wanted)}
    for index, assignment in enumerate(assignments):
        template, candidates = by_index.get(index, (None, []))
        was_candidate = assignment.track.candidate
        event = tracks.observe(assignment, template, candidates)
        if assignment.track.candidate and not was_candidate:
            outcome.new_candidates += 1
        if event is not None:
            outcome.events.append(FrameEvent(assignment, event, sources[index]))
    return outcome


def _candidates(matches, entry_of) -> list[Candidate]:
    """The best two entries for a face (in a gallery with several rows per entry, its best row counts)."""
    found: list[Candidate] = []
    seen: set = set()
    for match in matches:
        entry = entry_of(match.label)
        if entry in seen:
            continue
        seen.add(entry)
        found.append(Candidate(entry, match.score, match.label))
        if len(found) == 2:
            break
    return found
