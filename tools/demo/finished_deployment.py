"""Demo data for the DPO: a deployment that ran 40 days ago, with alerts, a legal hold and deletions.

It is built by replaying that day through the real services and the real matching pipeline with the
clock set back (each audit row carries the time the step claims), then one purge run today deletes
what the retention policy says is due. Marked "(demo, finished)" everywhere it shows.
"""

import time
import uuid
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from deployments import services as deployments
from deployments.models import Deployment, EdgeNode
from lfr_governance import clock
from lfr_governance.retention import holds, services
from matching import counts, frames, pipeline
from matching import services as matching
from matching.choices import Decision, Outcome
from matching.models import Alert

from . import sample_images
from .deployment import DEMO_NODE
from .watchlist import demo_watchlist

TITLE = "Market day operation (demo, finished)"
OPERATION = "Operation Merlin (demo, finished)"


def _frames() -> list[tuple[str, bytes]]:
    folder = sample_images()
    # The group photograph holds the enrolled faces; the others are passers-by who must leave no trace.
    names = ["mask_white.jpg", "t1.jpg", "mask_blue.jpg", "Tom_Hanks_54745.png", "mask_green.jpg", "mask_black.jpg"]
    return [(name, (folder / name).read_bytes()) for name in names]


def demo_finished_deployment(stdout=None) -> Deployment | None:
    if Deployment.objects.filter(title=TITLE).exists():
        return None
    intel, ao, operator = (User.objects.get(username=u) for u in ("intel", "ao", "operator"))
    node = EdgeNode.objects.filter(name=DEMO_NODE).first()
    if node is None:
        return None
    local_day = clock.localdate() - timedelta(days=40)
    start = timezone.make_aware(datetime.combine(local_day, datetime.min.time()).replace(hour=10))
    with clock.set_to(start - timedelta(days=3)):
        version = demo_watchlist(operation_name=OPERATION, case_ref="CASE/DEMO/002").versions.get(status="frozen")
        deployment = deployments.deployment_create(
            actor=intel, watchlist_version=version, edge_nodes=[node], starts_at=start, ends_at=start + timedelta(hours=2),
            title=TITLE, purpose="Locate people wanted for robbery on market day.", offence_focus="Robbery",
            intelligence_case_ref="CASE/DEMO/002", location_name="Market Street, Exampletown",
            latitude="51.507800", longitude="-0.128300", area_radius_m=120,
            location_reason="Intelligence places the subjects at the Saturday market.", expected_footfall=5000,
            necessity_proportionality="Targeted, time-limited, small area; less intrusive tactics failed.",
            dpia_ref="DPIA-DEMO-002", community_impact="Demonstration data.", engagement_notes="Demonstration data.",
            public_prenotice="https://police.example/lfr/demo-2",
        )
        deployments.deployment_submit(actor=intel, deployment=deployment, authorising_officer=ao)
        deployments.deployment_authorise(actor=ao, deployment=deployment, reasons="Necessary and proportionate (demo).")
        deployments.deployment_schedule(actor=intel, deployment=deployment)
        deployments.operator_assign(actor=intel, deployment=deployment, operator=operator)
        deployments.signage_record_add(actor=intel, deployment=deployment, position_description="Market entrance",
                                       latitude="51.507900", longitude="-0.128200", size="A1",
                                       placed_at=start - timedelta(minutes=30))
        deployments.leaflet_record_add(actor=intel, deployment=deployment, count=400, window_start=start,
                                       window_end=start + timedelta(hours=2), where="Market Street")
        clock.move_to(start + timedelta(minutes=1))
        deployments.deployments_schedule_tick()
        run_id = uuid.uuid4().hex[:8]  # frame ids are unique per node, across databases sharing a Redis too
        for number, (name, data) in enumerate(_frames() * 3):
            # Each passer-by is in view for as many frames, half a second apart, as the deployment needs to confirm
            # a match (k, 2 by default): one track each, one alert for each enrolled face.
            for look in range(deployment.confirmation_frames):
                clock.move_to(start + timedelta(minutes=5 + 3 * number, seconds=0.5 * look))
                frame_id = f"demo-{run_id}-{number:03d}-{look}"
                # What the edge API does on receipt (without a Celery hop: the frame is processed here); received_at
                # is the wall-clock stopwatch deletion latency is measured from, as the edge API gives it.
                frames.payload_store(deployment.pk, node.pk, frame_id, frames.encode_frame(data))
                counts.frame_received(deployment.pk)
                pipeline.frame_process(deployment_id=deployment.pk, node_id=node.pk, frame_id=frame_id,
                                       captured_at=clock.now().isoformat(), received_at=time.time(),
                                       camera="Market entrance")
        alerts = list(Alert.objects.filter(deployment=deployment).order_by("id"))
        clock.move_to(start + timedelta(minutes=70))
        decisions = [Decision.CONFIRMED, Decision.FALSE_ALERT, Decision.UNDETERMINED]
        for index, alert in enumerate(alerts):
            decision = decisions[index % len(decisions)]
            matching.alert_adjudicate(actor=operator, alert=alert, decision=decision)
            if decision == Decision.CONFIRMED:
                outcome = Outcome.ARRESTED if index == 0 else Outcome.WORDS_OF_ADVICE
                matching.alert_outcome_record(actor=operator, alert=alert, outcome=outcome)
        clock.move_to(start + timedelta(hours=2))
        deployments.deployments_schedule_tick()
        clock.move_to(start + timedelta(hours=3))
        if alerts:
            holds.legal_hold_place(actor=intel, alert=alerts[0], reason="Evidence in the arrest case (demo)",
                                   owner=intel, review_date=clock.localdate() + timedelta(days=90 + 40))
        deployments.deployment_review(actor=intel, deployment=Deployment.objects.get(pk=deployment.pk),
                                      what_happened="One arrest; the other alerts were resolved on the street.")
    run = services.purge_run()
    if stdout:
        stdout.write(f"Demo finished deployment '{TITLE}': {len(alerts)} alerts, {1 if alerts else 0} legal hold; "
                     "today's purge "
                     f"deleted {run.deleted if run else 'nothing (another run was in progress)'}.")
    return deployment
