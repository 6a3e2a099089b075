"""manage.py recommend_threshold --pack P --condition colour|greyscale --watchlist-size N --target-fpir F
[--k K] [--images-per-entry 1|2]

The threshold that follows from a target of false alerts per passer-by for a watchlist of N entries, from the pack's
calibration (the same proposal the application form prefills), with the figures behind it.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from lfr_governance import faces

from ... import selectors
from ...services import CONFIRMATION_FRAMES_RANGE


def _whole(raw: str, name: str, low: int, high: int | None, example: str) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise CommandError(f"{name} must be a whole number, e.g. {example}; {raw!r} is not.") from None
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise CommandError(f"{name} must be {bounds}, e.g. {example}; {value} is not.")
    return value


def _target(raw: str) -> float:
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise CommandError(f"--target-fpir must be a number between 0 and 1, e.g. 0.001 (1 in 1,000 passers-by); "
                           f"{raw!r} is not.") from None
    if not math.isfinite(value) or not 0 < value < 1:
        raise CommandError(f"--target-fpir must be between 0 and 1 (both excluded), e.g. 0.001 (1 in 1,000 "
                           f"passers-by); {raw} is not.")
    return value


class Command(BaseCommand):
    help = ("The threshold meeting a target of false alerts per passer-by for a watchlist of N entries, from the "
            "pack's calibration: with the expected false alerts, its 95% upper bound, the expected share of listed "
            "people found, whether the calibration can measure so low a rate, and where the figures come from.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pack", required=True, help="model pack id, e.g. yunet-sface")
        parser.add_argument("--condition", required=True, choices=list(faces.CONDITIONS),
                            help="imaging condition: colour, or greyscale (night-time frames)")
        parser.add_argument("--watchlist-size", required=True, help="entries on the watchlist, at least 1")
        parser.add_argument("--target-fpir", default=None,
                            help="most false alerts per passer-by, between 0 and 1 (default "
                                 "LFR_TARGET_FALSE_ALERTS_PER_PASSER_BY)")
        parser.add_argument("--k", default="2", help="frames to confirm a match, 1 to 10 (default 2)")
        parser.add_argument("--images-per-entry", default="1", choices=["1", "2"],
                            help="accepted images per entry: 1, or 2 where every entry has two or more (default 1)")

    def handle(self, *args: Any, **options: Any) -> None:
        pack = str(options["pack"]).strip()
        size = _whole(options["watchlist_size"], "--watchlist-size", 1, None, "1000")
        k = _whole(options["k"], "--k", *CONFIRMATION_FRAMES_RANGE, "2")
        images = _whole(options["images_per_entry"], "--images-per-entry", 1, 2, "1")
        raw_target = options["target_fpir"]
        target = settings.LFR_TARGET_FALSE_ALERTS_PER_PASSER_BY if raw_target is None else _target(raw_target)
        known = faces.known_packs()
        if pack not in known:
            raise CommandError(f"Unknown model pack {pack!r}: known packs are {', '.join(known) or 'none'}.")
        try:
            op = faces.threshold_propose(pack, condition=options["condition"], watchlist_size=size,
                                         confirmation_frames=k, images_per_entry=images, target=target)
        except faces.CalibrationMissing as exc:
            raise CommandError(str(exc.args[0]) if exc.args else f"Pack {pack} has no calibration.") from None
        except (KeyError, IndexError, TypeError) as exc:
            raise CommandError(f"The calibration of pack {pack} is incomplete ({exc!r} missing): run manage.py "
                               f"calibrate_packs --pack {pack} again.") from None
        qualifier = "at most" if op.is_bound else "about"
        write = self.stdout.write
        write(f"Model pack {pack}, {op.condition} frames: a watchlist of {size:,} entr{'y' if size == 1 else 'ies'}, "
              f"{op.images_per_entry} image(s) per entry, {k} frame(s) to confirm a match"
              + ("" if op.is_bound else f", {op.looks_per_passer_by} looks per passer-by"))
        write(f"Target: at most {target:g} false alerts per passer-by ({selectors.per_passer_by_text(target)})")
        write(f"Threshold: {op.threshold:.2f}")
        write(f"Expected false alerts per passer-by: {qualifier} {op.per_passer_by:.3g} "
              f"({selectors.per_passer_by_text(op.per_passer_by)})")
        write(f"95% upper bound: {op.per_passer_by_upper_95:.3g} "
              f"({selectors.per_passer_by_text(op.per_passer_by_upper_95)})")
        write(f"Expected share of listed people found (TPIR): {op.tpir:.1%}")
        write("Meets the target (95% upper bound within it): " + (
            "yes" if op.meets_target else "no: no calibrated threshold is shown to meet it; the one with the "
                                          "smallest upper bound is given"))
        write(f"Measurable: {'yes' if op.measurable else 'no'} ({op.impostor_comparisons:,} impostor comparisons"
              + ("" if op.measurable else "; too few to show a rate as low as the target for this watchlist: the "
                                          "figures rest on the upper bound") + ")")
        write(f"Calibration: {op.source}")
