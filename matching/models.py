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

from .choices import Decision, Imaging, Outcome


def alert_probe_path(instance: "Alert", filename: str) -> str:
    # A random name: the path tells nothing about the frame, the camera or the person.
    return f"alerts/{instance.deployment_id}/{uuid.uuid4().hex}.jpg"


class Alert(models.Model):
    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="alerts")
    edge_node = models.ForeignKey(EdgeNode, on_delete=models.PROTECT, related_name="alerts")
    camera = models.CharField(max_length=100)
    frame_id = models.CharField(max_length=100, help_text="The edge node's id of the frame (alert frames only).")
    face_index = models.PositiveSmallIntegerField(default=0)
    entry = models.ForeignKey(WatchlistEntry, on_delete=models.PROTECT, related_name="alerts")
    # The watchlist image that matched best; gone (null) once the watchlist version is destroyed.
    reference_image = models.ForeignKey(ReferenceImage, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    probe_image = models.FileField(upload_to=alert_probe_path, max_length=300)
    score = models.FloatField()
    threshold = models.FloatField(help_text="The threshold applied: the deployment's, as authorised.")
    pack_id = models.CharField(max_length=64)
    imaging = models.CharField(max_length=12, choices=Imaging.choices, default=Imaging.COLOUR)
    captured_at = models.DateTimeField()
    received_at = models.DateTimeField()
    alerted_at = models.DateTimeField(db_index=True)
    decision = models.CharField(max_length=20, choices=Decision.choices, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    outcome_text = models.TextField(blank=True)
    outcome_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    outcome_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-alerted_at", "-id"]
        default_permissions = ("view",)
        permissions = [("adjudicate_alert", "Can adjudicate alerts and record engagement outcomes")]
        constraints = [
            # A redelivered frame cannot make a second alert for the same face.
            models.UniqueConstraint(fields=["edge_node", "frame_id", "face_index"], name="alert_once_per_face"),
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
        ]

    def __str__(self) -> str:
        return f"alert {self.pk} ({self.entry.subject_ref if self.entry_id else '?'})"

    @property
    def awaiting_decision(self) -> bool:
        return not self.decision


class DeletionLatencyBucket(models.Model):
    """How long non-match frame data lived, as a histogram per deployment: counts only, no biometrics."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="deletion_buckets")
    upper_ms = models.PositiveIntegerField(help_text="Frames deleted within this many milliseconds of receipt "
                                                     "(and above the next lower bucket).")
    frames = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["deployment", "upper_ms"]
        constraints = [models.UniqueConstraint(fields=["deployment", "upper_ms"], name="deletion_bucket_unique")]
