"""Alerts: the only record the pipeline keeps of a face, made when a score reaches the threshold.

Everything else about a frame (the frame, its crops and templates) never reaches this database: the
pipeline keeps counts in deployments.DeploymentCounters and deletion timings in DeletionLatencyBucket.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from deployments.models import Deployment, EdgeNode
from watchlists.models import ReferenceImage, WatchlistEntry

from .choices import Decision, Imaging, Outcome, PerceivedAgeBand, PerceivedEthnicity, PerceivedGender


def alert_probe_path(instance: "Alert", filename: str) -> str:
    # A random name: the path tells nothing about the frame, the camera or the person.
    return f"alerts/{instance.deployment_id}/{uuid.uuid4().hex}.jpg"


class Alert(models.Model):
    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="alerts")
    edge_node = models.ForeignKey(EdgeNode, on_delete=models.PROTECT, related_name="alerts")
    camera = models.CharField(max_length=100)
    frame_id = models.CharField(max_length=100, help_text="The edge node's id of the frame that confirmed it.")
    face_index = models.PositiveSmallIntegerField(default=0)
    # The track (one passer-by on one camera) that made it: a digest of the track's first face's frame id and index.
    track_ref = models.CharField(max_length=120, blank=True)
    entry = models.ForeignKey(WatchlistEntry, on_delete=models.PROTECT, related_name="alerts")
    # The watchlist image that matched best; gone (null) once the watchlist version is destroyed.
    reference_image = models.ForeignKey(ReferenceImage, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    probe_image = models.FileField(upload_to=alert_probe_path, max_length=300)
    score = models.FloatField()
    threshold = models.FloatField(help_text="The threshold applied: the deployment's, as authorised.")
    pack_id = models.CharField(max_length=64)
    imaging = models.CharField(max_length=12, choices=Imaging.choices, default=Imaging.COLOUR)
    captured_at = models.DateTimeField(help_text="When the person was first seen above threshold (first sighting).")
    received_at = models.DateTimeField()
    alerted_at = models.DateTimeField(db_index=True)
    # One alert per person: the track's faces (and a later appearance on the same camera inside the merge window)
    # are its sightings.
    last_seen_at = models.DateTimeField(null=True, blank=True)
    sighting_count = models.PositiveIntegerField(default=1)
    probe_quality = models.FloatField(default=0.0, help_text="The probe crop's face quality: a better one replaces it.")
    confirmation_frames = models.PositiveSmallIntegerField(
        default=1, help_text="k: frames at or above threshold the track needed (the deployment's rule, as authorised).")
    # A face that matched two entries alerts for the best; the other's best score is kept.
    runner_up_entry = models.ForeignKey(WatchlistEntry, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    runner_up_score = models.FloatField(null=True, blank=True)
    decision = models.CharField(max_length=20, choices=Decision.choices, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    outcome_text = models.TextField(blank=True)
    outcome_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    outcome_at = models.DateTimeField(null=True, blank=True)
    # On a false alert the operator may record how the passer-by appeared (optional, fixed choices, never free text),
    # so the published record can show who the false alerts fell on, as the Home Office publishes for its trials.
    perceived_age_band = models.CharField(max_length=12, choices=PerceivedAgeBand.choices, blank=True)
    perceived_gender = models.CharField(max_length=12, choices=PerceivedGender.choices, blank=True)
    perceived_ethnicity = models.CharField(max_length=12, choices=PerceivedEthnicity.choices, blank=True)

    class Meta:
        ordering = ["-alerted_at", "-id"]
        default_permissions = ("view",)
        permissions = [("adjudicate_alert", "Can adjudicate alerts and record engagement outcomes")]
        constraints = [
            # A redelivered frame cannot make a second alert for the same passer-by.
            models.UniqueConstraint(fields=["edge_node", "camera", "track_ref", "entry"], condition=~Q(track_ref=""),
                                    name="alert_once_per_track"),
            models.CheckConstraint(condition=Q(score__gte=models.F("threshold")), name="alert_score_at_threshold"),
            models.CheckConstraint(condition=Q(outcome="") | Q(decision=Decision.CONFIRMED),
                                   name="alert_outcome_only_when_confirmed"),
            models.CheckConstraint(condition=~Q(outcome=Outcome.OTHER) | ~Q(outcome_text=""),
                                   name="alert_other_outcome_described"),
        ]
        indexes = [
            models.Index(fields=["deployment", "decision"]),
            # The console asks for a deployment's alerts after the last one it has, every few seconds.
            models.Index(fields=["deployment", "id"], name="alert_deployment_after_id"),
            # The merge: the same entry on the same camera, seen lately.
            models.Index(fields=["deployment", "edge_node", "camera", "entry", "last_seen_at"], name="alert_merge"),
        ]

    def __str__(self) -> str:
        return f"alert {self.pk} ({self.entry.subject_ref if self.entry_id else '?'})"

    @property
    def awaiting_decision(self) -> bool:
        return not self.decision


class Sighting(models.Model):
    """One face of an alerted person: a frame of the track that made the alert, or of a later appearance merged
    into it. Alert data (kept and erased with the alert); no image of its own except the alert's best probe."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="sightings")
    frame_id = models.CharField(max_length=100)
    face_index = models.PositiveSmallIntegerField(default=0)
    track_ref = models.CharField(max_length=120, blank=True)
    captured_at = models.DateTimeField()
    score = models.FloatField(null=True, blank=True, help_text="Empty when the face was carried by its track and "
                                                               "not compared again.")
    quality = models.FloatField(default=0.0)

    class Meta:
        ordering = ["captured_at", "id"]
        default_permissions = ()
        constraints = [
            # A frame re-run after a crash adds nothing twice.
            models.UniqueConstraint(fields=["alert", "frame_id", "face_index"], name="sighting_once_per_face"),
        ]

    def __str__(self) -> str:
        return f"sighting {self.pk} of alert {self.alert_id}"


class DeletionLatencyBucket(models.Model):
    """How long non-match frame data lived, as a histogram per deployment: counts only, no biometrics."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="deletion_buckets")
    upper_ms = models.PositiveIntegerField(help_text="Frames deleted within this many milliseconds of receipt "
                                                     "(and above the next lower bucket).")
    frames = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["deployment", "upper_ms"]
        constraints = [models.UniqueConstraint(fields=["deployment", "upper_ms"], name="deletion_bucket_unique")]
