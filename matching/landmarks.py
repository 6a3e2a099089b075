"""Five-point landmarks an edge node sends with a face crop: read from JSON, and checked before anything is queued.

No ORM and no engine import (the web process never loads the engine): plain Python, used by the edge API and,
as a last guard, by the worker. The rules come from what the engine's own detector produces on the shared face
images (tests/matching/test_landmarks.py): every real face passes them, and garbage that would make the
alignment fail or produce a meaningless template does not.
"""

from __future__ import annotations

import json
import math

POINTS = 5  # right eye, left eye, nose tip, right and left mouth corner (the subject's)
MAX_CHARS_PER_CROP = 512  # five pairs at full float precision with spaces take about 250
MAX_NESTING = 3  # a list of crops, each a list of points, each a list of two numbers
# A detector places the landmarks of a face cut by the crop's edge a little outside it (the engine's own, by up
# to 17% of the crop); further out than this, the points are not a face in this crop. Their centre is always
# inside (the engine's, on 10,804 crops).
OUTSIDE_SHARE = 0.5
MIN_EYE_DISTANCE = 1.0  # pixels; the smallest face the engine detects on the shared images has 2.3
# Spread across the points' narrower axis against the wider one: 0 when all five lie on one line; real faces
# give at least 0.38, profiles included.
MIN_SPREAD_RATIO = 0.1


class LandmarksInvalid(ValueError):
    """Why the landmarks cannot be used, in words an edge node's developer can act on."""


def _reject_constant(name: str):
    raise LandmarksInvalid(f"{name} is not a number: send finite coordinates in the crop's pixels.")


def landmarks_parse(text: str, count: int) -> list[list[list[float]] | None]:
    """One item per crop, each five [x, y] pairs of finite numbers or None, from the JSON text a node sent."""
    limit = MAX_CHARS_PER_CROP * max(count, 1)
    if len(text) > limit:
        raise LandmarksInvalid(f"The landmarks are {len(text):,} characters; at most {limit:,} for {count} "
                               f"crop(s): five [x, y] pairs each.")
    depth = deepest = 0
    for char in text:  # bounded above, so a scan is cheap; json.loads would recurse once per level
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_NESTING:
                raise LandmarksInvalid(f"The landmarks are nested more than {MAX_NESTING} lists deep: send a list "
                                       "with one item per crop, each [[x, y] x 5] or null.")
        elif char in "]}":
            depth -= 1
    try:
        items = json.loads(text, parse_constant=_reject_constant)
    except LandmarksInvalid:
        raise
    except json.JSONDecodeError as exc:
        raise LandmarksInvalid(f"The landmarks are not valid JSON ({exc.msg} at character {exc.pos}).") from None
    except ValueError:  # an integer of thousands of digits, which Python refuses to read
        raise LandmarksInvalid("The landmarks hold a number too long to read: send coordinates in the crop's "
                               "pixels.") from None
    if not isinstance(items, list) or len(items) != count:
        raise LandmarksInvalid(f"Give a list of {count} item(s), one per crop, each [[x, y] x 5] or null.")
    return [None if item is None else _points(item, number) for number, item in enumerate(items, start=1)]


def _points(item, number: int) -> list[list[float]]:
    shape = f"Landmarks of crop {number}: give exactly five [x, y] pairs (right eye, left eye, nose tip, right and " \
            "left mouth corner) or null."
    if not isinstance(item, list) or len(item) != POINTS:
        raise LandmarksInvalid(shape)
    points = []
    for point in item:
        if not isinstance(point, list) or len(point) != 2:
            raise LandmarksInvalid(shape)
        pair = []
        for value in point:
            # bool is an int to Python: true/false are not coordinates.
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise LandmarksInvalid(f"Landmarks of crop {number}: {json.dumps(value)[:20]} is not a number; "
                                       "each coordinate is a number of pixels.")
            try:
                coordinate = float(value)
            except OverflowError:
                coordinate = math.inf
            if not math.isfinite(coordinate):
                raise LandmarksInvalid(f"Landmarks of crop {number}: {str(value)[:20]} is not a finite number.")
            pair.append(coordinate)
        points.append(pair)
    return points


def landmarks_problem(points, width: int, height: int) -> str | None:
    """Why five finite points cannot place a face in a width x height crop, or None when they can."""
    try:  # the worker's guard reads a payload's landmarks as they came: check their shape here too
        points = [(float(x), float(y)) for x, y in points]
    except (TypeError, ValueError, OverflowError):
        points = []
    if len(points) != POINTS:
        return "the landmarks are not five [x, y] pairs of numbers."
    margin_x, margin_y = width * OUTSIDE_SHARE, height * OUTSIDE_SHARE
    for x, y in points:
        if not (-margin_x <= x <= width + margin_x and -margin_y <= y <= height + margin_y):
            return (f"the point ({x:g}, {y:g}) is outside the {width}x{height} crop: give coordinates in the crop's "
                    "own pixels, from its top left corner.")
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    if not (0 <= mean_x <= width and 0 <= mean_y <= height):
        return (f"the points' centre ({mean_x:g}, {mean_y:g}) is outside the {width}x{height} crop: give coordinates "
                "in the crop's own pixels, from its top left corner.")
    (rx, ry), (lx, ly) = points[0], points[1]
    if math.hypot(lx - rx, ly - ry) < MIN_EYE_DISTANCE:
        return (f"the two eyes are less than {MIN_EYE_DISTANCE:g} pixel apart: the first two points are the right "
                "and the left eye, at their own positions.")
    # The spread of the points along their two principal axes (the eigenvalues of their 2x2 covariance).
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    syy = sum((y - mean_y) ** 2 for _, y in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    half_trace, root = (sxx + syy) / 2, math.hypot((sxx - syy) / 2, sxy)
    wide, narrow = half_trace + root, max(half_trace - root, 0.0)
    if wide <= 0 or math.sqrt(narrow / wide) < MIN_SPREAD_RATIO:
        return ("the five points lie on one line: they do not outline a face (eyes above the nose tip, mouth "
                "corners below it).")
    return None
