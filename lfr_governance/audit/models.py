from django.conf import settings
from django.db import models


class Action(models.TextChoices):
    """Processing operations that DPA 2018 s.62 requires logged, plus authentication events."""

    COLLECTION = "collection", "Collection"
    ALTERATION = "alteration", "Alteration"
    CONSULTATION = "consultation", "Consultation"
    DISCLOSURE = "disclosure", "Disclosure"
    COMBINATION = "combination", "Combination"
    ERASURE = "erasure", "Erasure"
    LOGIN = "login", "Login"
    LOGOUT = "logout", "Logout"
    LOGIN_FAILED = "login_failed", "Failed login"


# Consultation and disclosure must say why (s.62(2)).
ACTIONS_NEEDING_JUSTIFICATION = {Action.CONSULTATION, Action.DISCLOSURE}


class AuditEvent(models.Model):
    """One append-only, hash-chained row per processing operation.

    The database refuses UPDATE and DELETE on this table (trigger in migration 0002), and each
    row's hash covers its content and the previous row's hash, so `audit_verify` finds any change
    made around the trigger.
    """

    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=200, help_text="Who acted, as they were named at the time.")
    edge_node_ref = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices, db_index=True)
    event = models.CharField(max_length=80, db_index=True, help_text="What happened, e.g. deployment.authorise")
    target_type = models.CharField(max_length=80, blank=True, db_index=True)
    target_id = models.CharField(max_length=64, blank=True, db_index=True)
    deployment_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    subject_ref = models.CharField(max_length=64, blank=True, db_index=True)
    justification = models.TextField(blank=True)
    changes = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        permissions = [
            ("export_auditevent", "Can export the audit log for the regulator"),
            ("lookup_subject", "Can look up everything held about a data subject"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(action__in=["consultation", "disclosure"]) | ~models.Q(justification=""),
                name="auditevent_justification_required",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.event}"


class AuditCheckpoint(models.Model):
    """A signed statement of the audit chain's head: its newest row, that row's hash and the number of rows.

    The signature is an HMAC-SHA256 with a key the application holds and the database never sees
    (lfr_governance/audit/anchors.py), and each checkpoint is also appended to a file outside the database.
    Someone who can rewrite the table (a database superuser) can recompute the chain's hashes but not a
    checkpoint, so `audit_verify` finds rows rewritten, deleted or truncated up to the newest checkpoint.
    Append-only like the log (trigger in migration 0004); each checkpoint's signature covers the one before.
    """

    created_at = models.DateTimeField()
    last_event_id = models.BigIntegerField(help_text="The newest audit row this checkpoint covers.")
    last_hash = models.CharField(max_length=64, help_text="That row's hash.")
    row_count = models.BigIntegerField(help_text="Audit rows up to and including that row.")
    prev_mac = models.CharField(max_length=64, help_text="The signature of the checkpoint before this one.")
    key_id = models.CharField(max_length=16, help_text="Which key signed it (a fingerprint, not the key).")
    mac = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"checkpoint #{self.pk}: {self.row_count} rows up to row {self.last_event_id}"
