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
