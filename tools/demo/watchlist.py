"""Demo data: a frozen watchlist built from the face images shipped inside the insightface package.

The package's only usable photograph is a group picture (t1.jpg), so each face that passes the
enrolment quality gate is cropped out with a margin and enrolled as its own (fictional) subject.
"""

from datetime import date

import cv2
from django.contrib.auth.models import User

from lfr_governance.faces import decode_image, get_engine
from watchlists import services
from watchlists.models import Watchlist

from . import sample_images

DEMO_OPERATION = "Operation Kestrel (demo)"


def _face_crops() -> list[bytes]:
    image = decode_image((sample_images() / "t1.jpg").read_bytes())
    engine = get_engine()
    crops = []
    for face in sorted(engine.detect(image), key=lambda f: f.box[0]):
        x1, y1, x2, y2 = (int(v) for v in face.box)
        margin = int(0.8 * max(x2 - x1, y2 - y1))
        crop = image[max(0, y1 - margin): y2 + margin, max(0, x1 - margin): x2 + margin]
        if engine.assess_quality(crop).accepted:
            ok, encoded = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 95])
            crops.append(encoded.tobytes())
    return crops


def demo_watchlist(stdout=None, operation_name: str = DEMO_OPERATION, case_ref: str = "CASE/DEMO/001") -> Watchlist:
    existing = Watchlist.objects.filter(operation_name=operation_name).first()
    if existing is not None:
        return existing
    intel, reviewer = User.objects.get(username="intel"), User.objects.get(username="reviewer")
    watchlist = services.watchlist_create(
        actor=intel, operation_name=operation_name,
        objective="Locate and arrest people wanted for street robbery in the town centre.",
        intelligence_case_ref=case_ref,
    )
    services.watchlist_reviewer_assign(actor=intel, watchlist=watchlist, reviewer=reviewer)
    categories = [("warrant", ""), ("serious_offence", "robbery"), ("court_conditions", ""), ("serious_offence", "knife_crime")]
    for number, data in enumerate(_face_crops(), start=1):
        category, offence = categories[(number - 1) % len(categories)]
        entry = services.entry_create(
            actor=intel, watchlist=watchlist, subject_ref=f"DEMO-{number:03d}", category=category, offence=offence,
            legal_basis="pace_custody", image_source="custody", image_capture_date=date(2025, 1, number),
            intelligence_ref=f"INT/DEMO/{number:03d}",
            justification="Fictional subject for demonstration: intelligence places them in the town centre.",
        )
        image = services.reference_image_add(actor=intel, entry=entry, data=data, filename=f"demo-{number}.jpg")
        services.reference_image_assess(image_id=image.pk)
        services.entry_review(actor=reviewer, entry=entry, approve=True)
    version = services.watchlist_freeze(actor=intel, watchlist=watchlist)
    if stdout:
        stdout.write(f"Demo watchlist '{operation_name}' v{version.number}: {version.size} entries, "
                     f"digest {version.digest[:16]}…")
    return watchlist
