"""A small edge-node client: what simulate_edge and benchmark_pipeline use to talk to the edge API.

It posts frames as a camera box would: multipart with the frame id and capture time, on kept-alive
connections, retrying connection failures, timeouts, 5xx and 429 answers with exponential backoff (a
duplicate answer to a retry means an earlier attempt got through). A 503 `busy` (the server's workers are behind:
the frame would wait too long) is not retried: that frame is the oldest the node holds, so it is the one dropped,
and the client holds back until Retry-After has passed (`backoff_remaining`), when the node sends its newest. Plain urllib3 (about half the CPU per
request of a requests session, which matters when the load generator shares the server's cores). No
Django import: it can run on an edge node.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import cv2
import numpy as np
import urllib3

EDGE_PATH = "/api/edge/v1/"
RETRY_STATUSES = {429, 500, 502, 503, 504}
BUSY = "busy"  # 503: the workers are behind; drop this frame (the oldest) and send the newest after Retry-After


def edge_base(url: str) -> str:
    url = url.rstrip("/")
    return url + "/" if url.endswith(EDGE_PATH.rstrip("/")) else url + EDGE_PATH


def utc_now_iso() -> str:
    # The camera's own clock, not the application's: the server checks it against its clock for skew.
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class EdgeAnswer:
    frame_id: str
    status: int | None  # HTTP status of the last attempt; None when no answer came
    code: str  # "queued", "duplicate_frame", a refusal code, or "no_answer"
    detail: str
    attempts: int
    seconds: float
    sent_at: float

    @property
    def accepted(self) -> bool:
        # A duplicate after a retry means an earlier attempt was received.
        return self.status == 202 or (self.code == "duplicate_frame" and self.attempts > 1)


class EdgeClient:
    def __init__(self, url: str, token: str, *, retries: int = 4, backoff: float = 0.25, timeout: float = 10.0,
                 connections: int = 4):
        self.base = edge_base(url)
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {token}"}
        self.http = urllib3.PoolManager(maxsize=connections, block=False)
        self._backoff_until = 0.0  # time.monotonic() before which the server asked not to be sent frames

    def backoff_remaining(self) -> float:
        """Seconds left of the server's last `busy` Retry-After (0: send)."""
        return max(0.0, self._backoff_until - time.monotonic())

    def _request(self, method: str, endpoint: str, fields: list | None = None) -> tuple[int, dict, dict]:
        """One attempt: (status, headers, JSON body or {}); raises urllib3's HTTPError when no answer came."""
        response = self.http.request(method, self.base + endpoint, fields=fields, headers=self.headers,
                                     timeout=self.timeout, retries=False)
        return response.status, response.headers, _json(response.data)

    def status(self) -> tuple[int, dict]:
        status, _, body = self._request("GET", "status")
        return status, body

    def post_frame(self, jpeg: bytes, *, frame_id: str, camera: str, captured_at: str | None = None) -> EdgeAnswer:
        captured_at = captured_at or utc_now_iso()
        fields = [("frame_id", frame_id), ("captured_at", captured_at), ("camera", camera),
                  ("image", (f"{frame_id}.jpg", jpeg, "image/jpeg"))]
        return self._post("frames", frame_id, fields)

    def _post(self, endpoint: str, frame_id: str, fields: list) -> EdgeAnswer:
        sent_at = time.time()
        started = time.perf_counter()
        attempt, status, code, detail = 0, None, "no_answer", ""
        while attempt <= self.retries:
            attempt += 1
            retry_after = None
            try:
                status, headers, body = self._request("POST", endpoint, fields)
                code = "queued" if status == 202 else body.get("code", f"http_{status}")
                detail = body.get("detail", "")
                if status not in RETRY_STATUSES:
                    break
                retry_after = _seconds(headers.get("Retry-After"))
                if code == BUSY:  # not retried: the node drops this, its oldest frame, and holds back
                    self._backoff_until = max(self._backoff_until, time.monotonic() + (retry_after or 1.0))
                    break
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                status, code, detail = None, "no_answer", exc.__class__.__name__
            if attempt > self.retries:
                break
            pause = self.backoff * 2 ** (attempt - 1) + random.uniform(0, self.backoff)
            time.sleep(max(pause, retry_after or 0))
        return EdgeAnswer(frame_id, status, code, detail, attempt, time.perf_counter() - started, sent_at)


def _json(data: bytes) -> dict:
    try:
        body = json.loads(data)
        return body if isinstance(body, dict) else {}
    except ValueError:
        return {}


def _seconds(value: str | None) -> float | None:
    try:
        return min(float(value), 10.0) if value else None
    except ValueError:
        return None


def jpeg_encode(image: np.ndarray, quality: int = 85) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("The frame could not be encoded as JPEG.")
    return encoded.tobytes()


def on_canvas(image: np.ndarray, width: int, height: int, grey: int = 96) -> np.ndarray:
    """The image scaled to fit inside a width x height canvas, centred: a camera-sized frame."""
    canvas = np.full((height, width, 3), grey, dtype=np.uint8)
    scale = min(width * 0.9 / image.shape[1], height * 0.9 / image.shape[0])
    tile = cv2.resize(image, (max(1, int(image.shape[1] * scale)), max(1, int(image.shape[0] * scale))),
                      interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    top, left = (height - tile.shape[0]) // 2, (width - tile.shape[1]) // 2
    canvas[top:top + tile.shape[0], left:left + tile.shape[1]] = tile
    return canvas


def read_image_file(path) -> np.ndarray | None:
    """Any JPEG, PNG, WebP or BMP file (some '.jpg' files are really WebP) as a BGR array, or None."""
    data = np.fromfile(str(path), dtype=np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None


def percentile(values, p: float) -> float | None:
    if not len(values):
        return None
    return float(np.percentile(np.asarray(values, dtype=float), p))
