"""Edge API input and output. Images are read into memory only (the upload handlers hold no temp files)."""

import json

from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from lfr_governance.api import ErrorSerializer

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
                  "nose tip, right and left mouth corner) or null to let the server detect the face in the crop.",
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
            landmarks = json.loads(raw)
        except ValueError:
            raise serializers.ValidationError({"landmarks": "Not valid JSON."})
        if not isinstance(landmarks, list) or len(landmarks) != count:
            raise serializers.ValidationError({"landmarks": f"Give a list of {count} items, one per crop."})
        for item in landmarks:
            if item is None:
                continue
            valid = (isinstance(item, list) and len(item) == 5 and all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) for v in p) for p in item))
            if not valid:
                raise serializers.ValidationError({"landmarks": "Each item is null or five [x, y] number pairs."})
        attrs["landmarks"] = landmarks
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


class EdgeErrorSerializer(ErrorSerializer):
    """The service's error body, with the edge API's own codes."""

    code = serializers.CharField(help_text="not_live, outside_window, clock_skew, bad_image, image_too_large, "
                                           "rate_limited, duplicate_frame, too_many_crops, invalid, ...")
