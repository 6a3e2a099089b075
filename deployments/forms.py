"""Forms for the deployment pages. They check shapes (required, numbers, UK times); the services own the rules."""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime, time
from datetime import timezone as dt_timezone
from decimal import Decimal, InvalidOperation
from functools import cached_property
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from lfr_governance import clock
from lfr_governance.accounts.choices import Rank, Role, rank_at_least
from lfr_governance.accounts.roles import role_group_name
from lfr_governance.forms import GovukPartsField, GovukPartsWidget, govuk_date
from watchlists.choices import VersionStatus
from watchlists.models import WatchlistVersion
from watchlists.selectors import watchlists_visible

from . import selectors, services
from .models import EdgeNode

UK = ZoneInfo("Europe/London")
COORDINATE = Decimal("0.000001")
_TIME_RE = re.compile(r"^(\d{1,2})[:.]?(\d{2})$")


# --- UK date and time --------------------------------------------------------------------------


class GovukDateTimeWidget(GovukPartsWidget):
    """The GOV.UK date input plus a 24-hour time box: <name>-day, -month, -year and -time."""

    parts = ("day", "month", "year", "time")


def uk_datetime(day: date, clock: time) -> datetime:
    """The instant a UK wall-clock time names; refuses the hour skipped when the clocks go forward."""
    local = datetime.combine(day, clock).replace(tzinfo=UK)
    utc = local.astimezone(dt_timezone.utc)
    if utc.astimezone(UK).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ValidationError("does not exist in UK time (the clocks go forward an hour that night)")
    return utc


class GovukDateTimeField(GovukPartsField):
    """A date and a time typed in UK time (Europe/London), cleaned to an aware UTC datetime."""

    widget = GovukDateTimeWidget

    def to_python(self, value):
        if isinstance(value, datetime) or value in (None, ""):
            return value or None
        day, month, year, clock = (value.get(part, "") for part in GovukDateTimeWidget.parts)
        if not (day or month or year or clock):
            return None
        noun = self.noun[0].upper() + self.noun[1:]
        # Any 4-digit year: the services refuse one outside the policy's range, with the range (lfr_governance.dates).
        on = govuk_date(noun, day, month, year, extra_missing=[] if clock else ["time"], min_year=1000,
                        example="14 11 2026")
        match = _TIME_RE.match(clock)
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            raise ValidationError(f"{noun} must include a 24-hour time, e.g. 14:30")
        try:
            return uk_datetime(on, time(int(match[1]), int(match[2])))
        except ValidationError as exc:
            raise ValidationError(f"{noun}: {clock} on {on:%-d %B %Y} {exc.messages[0]}")

    def stored_parts(self, value) -> dict[str, str] | None:
        if isinstance(value, datetime):  # shown in UK time
            local = value.astimezone(UK)
            return {"day": str(local.day), "month": str(local.month), "year": str(local.year),
                    "time": local.strftime("%H:%M")}
        return None


def now_to_the_minute() -> datetime:
    return clock.now().replace(second=0, microsecond=0)


class CoordinateField(forms.DecimalField):
    """Decimal degrees (WGS84) to six places, so an unchanged value compares equal with the stored one."""

    def __init__(self, *, low: int, high: int, noun: str, **kwargs):
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("required", f"Enter the {noun}")
        kwargs["error_messages"].setdefault("invalid", f"Enter the {noun} as a number in decimal degrees, e.g. "
                                                       f"{'51.507400' if high == 90 else '-0.127800'}")
        kwargs["error_messages"].setdefault("min_value", f"The {noun} must be between {low} and {high}")
        kwargs["error_messages"].setdefault("max_value", f"The {noun} must be between {low} and {high}")
        super().__init__(min_value=low, max_value=high, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return None if value is None else value.quantize(COORDINATE)


def parse_polygon(text: str) -> list[list[float]]:
    """Points as 'latitude, longitude' one a line, or as JSON [[lat, lng], ...]."""
    text = (text or "").strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            points = json.loads(text)
        except json.JSONDecodeError:
            raise ValidationError("Give the polygon as one 'latitude, longitude' pair a line")
    else:
        points = [re.split(r"[,\s]+", line.strip()) for line in text.splitlines() if line.strip()]
    polygon = []
    for number, point in enumerate(points, start=1):
        try:
            lat, lng = (float(Decimal(str(v)).quantize(COORDINATE)) for v in point)
        except (ValueError, TypeError, InvalidOperation):
            raise ValidationError(f"Point {number} of the polygon is not a 'latitude, longitude' pair, "
                                  "e.g. 51.507400, -0.127800")
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise ValidationError(f"Point {number} of the polygon is outside the range of latitudes and longitudes")
        polygon.append([lat, lng])
    if len(polygon) < 3:
        raise ValidationError("A polygon needs at least three points; or leave it empty and give a radius")
    return polygon


def polygon_text(polygon) -> str:
    return "\n".join(f"{lat:.6f}, {lng:.6f}" for lat, lng in polygon or [])


# --- Application -------------------------------------------------------------------------------


class WatchlistVersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, version) -> str:
        return (f"{version.watchlist.operation_name}, version {version.number} ({version.size} "
                f"entr{'y' if version.size == 1 else 'ies'}, model pack {version.pack_id}, "
                f"digest {version.digest[:12]}…)")


class EdgeNodeChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, node) -> str:
        return f"{node.name}{' (revoked)' if node.revoked_at else ''}"


class ApplicationForm(forms.Form):
    """Every field of the application, with hints; the service validates the rules again and owns them."""

    title = forms.CharField(
        label="Title", max_length=200,
        help_text="A short name officers will recognise, e.g. Operation Kestrel: High Street, Saturday afternoon.",
        error_messages={"required": "Enter a title for the deployment"},
    )
    purpose = forms.CharField(
        label="Purpose", widget=forms.Textarea,
        help_text="The policing objective this deployment serves and what it should achieve.",
        error_messages={"required": "Enter the purpose of the deployment"},
    )
    offence_focus = forms.CharField(
        label="Offence focus", max_length=300,
        help_text="The offences the deployment targets, e.g. robbery and knife crime. It is shown in the "
                  "published record.",
        error_messages={"required": "Enter the offence focus"},
    )
    intelligence_case_ref = forms.CharField(
        label="Intelligence case reference", max_length=64,
        help_text="The intelligence case behind the deployment, e.g. CASE/2026/17.",
        error_messages={"required": "Enter the intelligence case reference"},
    )
    location_name = forms.CharField(
        label="Location name", max_length=200,
        help_text="The street or place as the public knows it, e.g. High Street, Exampletown. It is shown in the "
                  "published record.",
        error_messages={"required": "Enter the location name"},
    )
    latitude = CoordinateField(
        label="Latitude of the centre", low=-90, high=90, noun="latitude",
        help_text="Decimal degrees (WGS84), north positive, e.g. 51.507400. Phones and maps show it as the first "
                  "number.",
    )
    longitude = CoordinateField(
        label="Longitude of the centre", low=-180, high=180, noun="longitude",
        help_text="Decimal degrees (WGS84), west negative, e.g. -0.127800.",
    )
    area_radius_m = forms.IntegerField(
        label="Area radius in metres", required=False, min_value=1, max_value=5000,
        help_text="Bounds the area as a circle around the centre. Keep it as small as the objective allows. "
                  "Give a radius or a polygon.",
        error_messages={"invalid": "Enter the radius as a whole number of metres, e.g. 150",
                        "min_value": "The radius must be at least 1 metre",
                        "max_value": "The radius must be 5000 metres or less: bound a smaller area"},
    )
    area_polygon = forms.CharField(
        label="Area polygon", required=False, widget=forms.Textarea,
        help_text="Instead of a radius: the corners of the area, one 'latitude, longitude' pair a line, "
                  "at least three.",
    )
    location_reason = forms.CharField(
        label="Why watchlisted people are expected here", widget=forms.Textarea,
        help_text="The intelligence that gives reason to believe people on the watchlist will be in this area "
                  "at this time.",
        error_messages={"required": "Enter why people on the watchlist are expected to be here"},
    )
    starts_at = GovukDateTimeField(
        label="Start", noun="start date and time",
        help_text="UK time. Processing opens by itself at this time, if signage is recorded as in place.",
    )
    ends_at = GovukDateTimeField(
        label="End", noun="end date and time",
        help_text=f"UK time. Processing closes by itself at this time. A deployment may last at most "
                  f"{settings.LFR_DEPLOYMENT_MAX_HOURS} hours.",
    )
    edge_nodes = EdgeNodeChoiceField(
        label="Edge nodes", queryset=EdgeNode.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The registered camera boxes to use. Only these may send frames, and only while the deployment "
                  "is live. Choose at least one before submitting.",
        error_messages={"invalid_choice": "Choose edge nodes from the list", "invalid_pk_value": "Choose edge nodes "
                                                                                               "from the list"},
    )
    watchlist_version = WatchlistVersionChoiceField(
        label="Watchlist version", queryset=WatchlistVersion.objects.none(), empty_label="Choose a frozen version",
        help_text="Only frozen versions of watchlists you can see are listed. The authorisation is bound to the "
                  "version's digest: a new version needs a new authorisation.",
        error_messages={"required": "Choose the watchlist version", "invalid_choice": "Choose a watchlist version "
                                                                                     "from the list"},
    )
    threshold = forms.FloatField(
        label="Match threshold for colour frames", min_value=0.01, max_value=0.99,
        error_messages={"required": "Enter the match threshold for colour frames, e.g. 0.45",
                        "invalid": "Enter the match threshold for colour frames as a number between 0 and 1, "
                                   "e.g. 0.45",
                        "min_value": "The match threshold for colour frames must be between 0.01 and 0.99",
                        "max_value": "The match threshold for colour frames must be between 0.01 and 0.99"},
    )
    threshold_greyscale = forms.FloatField(
        label="Match threshold for greyscale (night-time) frames", min_value=0.01, max_value=0.99,
        error_messages={"required": "Enter the match threshold for greyscale frames, e.g. 0.50",
                        "invalid": "Enter the match threshold for greyscale frames as a number between 0 and 1, "
                                   "e.g. 0.50",
                        "min_value": "The match threshold for greyscale frames must be between 0.01 and 0.99",
                        "max_value": "The match threshold for greyscale frames must be between 0.01 and 0.99"},
    )
    threshold_justification = forms.CharField(
        label="Why a threshold below the proposal is justified", required=False, widget=forms.Textarea,
        help_text="Needed only when a threshold is below its proposed threshold: a lower threshold gives more "
                  "false alerts than the force's target. The authorising officer sees this.",
    )
    confirmation_frames = forms.IntegerField(
        label="Frames to confirm a match", min_value=services.CONFIRMATION_FRAMES_RANGE[0],
        max_value=services.CONFIRMATION_FRAMES_RANGE[1], initial=2,
        help_text="A passer-by alerts only when the same watchlisted person scores at or above the threshold in at "
                  "least this many frames of their track: 1 alerts on a single frame; 2 (the usual) or more gives "
                  "fewer false alerts but needs the person in view for longer. A whole number from "
                  f"{services.CONFIRMATION_FRAMES_RANGE[0]} to {services.CONFIRMATION_FRAMES_RANGE[1]}.",
        error_messages={
            "required": "Enter the frames to confirm a match, a whole number from 1 to 10, e.g. 2",
            "invalid": "Enter the frames to confirm a match as a whole number from 1 to 10, e.g. 2",
            "min_value": "The frames to confirm a match must be at least 1 (1 alerts on a single frame)",
            "max_value": "The frames to confirm a match must be 10 or fewer: a passer-by is in view for a few "
                         "seconds only",
        },
    )
    expected_footfall = forms.IntegerField(
        label="Expected footfall", min_value=0,
        help_text="About how many people will pass the cameras during the window. It drives the false-alert "
                  "estimate the authorising officer sees.",
        error_messages={"required": "Enter the expected footfall, e.g. 8000",
                        "invalid": "Enter the expected footfall as a whole number, e.g. 8000",
                        "min_value": "The expected footfall cannot be negative"},
    )
    necessity_proportionality = forms.CharField(
        label="Necessity and proportionality statement", widget=forms.Textarea,
        help_text="Why live facial recognition is necessary here, why less intrusive tactics will not do, and why "
                  "the place, time, watchlist and threshold are proportionate.",
        error_messages={"required": "Enter the necessity and proportionality statement"},
    )
    dpia_ref = forms.CharField(
        label="DPIA reference", max_length=64,
        help_text="The data protection impact assessment covering this deployment, e.g. DPIA-LFR-2026-03.",
        error_messages={"required": "Enter the DPIA reference"},
    )
    community_impact = forms.CharField(
        label="Community impact assessment", widget=forms.Textarea,
        help_text="The effect on the communities in and around the area, and how it is reduced.",
        error_messages={"required": "Enter the community impact assessment"},
    )
    engagement_notes = forms.CharField(
        label="Community engagement notes", required=False, widget=forms.Textarea,
        help_text="Who was consulted (for example the independent advisory group) and what they said.",
    )
    public_prenotice = forms.CharField(
        label="Public pre-notice", widget=forms.Textarea,
        help_text="How the public is told in advance: the web address of the notice, or its text.",
        error_messages={"required": "Enter the public pre-notice, as a web address or text"},
    )

    date_time_fields = ("starts_at", "ends_at")

    def __init__(self, *args, user, deployment=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.deployment = deployment
        versions = WatchlistVersion.objects.filter(
            status=VersionStatus.FROZEN, watchlist__in=watchlists_visible(user)
        ).select_related("watchlist").order_by("watchlist__operation_name", "-number")
        self.fields["watchlist_version"].queryset = versions
        nodes = EdgeNode.objects.filter(revoked_at__isnull=True)
        if deployment is not None:
            nodes = nodes | EdgeNode.objects.filter(pk__in=deployment.edge_nodes.values("pk"))
        self.fields["edge_nodes"].queryset = nodes.distinct().order_by("name")
        # The proposals of each version listed, for the frames to confirm a match as given (the page's script
        # prefills the thresholds from them when another version is chosen; the service checks again).
        k = self._given_int("confirmation_frames", default=2, low=1, high=services.CONFIRMATION_FRAMES_RANGE[1])
        self.proposals: dict[int, dict[str, float] | None] = {}  # None: the pack cannot propose (the figures say why)
        chosen = self._chosen_version() or versions.first()
        listed = list(versions) + ([deployment.watchlist_version] if deployment else [])
        for version in {v.pk: v for v in listed}.values():
            try:
                proposals = selectors.threshold_proposals(
                    pack_id=version.pack_id, watchlist_size=version.size,
                    images_per_entry=selectors.watchlist_images_per_entry(version), confirmation_frames=k)
            except selectors.ProposalUnavailable:
                self.proposals[version.pk] = None
            else:
                self.proposals[version.pk] = {c: op.threshold for c, op in proposals.items()}
        self.chosen_version = chosen
        proposal = self.proposals.get(chosen.pk) if chosen else None
        if proposal and not self.is_bound:
            for name, condition in (("threshold", "colour"), ("threshold_greyscale", "greyscale")):
                if self.initial.get(name) is None:
                    self.initial[name] = proposal[condition]
        target = settings.LFR_TARGET_FALSE_ALERTS_PER_PASSER_BY
        for name, condition in (("threshold", "colour"), ("threshold_greyscale", "greyscale")):
            self.fields[name].help_text = (
                f"The similarity score at or above which a face in a {condition} frame makes an alert. A higher "
                "threshold gives fewer false alerts but misses more people. It is prefilled with the proposed "
                f"threshold: the lowest that meets the force's target of at most {target:g} false alerts per "
                "passer-by for the chosen watchlist's size and the frames to confirm a match. Below the proposal "
                "it needs a recorded justification.")

    def _given_int(self, name: str, *, default: int, low: int, high: int) -> int:
        """A whole number as given (typed, or the initial value), or `default` where it is not one in range."""
        raw = self.data.get(name) if self.is_bound else self.initial.get(name, self.fields[name].initial)
        try:
            value = int(str(raw).strip())
        except (TypeError, ValueError):
            return default
        return value if low <= value <= high else default

    def _given_float(self, name: str) -> float | None:
        raw = self.data.get(name) if self.is_bound else self.initial.get(name)
        try:
            value = float(str(raw).strip())
        except (TypeError, ValueError):
            return None
        return value if math.isfinite(value) and 0 < value < 1 else None

    @cached_property
    def figures(self):
        """The proposals and the figures at the thresholds as given, for the chosen watchlist version (None
        before one is chosen); the page shows them beside the threshold fields."""
        version = self.chosen_version
        if version is None:
            return None
        return selectors.threshold_figures(
            pack_id=version.pack_id, watchlist_size=version.size,
            images_per_entry=selectors.watchlist_images_per_entry(version),
            confirmation_frames=self._given_int("confirmation_frames", default=2, low=1,
                                                high=services.CONFIRMATION_FRAMES_RANGE[1]),
            footfall=self._given_int("expected_footfall", default=0, low=0, high=10**9),
            chosen={"colour": self._given_float("threshold"), "greyscale": self._given_float("threshold_greyscale")})

    def _chosen_version(self) -> WatchlistVersion | None:
        key = self.data.get("watchlist_version") if self.is_bound else self.initial.get("watchlist_version")
        if isinstance(key, WatchlistVersion):
            return key
        try:
            return self.fields["watchlist_version"].queryset.filter(pk=int(key)).first() if key else None
        except (TypeError, ValueError):
            return None

    @property
    def version_proposals(self) -> list[tuple[int, str, float | None, float | None]]:
        """[version id, pack, colour proposal, greyscale proposal] for the page's script (json_script)."""
        rows = []
        for version in self.fields["watchlist_version"].queryset:
            proposal = self.proposals.get(version.pk) or {}
            rows.append((version.pk, version.pack_id, proposal.get("colour"), proposal.get("greyscale")))
        return rows

    def parts(self, name: str) -> dict[str, str]:
        return self.fields[name].parts_for(self[name].value())

    @property
    def starts_parts(self):
        return self.parts("starts_at")

    @property
    def ends_parts(self):
        return self.parts("ends_at")

    @property
    def chosen_node_ids(self) -> set[str]:
        value = self["edge_nodes"].value() or []
        return {str(getattr(v, "pk", v)) for v in value}

    def clean_area_polygon(self):
        return parse_polygon(self.cleaned_data.get("area_polygon", ""))

    def clean(self):
        data = super().clean()
        # A time shown to the minute and sent back unchanged keeps its stored seconds, so nothing bound changes.
        if self.deployment is not None:
            for name in self.date_time_fields:
                stored, value = getattr(self.deployment, name), data.get(name)
                if value is not None and stored.replace(second=0, microsecond=0) == value:
                    data[name] = stored
        return data

    def service_fields(self) -> dict:
        fields = {name: self.cleaned_data[name] for name in services.APPLICATION_FIELDS if name in self.cleaned_data}
        fields["threshold_justification"] = fields.get("threshold_justification", "").strip()
        return {**fields, "edge_nodes": list(self.cleaned_data["edge_nodes"]),
                "watchlist_version": self.cleaned_data["watchlist_version"]}

    @classmethod
    def initial_for(cls, deployment) -> dict:
        initial = {name: getattr(deployment, name) for name in services.APPLICATION_FIELDS}
        initial["area_polygon"] = polygon_text(deployment.area_polygon)
        # Made before greyscale had its own threshold: its greyscale frames use the colour one, shown as such.
        initial["threshold_greyscale"] = selectors.greyscale_threshold(deployment)
        initial["edge_nodes"] = list(deployment.edge_nodes.all())
        initial["watchlist_version"] = deployment.watchlist_version
        return initial


# --- Submission and decision -------------------------------------------------------------------


def _user_label(user) -> str:
    name = user.get_full_name() or user.username
    profile = getattr(user, "profile", None)
    if profile is None:
        return name
    collar = f", {profile.collar_number}" if profile.collar_number else ""
    return f"{name} ({profile.get_rank_display()}{collar})"


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return _user_label(user)


def authorising_officers_queryset(*, exclude=()):
    ranks = [rank for rank in Rank.values if rank_at_least(rank, settings.LFR_AO_MIN_RANK)]
    return (
        get_user_model().objects.filter(groups__name=role_group_name(Role.AUTHORISING_OFFICER), is_active=True,
                                        profile__rank__in=ranks)
        .exclude(pk__in=[u.pk for u in exclude if u is not None])
        .select_related("profile").order_by("last_name", "first_name", "username").distinct()
    )


class SubmitForm(forms.Form):
    authorising_officer = PersonChoiceField(
        label="Authorising officer", queryset=None, empty_label="Choose an authorising officer",
        error_messages={"required": "Choose the authorising officer to submit the application to",
                        "invalid_choice": "Choose an authorising officer from the list"},
    )

    def __init__(self, *args, deployment, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["authorising_officer"].queryset = authorising_officers_queryset(
            exclude=(deployment.applicant, user))
        minimum = Rank(settings.LFR_AO_MIN_RANK).label
        self.fields["authorising_officer"].help_text = (
            f"Officers holding the authorising officer role at the rank of {minimum} or above. "
            "You cannot submit to yourself or to the applicant.")


class DecisionForm(forms.Form):
    reasons = forms.CharField(
        label="Reasons for your decision", widget=forms.Textarea,
        help_text="Why the deployment is, or is not, necessary and proportionate. The applicant sees this, and it "
                  "is kept with the authorisation.",
        error_messages={"required": "Enter the reasons for your decision"},
    )
    urgent_oral = forms.BooleanField(
        label="This authorisation was given orally in urgency", required=False,
        help_text=f"Only for authorising: a written confirmation is then due within "
                  f"{settings.LFR_URGENT_CONFIRMATION_HOURS} hours.",
    )


class WrittenConfirmationForm(forms.Form):
    text = forms.CharField(
        label="Written confirmation", widget=forms.Textarea,
        help_text="Confirm in writing the oral authorisation you gave, with its reasons.",
        error_messages={"required": "Write the confirmation of your oral authorisation"},
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Reason for cancelling", widget=forms.Textarea,
        help_text="Recorded in the deployment's history and the audit log.",
        error_messages={"required": "Enter why the deployment is cancelled"},
    )


# --- Signage, leaflets, operators, review -----------------------------------------------------


class SignageForm(forms.Form):
    position_description = forms.CharField(
        label="Where the sign is", max_length=300,
        help_text="A description someone else could find it by, e.g. lamp post 14, north side of High Street.",
        error_messages={"required": "Enter where the sign is"},
    )
    latitude = CoordinateField(label="Latitude of the sign", low=-90, high=90, noun="sign's latitude",
                               help_text="Decimal degrees, e.g. 51.507500.")
    longitude = CoordinateField(label="Longitude of the sign", low=-180, high=180, noun="sign's longitude",
                                help_text="Decimal degrees, e.g. -0.127700.")
    size = forms.CharField(
        label="Sign size", max_length=60, help_text="e.g. A1 (594 x 841 mm).",
        error_messages={"required": "Enter the size of the sign, e.g. A1"},
    )
    placed_at = GovukDateTimeField(label="Placed at", noun="time the sign was placed",
                                   help_text="UK time, e.g. 14 11 2026 and 09:45.")
    photo = forms.FileField(
        label="Photo of the sign in place (optional)", required=False,
        help_text="A JPEG or PNG, showing the sign where it stands.",
    )

    date_time_fields = ("placed_at",)

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        limit = settings.LFR_WATCHLIST_IMAGE_MAX_BYTES
        if photo and photo.size > limit:
            raise ValidationError(f"The photo is {photo.size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB. "
                                  "Export a smaller JPEG.")
        return photo

    @property
    def placed_parts(self):
        return self.fields["placed_at"].parts_for(self["placed_at"].value())


class LeafletForm(forms.Form):
    count = forms.IntegerField(
        label="Number of leaflets", min_value=1,
        error_messages={"required": "Enter how many leaflets were handed out",
                        "invalid": "Enter the number of leaflets as a whole number, e.g. 200",
                        "min_value": "Enter at least 1 leaflet"},
    )
    window_start = GovukDateTimeField(label="From", noun="time leaflets were first handed out",
                                      help_text="UK time.")
    window_end = GovukDateTimeField(label="Until", noun="time leaflets were last handed out",
                                    help_text="UK time.")
    where = forms.CharField(
        label="Where they were handed out", max_length=300,
        help_text="e.g. High Street between the station and the market.",
        error_messages={"required": "Enter where the leaflets were handed out"},
    )

    date_time_fields = ("window_start", "window_end")

    def clean(self):
        data = super().clean()
        start, end = data.get("window_start"), data.get("window_end")
        if start and end and end <= start:
            self.add_error("window_end", "The end of the leafleting must be after its start")
        return data

    @property
    def start_parts(self):
        return self.fields["window_start"].parts_for(self["window_start"].value())

    @property
    def end_parts(self):
        return self.fields["window_end"].parts_for(self["window_end"].value())


def operators_queryset(*, exclude=()):
    return (
        get_user_model().objects.filter(groups__name=role_group_name(Role.OPERATOR), is_active=True)
        .exclude(pk__in=[u.pk for u in exclude])
        .select_related("profile").order_by("last_name", "first_name", "username").distinct()
    )


class OperatorAssignForm(forms.Form):
    operator = PersonChoiceField(
        label="Operator", queryset=None, empty_label="Choose an operator",
        help_text="Officers holding the operator role. An operator sees the alerts of the deployments they are "
                  "assigned to, and of no other.",
        error_messages={"required": "Choose the operator to assign",
                        "invalid_choice": "Choose an operator from the list"},
    )

    def __init__(self, *args, deployment, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["operator"].queryset = operators_queryset(exclude=list(deployment.operators.all()))


class ReviewForm(forms.Form):
    what_happened = forms.CharField(
        label="What happened", widget=forms.Textarea,
        help_text="A factual account: alerts, engagements, arrests, problems with the equipment or the area.",
        error_messages={"required": "Describe what happened during the deployment"},
    )
    lessons = forms.CharField(label="Lessons learned", required=False, widget=forms.Textarea,
                              help_text="What to do differently next time.")
    issues_raised = forms.CharField(label="Issues raised", required=False, widget=forms.Textarea,
                                    help_text="Complaints, concerns from the public, or questions for the DPO.")


# --- Edge nodes --------------------------------------------------------------------------------


class EdgeNodeForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=100,
        help_text="A name officers will recognise on the box, e.g. Van 7 camera 1. It must be unique.",
        error_messages={"required": "Enter a name for the edge node"},
    )
    camera_description = forms.CharField(
        label="Camera", max_length=300,
        help_text="The camera and how it is mounted, e.g. mast camera, 4 mm lens.",
        error_messages={"required": "Describe the camera"},
    )
    location_description = forms.CharField(
        label="Usual location", max_length=300, required=False,
        help_text="Where the box is kept or mounted when not deployed, if fixed.",
    )
    latitude = CoordinateField(label="Latitude", low=-90, high=90, noun="latitude", required=False,
                               help_text="Only for a fixed node, in decimal degrees.")
    longitude = CoordinateField(label="Longitude", low=-180, high=180, noun="longitude", required=False,
                                help_text="Only for a fixed node, in decimal degrees.")

    def clean(self):
        data = super().clean()
        if (data.get("latitude") is None) != (data.get("longitude") is None) and not self.errors:
            self.add_error("longitude" if data.get("longitude") is None else "latitude",
                           "Give both the latitude and the longitude, or neither")
        return data
