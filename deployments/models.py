from django.conf import settings
from django.db import models
from django.db.models import Q
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from lfr_governance.accounts.models import Team
from lfr_governance.clock import ClockDateTimeField
from watchlists.models import WatchlistVersion

from .choices import AuthorisationDecision, DeploymentStatus


class EdgeNode(models.Model):
    """A registered camera box. Its token is shown once and stored only as a SHA-256 hash."""

    name = models.CharField(max_length=100, unique=True)
    camera_description = models.CharField(max_length=300)
    location_description = models.CharField(max_length=300, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=12, help_text="First characters of the token, to tell tokens apart.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = ClockDateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Deployment(models.Model):
    status = models.CharField(max_length=20, choices=DeploymentStatus.choices, default=DeploymentStatus.DRAFT,
                              db_index=True)
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="deployments")
    title = models.CharField(max_length=200)
    purpose = models.TextField()
    offence_focus = models.CharField(max_length=300)
    intelligence_case_ref = models.CharField("intelligence case reference", max_length=64)
    location_name = models.CharField(max_length=200)
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    area_radius_m = models.PositiveIntegerField("area radius (metres)", null=True, blank=True)
    area_polygon = models.JSONField("area polygon", default=list, blank=True,
                                    help_text="[[lat, lng], ...] with at least three points, or empty.")
    location_reason = models.TextField("reason to believe watchlisted people will be there")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    edge_nodes = models.ManyToManyField(EdgeNode, blank=True, related_name="deployments")
    watchlist_version = models.ForeignKey(WatchlistVersion, on_delete=models.PROTECT, related_name="deployments")
    threshold = models.FloatField(help_text="The threshold for colour frames.")
    threshold_greyscale = models.FloatField(
        null=True, blank=True,
        help_text="The threshold for greyscale (night-mode) frames; empty on applications made before it existed, "
                  "whose greyscale frames use the colour threshold.")
    threshold_justification = models.TextField(blank=True)
    confirmation_frames = models.PositiveSmallIntegerField(
        "frames to confirm a match", default=2,
        help_text="k: a passer-by alerts only when the same watchlist entry scores at or above the threshold in at "
                  "least this many frames of their track (1 alerts on a single frame).")
    expected_footfall = models.PositiveIntegerField(help_text="People expected to pass the cameras in the window.")
    necessity_proportionality = models.TextField("necessity and proportionality statement")
    dpia_ref = models.CharField("DPIA reference", max_length=64)
    community_impact = models.TextField("community impact assessment")
    engagement_notes = models.TextField("community engagement notes", blank=True)
    public_prenotice = models.TextField("public pre-notice (URL or text)")
    authorising_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The officer the application is submitted to.",
    )
    operators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="operated_deployments")
    cancelled_reason = models.TextField(blank=True)
    went_live_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = ClockDateTimeField(auto_now_add=True)
    updated_at = ClockDateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at"]
        default_permissions = ("add", "change", "view")
        permissions = [
            ("authorise_deployment", "Can authorise or reject this deployment"),
            ("operate_deployment", "Can watch this deployment's alerts and adjudicate them"),
            ("manage_edge_nodes", "Can register and revoke edge nodes"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="deployment_ends_after_start"),
            models.CheckConstraint(
                condition=Q(authorising_officer__isnull=True) | ~Q(authorising_officer=models.F("applicant")),
                name="deployment_ao_not_applicant",
            ),
            models.CheckConstraint(condition=Q(threshold__gt=0) & Q(threshold__lt=1), name="deployment_threshold_range"),
            models.CheckConstraint(
                condition=Q(threshold_greyscale__isnull=True)
                | (Q(threshold_greyscale__gt=0) & Q(threshold_greyscale__lt=1)),
                name="deployment_threshold_greyscale_range"),
            models.CheckConstraint(condition=Q(confirmation_frames__gte=1) & Q(confirmation_frames__lte=10),
                                   name="deployment_confirmation_frames_range"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def pack_id(self) -> str:
        return self.watchlist_version.pack_id


class DeploymentUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Deployment, on_delete=models.CASCADE)


class DeploymentGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Deployment, on_delete=models.CASCADE)


class Authorisation(models.Model):
    """One decision by an authorising officer, bound to exactly what was authorised."""

    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="authorisations")
    authorising_officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=20, choices=AuthorisationDecision.choices)
    reasons = models.TextField()
    decided_at = models.DateTimeField()
    urgent_oral = models.BooleanField(default=False, help_text="Given orally in urgency; written confirmation due.")
    written_confirmation_due_at = models.DateTimeField(null=True, blank=True)
    written_confirmation_at = models.DateTimeField(null=True, blank=True)
    written_confirmation_text = models.TextField(blank=True)
    # What the decision binds: any change to these returns the deployment to draft.
    bound_watchlist_digest = models.CharField(max_length=64)
    bound = models.JSONField(help_text="location, area, times, edge nodes and threshold as authorised")
    estimate = models.JSONField(default=dict, blank=True, help_text="The false-alert estimate the officer saw.")
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-decided_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(urgent_oral=False) | Q(written_confirmation_due_at__isnull=False),
                name="authorisation_urgent_has_due_time",
            ),
        ]


def signage_photo_path(instance: "SignageRecord", filename: str) -> str:
    return f"signage/{instance.deployment_id}/{filename[-80:]}"


class SignageRecord(models.Model):
    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="signs")
    position_description = models.CharField(max_length=300)
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    size = models.CharField(max_length=60, help_text="e.g. A1 (594 x 841 mm)")
    photo = models.FileField(upload_to=signage_photo_path, blank=True, max_length=300)
    placed_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = ClockDateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["placed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True) | Q(removed_at__gt=models.F("placed_at")),
                name="signage_removed_after_placed",
            ),
        ]


class LeafletRecord(models.Model):
    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="leaflets")
    count = models.PositiveIntegerField()
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    where = models.CharField(max_length=300)
    distributed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = ClockDateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["window_start"]
        constraints = [
            models.CheckConstraint(condition=Q(window_end__gt=models.F("window_start")), name="leaflet_window_order"),
        ]


class PostDeploymentReview(models.Model):
    deployment = models.OneToOneField(Deployment, on_delete=models.PROTECT, related_name="review")
    what_happened = models.TextField()
    lessons = models.TextField(blank=True)
    issues_raised = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField()


class DeploymentCounters(models.Model):
    """Counts the pipeline keeps per deployment: the evidence of processing and deletion. No biometrics."""

    deployment = models.OneToOneField(Deployment, on_delete=models.CASCADE, related_name="counters")
    frames_received = models.PositiveBigIntegerField(default=0)
    frames_refused = models.PositiveBigIntegerField(default=0)
    # Of those, refused because the workers were behind (503 `busy`): the frame would have waited too long.
    frames_refused_busy = models.PositiveBigIntegerField(default=0)
    frames_processed = models.PositiveBigIntegerField(default=0)
    frames_deleted = models.PositiveBigIntegerField(default=0)
    # Accepted frames whose payload expired before a worker reached them: never matched, so any alert in them was
    # lost. Admission control keeps this at 0; anything else is a problem the deployment page and /healthz show.
    frames_expired = models.PositiveBigIntegerField(default=0)
    faces_detected = models.PositiveBigIntegerField(default=0)
    templates_compared = models.PositiveBigIntegerField(default=0)
    alerts = models.PositiveBigIntegerField(default=0)
    # Passers-by: tracks started; candidates: tracks at or above threshold in at least one frame; sightings: faces
    # of alerted people. Candidates not confirmed = candidates - alerts made from tracks (tracks_alerted).
    tracks = models.PositiveBigIntegerField(default=0)
    candidates = models.PositiveBigIntegerField(default=0)
    tracks_alerted = models.PositiveBigIntegerField(default=0)
    sightings = models.PositiveBigIntegerField(default=0)
    embeddings = models.PositiveBigIntegerField(default=0)
    # Crops posted to `detections` in which no face was found (even with the border added): counted, not lost.
    crops_without_face = models.PositiveBigIntegerField(default=0)
    deletion_ms_total = models.FloatField(default=0)
    deletion_ms_max = models.FloatField(default=0)
    # Outcomes of alerts since erased by retention, so the published record keeps its figures.
    erased_alerts = models.PositiveIntegerField(default=0)
    erased_true_alerts = models.PositiveIntegerField(default=0)
    erased_false_alerts = models.PositiveIntegerField(default=0)
    erased_engagements = models.PositiveIntegerField(default=0)
    erased_arrests = models.PositiveIntegerField(default=0)
    # The perceived demographics operators recorded on false alerts since erased: {"age_band": {"25_34": 2}, ...}.
    erased_false_alert_demographics = models.JSONField(default=dict, blank=True)
    updated_at = ClockDateTimeField(auto_now=True)
