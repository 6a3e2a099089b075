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
