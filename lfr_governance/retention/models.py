from django.db import models


class PurgeRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class PurgeRun(models.Model):
    """One run of the retention purge: when, what it deleted per data kind, and what went wrong."""

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=PurgeRunStatus.choices, default=PurgeRunStatus.RUNNING)
    deleted = models.JSONField(default=dict, blank=True, help_text="{data kind: records deleted}")
    errors = models.JSONField(default=list, blank=True)
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"purge {self.started_at:%Y-%m-%d %H:%M} {self.status}"


class LegalHold(models.Model):
    """Keeps one alert past its retention period: with a reason, an owner and a review date."""

    alert = models.ForeignKey("matching.Alert", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="legal_holds")
    alert_ref = models.CharField(max_length=40, help_text="The alert's number, kept when the alert is later erased.")
    deployment_id = models.BigIntegerField(db_index=True)
    reason = models.TextField()
    owner = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+",
                              help_text="The officer responsible for reviewing and releasing the hold.")
    review_date = models.DateField()
    placed_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+")
    placed_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    release_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-placed_at"]
        constraints = [
            models.UniqueConstraint(fields=["alert"], condition=models.Q(released_at__isnull=True),
                                    name="legalhold_one_active_per_alert"),
        ]

    @property
    def active(self) -> bool:
        return self.released_at is None
