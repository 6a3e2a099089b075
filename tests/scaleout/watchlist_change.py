"""Run in a subprocess against the scale-out suite's servers, as the application role: the watchlist of the live
deployment changes the only way the services allow while it is live. A frozen version never changes and a live
deployment's version cannot be swapped or destroyed (deployment_update refuses a live deployment;
watchlist_version_destroy refuses a version a live deployment uses), so:

1. the intelligence officer removes SUBJECT from the watchlist (a new draft, copied from the frozen version) and
   freezes it (version 2, a new digest);
2. a new deployment over version 2, on the same edge node, is applied for and authorised;
3. once told to (a line on stdin, after it printed READY), in one transaction the authorising officer cancels the
   live deployment and the new one is scheduled, signed and taken live, so the node's frames go to the new
   deployment from that commit on.

Prints one JSON line: the new deployment, its version and digest, and `switched_at` (time.time() just after the
commit).

    DATABASE_URL=... REDIS_URL=... python -m tests.scaleout.watchlist_change DEPLOYMENT_ID SUBJECT_REF
"""

import json
import os
import sys
import time
from datetime import timedelta
from decimal import Decimal


def main(deployment_id: int, subject_ref: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lfr_governance.settings.development")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from deployments import services as dep
    from deployments.models import Deployment
    from lfr_governance import clock
    from tools.benchmarks.pipeline import BENCHMARK_THRESHOLD
    from watchlists import services as wl

    users = {u.username: u for u in get_user_model().objects.filter(username__startswith="bench-")}
    intel, ao = users["bench-intel"], users["bench-ao"]
    old = Deployment.objects.select_related("watchlist_version__watchlist").get(pk=deployment_id)
    watchlist = old.watchlist_version.watchlist
    wl.entry_remove(actor=intel, entry=old.watchlist_version.entries.get(subject_ref=subject_ref))
    version = wl.watchlist_freeze(actor=intel, watchlist=watchlist)
    start = clock.now() - timedelta(minutes=1)
    new = dep.deployment_create(
        actor=intel, watchlist_version=version, edge_nodes=list(old.edge_nodes.all()), starts_at=start,
        ends_at=start + timedelta(hours=3), title=f"{old.title} (v{version.number})", purpose=old.purpose,
        offence_focus=old.offence_focus, intelligence_case_ref=old.intelligence_case_ref,
        location_name=old.location_name, latitude=old.latitude, longitude=old.longitude,
        area_radius_m=old.area_radius_m, location_reason=old.location_reason, expected_footfall=old.expected_footfall,
        necessity_proportionality=old.necessity_proportionality, dpia_ref=old.dpia_ref,
        community_impact=old.community_impact, public_prenotice=old.public_prenotice,
        confirmation_frames=old.confirmation_frames, threshold=BENCHMARK_THRESHOLD,
        threshold_greyscale=BENCHMARK_THRESHOLD, threshold_justification=old.threshold_justification)
    dep.deployment_submit(actor=intel, deployment=new, authorising_officer=ao)
    dep.deployment_authorise(actor=ao, deployment=new, reasons=f"{subject_ref} removed from the watchlist.")
    new.refresh_from_db()
    print("READY", flush=True)
    sys.stdin.readline()  # the test builds a queue of the old deployment's frames first
    # Scheduled (with its sign recorded) only in the switch's own transaction: beat's schedule tick takes a
    # scheduled deployment whose start has passed live by itself, which would make two live deployments on the node.
    with transaction.atomic():
        dep.deployment_cancel(actor=ao, deployment=old, reason=f"{subject_ref} removed from the watchlist.")
        dep.deployment_schedule(actor=intel, deployment=new)
        dep.signage_record_add(actor=intel, deployment=new, position_description="Scale-out test",
                               latitude=Decimal("51.5"), longitude=Decimal("-0.1"), size="A1", placed_at=start)
        dep.deployment_go_live(deployment=new)
    switched_at = time.time()
    print(json.dumps({"deployment_id": new.pk, "version_id": version.pk, "version_number": version.number,
                      "digest": version.digest, "old_digest": old.watchlist_version.digest,
                      "size": version.size, "switched_at": switched_at}), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
