"""Input and output serializers for the deployments API (HackSoft style: no model serializers, no writes here).

Input serializers only parse types; the rules (bounded area and length, threshold proposal, applicant and
authorising officer differ, the transition table) live once, in deployments.services, and come back as
field errors through the API's exception handler. There is no writable status: transitions are
endpoints. No serializer ever carries an edge node's token hash, and only the registration answer
carries the token itself.
"""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from watchlists.models import WatchlistVersion

from ..choices import AuthorisationDecision, DeploymentStatus
from ..models import EdgeNode
from ..services import CONFIRMATION_FRAMES_RANGE


def _username_field(help_text: str) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.filter(is_active=True), help_text=help_text,
        error_messages={"does_not_exist": "No active user has the username {value}."},
    )


def _coordinate(help_text: str, **kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=9, decimal_places=6, help_text=help_text, **kwargs)


class WholeNumberField(serializers.IntegerField):
    """A JSON whole number and nothing that merely reads as one: not "2", 2.0, true, NaN or infinity."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- Application -----------------------------------------------------------------------------


def _threshold_errors(name: str) -> dict[str, str]:
    return {
        "invalid": f"Give {name} as a number between 0 and 1 (both excluded), e.g. 0.45: a JSON number, not NaN or "
                   "infinity.",
        "null": f"Give {name} as a number between 0 and 1, e.g. 0.45, or leave it out (the proposal).",
        "max_string_length": f"Give {name} as a number between 0 and 1, e.g. 0.45.",
        "overflow": f"Give {name} as a number between 0 and 1, e.g. 0.45.",
    }


def _threshold_in_range(value: float, name: str) -> float:
    if not 0 < value < 1:
        raise serializers.ValidationError(f"Give {name} between 0 and 1 (both excluded), e.g. 0.45; {value:g} is "
                                          "not.")
    return value


class DeploymentInputSerializer(serializers.Serializer):
    """The application. With PATCH every field is optional and only the fields sent change."""

    title = serializers.CharField(max_length=200)
    purpose = serializers.CharField()
    offence_focus = serializers.CharField(max_length=300)
    intelligence_case_ref = serializers.CharField(max_length=64)
    location_name = serializers.CharField(max_length=200)
    latitude = _coordinate("Latitude of the centre of the area.")
    longitude = _coordinate("Longitude of the centre of the area.")
    area_radius_m = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="Radius of the area in metres (or give a polygon)."
    )
    area_polygon = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        required=False, help_text="[[latitude, longitude], ...] with at least three points (or give a radius).",
    )
    location_reason = serializers.CharField(help_text="Why watchlisted people are expected to be there.")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(help_text="At most LFR_DEPLOYMENT_MAX_HOURS after the start.")
    watchlist_version = serializers.PrimaryKeyRelatedField(
        queryset=WatchlistVersion.objects.all(), help_text="Id of a frozen watchlist version you can see.",
        # The same words as the service's, so a version that exists but is not visible answers alike.
        error_messages={"does_not_exist": "Choose a watchlist you can see."},
    )
    edge_nodes = serializers.PrimaryKeyRelatedField(
        queryset=EdgeNode.objects.filter(revoked_at__isnull=True), many=True, required=False,
        help_text="Ids of the registered edge nodes to use (needed before submission).",
        error_messages={"does_not_exist": "No active edge node has the id {pk_value}."},
    )
    threshold = serializers.FloatField(
        required=False, error_messages=_threshold_errors("threshold"),
        help_text="Match threshold for colour frames, between 0 and 1 (both excluded); the proposal (`proposal`) "
                  "when left out on creation.",
    )
    threshold_greyscale = serializers.FloatField(
        required=False, error_messages=_threshold_errors("threshold_greyscale"),
        help_text="Match threshold for greyscale (night-time) frames, between 0 and 1 (both excluded); the "
                  "greyscale proposal when left out on creation.",
    )
    threshold_justification = serializers.CharField(
        required=False, allow_blank=True,
        help_text="Required when a threshold is below its proposal (from the force's target, the watchlist's size "
                  "and confirmation_frames).")
    confirmation_frames = WholeNumberField(
        required=False, min_value=CONFIRMATION_FRAMES_RANGE[0], max_value=CONFIRMATION_FRAMES_RANGE[1],
        help_text="Frames to confirm a match (k), 1 to 10; 2 when left out on creation. A passer-by alerts only when "
                  "the same watchlisted person scores at or above the threshold in at least k frames of their track. "
                  "Bound by the authorisation: changing it returns an authorised deployment to draft.",
        error_messages={
            "invalid": "Give confirmation_frames as a whole number from 1 to 10, e.g. 2 (a JSON number: not \"2\", "
                       "2.5 or NaN).",
            "min_value": "confirmation_frames must be at least 1: 1 alerts on a single frame.",
            "max_value": "confirmation_frames must be 10 or fewer: a passer-by is in view for a few seconds only.",
            "max_string_length": "Give confirmation_frames as a whole number from 1 to 10, e.g. 2.",
            "null": "Give confirmation_frames as a whole number from 1 to 10, e.g. 2, or leave it out (2).",
        },
    )
    expected_footfall = serializers.IntegerField(min_value=0, help_text="People expected to pass the cameras.")
    necessity_proportionality = serializers.CharField()
    dpia_ref = serializers.CharField(max_length=64)
    community_impact = serializers.CharField()
    engagement_notes = serializers.CharField(required=False, allow_blank=True)
    public_prenotice = serializers.CharField(help_text="URL or text of the public pre-notice.")

    def validate_threshold(self, value: float) -> float:
        return _threshold_in_range(value, "threshold")

    def validate_threshold_greyscale(self, value: float) -> float:
        return _threshold_in_range(value, "threshold_greyscale")


class DeploymentOutputSerializer(serializers.Serializer):
    """A deployment in a list."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=DeploymentStatus.choices)
    location_name = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    applicant = serializers.CharField(source="applicant.username")
    team = serializers.CharField(source="team.name")
    authorising_officer = serializers.CharField(source="authorising_officer.username", allow_null=True)
    watchlist_version = serializers.IntegerField(source="watchlist_version_id")


class EdgeNodeSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    active = serializers.BooleanField(source="is_active")


class AuthorisationOutputSerializer(serializers.Serializer):
    """One decision and exactly what it binds."""

    id = serializers.IntegerField()
    decision = serializers.ChoiceField(choices=AuthorisationDecision.choices)
    authorising_officer = serializers.CharField(source="authorising_officer.username")
    reasons = serializers.CharField()
    decided_at = serializers.DateTimeField()
    urgent_oral = serializers.BooleanField(help_text="Given orally in urgency: a written confirmation is due.")
    written_confirmation_due_at = serializers.DateTimeField(allow_null=True)
    written_confirmation_at = serializers.DateTimeField(allow_null=True)
    written_confirmation_text = serializers.CharField()
    bound_watchlist_digest = serializers.CharField(help_text="The watchlist version's SHA-256 digest authorised.")
    bound = serializers.DictField(
        help_text="Location, area, times, edge nodes, threshold and frames to confirm a match (`confirmation_frames`, "
                  "in decisions since it was introduced) and the greyscale threshold (`threshold_greyscale`, since "
                  "the threshold follows from the target) as decided.")
    estimate = serializers.DictField(
        help_text="The false-alert estimate the officer saw. Since the threshold follows from the target (`model`: "
                  "`threshold_from_target`) it holds `target`, `confirmation_frames`, `bound` and per condition "
                  "(`conditions`: `colour`, `greyscale`) the proposal and the figures at the threshold; `expected` "
                  "and `expected_upper_95` at the top are the colour ones. Earlier decisions (`per_passer_by`) hold "
                  "`per_passer_by`, `per_passer_by_upper_95`, `fmr_upper_95` and `bound`.")
    superseded_at = serializers.DateTimeField(allow_null=True, help_text="Set when a change voided the decision.")


class SignageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    deployment = serializers.IntegerField(source="deployment_id")
    position_description = serializers.CharField()
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6)
    size = serializers.CharField()
    has_photo = serializers.SerializerMethodField()
    placed_at = serializers.DateTimeField()
    removed_at = serializers.DateTimeField(allow_null=True)
    placed_by = serializers.CharField(source="placed_by.username")
    created_at = serializers.DateTimeField()

    def get_has_photo(self, sign) -> bool:
        return bool(sign.photo)


class LeafletOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    deployment = serializers.IntegerField(source="deployment_id")
    count = serializers.IntegerField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    where = serializers.CharField()
    distributed_by = serializers.CharField(source="distributed_by.username")
    created_at = serializers.DateTimeField()


class ReviewOutputSerializer(serializers.Serializer):
    what_happened = serializers.CharField()
    lessons = serializers.CharField()
    issues_raised = serializers.CharField()
    reviewed_by = serializers.CharField(source="reviewed_by.username")
    reviewed_at = serializers.DateTimeField()


class OperatingOutputSerializer(serializers.Serializer):
    """The calibration's figures at one threshold (matching/engine/thresholds.py, Operating)."""

    threshold = serializers.FloatField()
    per_look = serializers.FloatField(help_text="Expected false alerts of one look at a face (FPIR for the list).")
    per_look_upper_95 = serializers.FloatField()
    per_passer_by = serializers.FloatField(
        help_text="Expected false alerts per passer-by: the per-look figure for confirmation_frames of 2 or more (at "
                  "most), 1 - (1 - per_look)^looks_per_passer_by for 1 (about).")
    per_passer_by_upper_95 = serializers.FloatField(help_text="Its 95% upper bound.")
    tpir = serializers.FloatField(help_text="Expected share of listed people found on one look (held-out people).")
    report_per_look = serializers.FloatField(help_text="The per-look rate measured on the held-out people.")
    impostor_comparisons = serializers.IntegerField()
    measurable = serializers.BooleanField(
        help_text="Whether the calibration had comparisons enough to show a rate as low as the target.")
    meets_target = serializers.BooleanField(allow_null=True)
    source = serializers.CharField(help_text="The calibration the figures come from.")


class ConditionOutputSerializer(serializers.Serializer):
    """One imaging condition: its proposal and the figures at the deployment's threshold."""

    condition = serializers.CharField()
    threshold = serializers.FloatField(allow_null=True, help_text="The threshold applied for this condition.")
    proposal = OperatingOutputSerializer(allow_null=True, help_text="The proposed threshold and its figures.")
    chosen = OperatingOutputSerializer(allow_null=True, help_text="The figures at the threshold applied for.")
    expected = serializers.FloatField(help_text="Expected false alerts over the expected footfall.")
    expected_upper_95 = serializers.FloatField()
    below_proposal = serializers.BooleanField()
    exceeds_target = serializers.BooleanField()
    measurable = serializers.BooleanField()
    warnings = serializers.ListField(child=serializers.CharField())
    error = serializers.CharField()


class ProposalOutputSerializer(serializers.Serializer):
    """The thresholds that follow from the force's target, per imaging condition (read-only)."""

    target = serializers.FloatField(help_text="The force's target: false alerts per passer-by at most.")
    looks_per_passer_by = serializers.IntegerField()
    watchlist_size = serializers.IntegerField()
    images_per_entry = serializers.IntegerField()
    confirmation_frames = serializers.IntegerField()
    footfall = serializers.IntegerField()
    bound = serializers.BooleanField(source="is_bound", help_text="True for k of 2 or more: the figures are at most.")
    error = serializers.CharField(help_text="Why no threshold can be proposed (missing or old calibration), or \"\".")
    conditions = ConditionOutputSerializer(many=True)


class DeploymentDetailOutputSerializer(serializers.Serializer):
    """A deployment with its application, decisions, signage and leaflets, and its threshold proposal.

    Built from a dict (views._deployment_data) so that every computed part is read once.
    """

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=DeploymentStatus.choices)
    applicant = serializers.CharField()
    team = serializers.CharField()
    title = serializers.CharField()
    purpose = serializers.CharField()
    offence_focus = serializers.CharField()
    intelligence_case_ref = serializers.CharField()
    location_name = serializers.CharField()
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6)
    area_radius_m = serializers.IntegerField(allow_null=True)
    area_polygon = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()))
    location_reason = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    watchlist = serializers.IntegerField(help_text="The watchlist's id.")
    watchlist_version = serializers.IntegerField(help_text="The version's id.")
    watchlist_digest = serializers.CharField()
    watchlist_size = serializers.IntegerField()
    pack_id = serializers.CharField(help_text="The model pack of the watchlist version.")
    edge_nodes = EdgeNodeSummarySerializer(many=True)
    threshold = serializers.FloatField()
    threshold_greyscale = serializers.FloatField(
        allow_null=True, help_text="Threshold for greyscale frames; null on applications made before it existed "
                                   "(their greyscale frames use `threshold`).")
    threshold_justification = serializers.CharField()
    confirmation_frames = serializers.IntegerField(
        help_text="Frames to confirm a match (k): a passer-by alerts only when the same watchlisted person scores at "
                  "or above the threshold in at least k frames.")
    proposal = ProposalOutputSerializer(
        help_text="Read-only: per condition the proposed threshold (from the target, the watchlist and k) and the "
                  "figures at the thresholds applied for; below a proposal a threshold needs a justification.")
    expected_footfall = serializers.IntegerField()
    necessity_proportionality = serializers.CharField()
    dpia_ref = serializers.CharField()
    community_impact = serializers.CharField()
    engagement_notes = serializers.CharField()
    public_prenotice = serializers.CharField()
    authorising_officer = serializers.CharField(allow_null=True, help_text="The officer it is submitted to.")
    authorisation = AuthorisationOutputSerializer(
        allow_null=True, help_text="The current authorisation: authorised and not voided by a later change."
    )
    decisions = AuthorisationOutputSerializer(many=True, help_text="Every decision, newest first.")
    go_live_problems = serializers.ListField(
        child=serializers.CharField(), help_text="Why it would not go live now (only while scheduled)."
    )
    operators = serializers.ListField(child=serializers.CharField(), help_text="Usernames of assigned operators.")
    signs = SignageOutputSerializer(many=True)
    leaflets = LeafletOutputSerializer(many=True)
    review = ReviewOutputSerializer(allow_null=True)
    cancelled_reason = serializers.CharField()
    went_live_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


# --- Transitions -----------------------------------------------------------------------------


class SubmitInputSerializer(serializers.Serializer):
    authorising_officer = _username_field("Username of an authorising officer of sufficient rank, not you.")


class AuthoriseInputSerializer(serializers.Serializer):
    # Blank passes through, so the service's own message (what to do) answers.
    reasons = serializers.CharField(allow_blank=True, help_text="Why the deployment is necessary and proportionate.")
    urgent_oral = serializers.BooleanField(
        required=False, default=False, help_text="Record an urgent oral authorisation; written confirmation is due."
    )


class RejectInputSerializer(serializers.Serializer):
    reasons = serializers.CharField(allow_blank=True, help_text="Why it is rejected, so the applicant can act.")


class CancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True)


class ReviewInputSerializer(serializers.Serializer):
    what_happened = serializers.CharField(allow_blank=True)
    lessons = serializers.CharField(required=False, allow_blank=True, default="")
    issues_raised = serializers.CharField(required=False, allow_blank=True, default="")


class ConfirmInputSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, help_text="The written confirmation of the oral authorisation.")


# --- Signage, leaflets, operators ------------------------------------------------------------


class SignageInputSerializer(serializers.Serializer):
    position_description = serializers.CharField(max_length=300)
    latitude = _coordinate("Where the sign stands.")
    longitude = _coordinate("Where the sign stands.")
    size = serializers.CharField(max_length=60, help_text="e.g. A1 (594 x 841 mm)")
    placed_at = serializers.DateTimeField()
    # Empty files pass through, so the service's own image checks answer.
    photo = serializers.FileField(required=False, allow_empty_file=True, help_text="A JPEG or PNG of the sign.")


class SignageRemovedInputSerializer(serializers.Serializer):
    removed_at = serializers.DateTimeField()


class LeafletInputSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=1)
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    where = serializers.CharField(max_length=300)


class OperatorAssignInputSerializer(serializers.Serializer):
    operator = _username_field("Username of a person holding the operator role.")


class OperatorAssignOutputSerializer(serializers.Serializer):
    deployment = serializers.IntegerField()
    operator = serializers.CharField()


# --- Edge nodes ------------------------------------------------------------------------------


class EdgeNodeInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    camera_description = serializers.CharField(max_length=300)
    location_description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    latitude = _coordinate("Where the node usually stands.", required=False, allow_null=True, default=None)
    longitude = _coordinate("Where the node usually stands.", required=False, allow_null=True, default=None)


class EdgeNodeOutputSerializer(serializers.Serializer):
    """A node; never its token or the token's hash, only the prefix that tells tokens apart."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    camera_description = serializers.CharField()
    location_description = serializers.CharField()
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    token_prefix = serializers.CharField(help_text="First characters of the token, to tell tokens apart.")
    active = serializers.BooleanField(source="is_active")
    revoked_at = serializers.DateTimeField(allow_null=True)
    registered_by = serializers.CharField(source="registered_by.username")
    created_at = serializers.DateTimeField()
    deployments = serializers.SerializerMethodField(help_text="How many deployments name this node.")

    def get_deployments(self, node) -> int:
        count = getattr(node, "deployment_count", None)  # annotated by selectors.edge_nodes_all
        return node.deployments.count() if count is None else count


class EdgeNodeRegisterOutputSerializer(EdgeNodeOutputSerializer):
    token = serializers.CharField(help_text="The node's token. Shown in this answer only: it is stored as a hash.")
    token_note = serializers.CharField()


# --- Published record ------------------------------------------------------------------------


class PublishedRecordSerializer(serializers.Serializer):
    """The publishable record of a deployment (selectors.published_record): figures only, no personal data.

    The fields listed here are the only ones published, in JSON and CSV alike.
    """

    reference = serializers.CharField()
    date = serializers.CharField(help_text="Local date of the start (YYYY-MM-DD).")
    place = serializers.CharField()
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    starts_at = serializers.CharField()
    ends_at = serializers.CharField()
    duration_minutes = serializers.IntegerField()
    status = serializers.CharField()
    purpose = serializers.CharField(help_text="The offence focus.")
    watchlist_size = serializers.IntegerField()
    faces_processed = serializers.IntegerField()
    frames_processed = serializers.IntegerField()
    alerts = serializers.IntegerField(help_text="Alerts made: one per person's appearance, however many frames.")
    true_alerts = serializers.IntegerField()
    false_alerts = serializers.IntegerField()
    engagements = serializers.IntegerField()
    arrests = serializers.IntegerField()
    threshold = serializers.FloatField()
    model_pack = serializers.CharField()
    signs = serializers.IntegerField()
    leaflets = serializers.IntegerField()
    # Per passer-by (added after the columns above, which keep their order in the CSV).
    confirmation_frames = serializers.IntegerField(
        help_text="Frames to confirm a match: a passer-by alerted only when the same watchlisted person scored at or "
                  "above the threshold in at least this many frames.")
    passers_by = serializers.IntegerField(
        help_text="People seen: tracks of one face on one camera, however many frames each spans.")
    passers_by_alerted = serializers.IntegerField(
        help_text="Passers-by who confirmed a match: a new alert or a later sighting of an open one.")
    candidates = serializers.IntegerField(
        help_text="Passers-by at or above the threshold in at least one frame.")
    candidates_not_confirmed = serializers.IntegerField(
        help_text="Candidates that never reached the frames to confirm a match: no alert was made.")
    sightings = serializers.IntegerField(help_text="Faces of the people alerted (an alert has one or more).")
    false_alert_rate = serializers.FloatField(
        allow_null=True, help_text="False alerts / passers-by (0.0003 is 0.03%); null while there is no passer-by.")
    false_alert_one_in = serializers.IntegerField(
        allow_null=True, help_text="Passers-by per false alert (the N of \"1 in N\"); null with no false alert or "
                                   "no passer-by.")
