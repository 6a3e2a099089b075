"""Edge API input and output. Images are read into memory only (the upload handlers hold no temp files)."""

from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from lfr_governance.api import ErrorSerializer

from ..landmarks import MAX_CHARS_PER_CROP, LandmarksInvalid, landmarks_parse
from ..frames import FRAME_ID_RE

FRAME_ID_HELP = "Unique per node (letters, digits and . _ : -, at most 100); a repeat is answered as a duplicate."


class CaptureTimeField(serializers.DateTimeField):
    """ISO 8601 with its UTC offset: a time without one would be read in the server's zone."""

    default_error_messages = {"no_offset": "Give captured_at with its UTC offset, e.g. 2026-05-01T14:03:27Z."}

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "When the camera captured the frame, ISO 8601 with its UTC offset.")
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is not None and parsed.tzinfo is None:
            self.fail("no_offset")
        return super().to_internal_value(value)


class FrameInputSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="The frame, JPEG or PNG.")
    frame_id = serializers.RegexField(FRAME_ID_RE, help_text=FRAME_ID_HELP)
    captured_at = CaptureTimeField()
    camera = serializers.CharField(max_length=100, help_text="Which camera of the node took the frame.")


class DetectionsInputSerializer(serializers.Serializer):
    crops = serializers.ListField(child=serializers.FileField(), min_length=1,
                                  help_text="One or more face crops (JPEG or PNG), as repeated `crops` parts.")
    landmarks = serializers.CharField(
        required=False, allow_blank=True,
        help_text="JSON: a list with one item per crop, each [[x, y] x 5] in the crop's pixels (right eye, left eye, "
                  "nose tip, right and left mouth corner) or null to let the server detect the face in the crop. "
                  "Finite numbers, within the crop (a point of a face cut by its edge may lie up to half the "
                  "crop's size outside; their centre inside), the eyes apart and the points not on one line; at most "
                  f"{MAX_CHARS_PER_CROP} characters per crop.",
    )
    frame_id = serializers.RegexField(FRAME_ID_RE, help_text=FRAME_ID_HELP)
    captured_at = CaptureTimeField()
    camera = serializers.CharField(max_length=100)

    def validate(self, attrs):
        count = len(attrs["crops"])
        raw = attrs.get("landmarks") or ""
        if not raw.strip():
            attrs["landmarks"] = [None] * count
            return attrs
        try:
            attrs["landmarks"] = landmarks_parse(raw, count)
        except LandmarksInvalid as exc:
            raise serializers.ValidationError({"landmarks": str(exc)})
        return attrs


class QueuedOutputSerializer(serializers.Serializer):
    frame_id = serializers.CharField()
    status = serializers.CharField(help_text="queued")
    deployment = serializers.IntegerField(source="deployment_id")


class StatusDeploymentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    status = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class StatusOutputSerializer(serializers.Serializer):
    edge_node = serializers.CharField()
    live = serializers.BooleanField(help_text="Whether frames are accepted now.")
    deployment = StatusDeploymentSerializer(allow_null=True)
    server_time = serializers.DateTimeField()
    max_clock_skew_seconds = serializers.IntegerField()
    max_requests_per_second = serializers.IntegerField()
    max_image_bytes = serializers.IntegerField()
    problem = serializers.CharField(allow_blank=True, required=False,
                                    help_text="Why frames cannot be matched now; frames are refused meanwhile. "
                                              "Empty when all is well.")


class EdgeErrorSerializer(ErrorSerializer):
    """The service's error body, with the edge API's own codes."""

    code = serializers.CharField(help_text="not_live, outside_window, clock_skew, bad_image, image_too_large, "
                                           "rate_limited, duplicate_frame, too_many_crops, too_many_files, "
                                           "too_many_fields, nul_character, invalid, not_found, server_error, not_matching, ...")
