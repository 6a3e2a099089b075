"""Face detectors: YuNet (decoded here) and SCRFD (through insightface's model_zoo)."""

from __future__ import annotations

from typing import Any, Protocol

import cv2
import numpy as np
import onnxruntime as ort

from .face import Face

YUNET_STRIDES = (8, 16, 32)
YUNET_ALIGNMENT = 32  # the coarsest stride: input sides must be multiples of it


class Detector(Protocol):
    def detect(self, image: np.ndarray) -> list[Face]: ...


def fit_scale(height: int, width: int, box: tuple[int, int]) -> float:
    """Scale that fits an image of height x width inside box (width, height), keeping its aspect."""
    return min(box[0] / width, box[1] / height)


def resize_for_detection(image: np.ndarray, scale: float) -> np.ndarray:
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == (width, height):
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def non_max_suppression(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of the boxes (x1, y1, x2, y2) kept by greedy NMS, best score first."""
    order = np.argsort(-scores, kind="stable")
    areas = np.maximum(0.0, boxes[:, 2] - boxes[:, 0]) * np.maximum(0.0, boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        width = np.maximum(0.0, np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0]))
        height = np.maximum(
            0.0, np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1])
        )
        overlap = width * height
        iou = overlap / np.maximum(areas[best] + areas[rest] - overlap, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def decode_yunet(
    outputs: dict[str, np.ndarray], input_width: int, score_threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn YuNet's per-stride cls/obj/bbox/kps maps into boxes (N,4), landmarks (N,5,2), scores (N,).

    Same decoding as OpenCV's FaceDetectorYN: anchor-free, one prior per cell at
    (col, row) * stride; score = sqrt(cls * obj); box centre offset and log size
    in stride units; landmarks as offsets from the cell in stride units.
    """
    boxes, landmarks, scores = [], [], []
    for stride in YUNET_STRIDES:
        cols = input_width // stride
        cls = np.clip(outputs[f"cls_{stride}"].reshape(-1), 0.0, 1.0)
        obj = np.clip(outputs[f"obj_{stride}"].reshape(-1), 0.0, 1.0)
        score = np.sqrt(cls * obj)
        hits = np.flatnonzero(score >= score_threshold)
        if hits.size == 0:
            continue
        col = (hits % cols).astype(np.float32)
        row = (hits // cols).astype(np.float32)
        bbox = outputs[f"bbox_{stride}"].reshape(-1, 4)[hits]
        centre_x = (col + bbox[:, 0]) * stride
        centre_y = (row + bbox[:, 1]) * stride
        half_w = np.exp(bbox[:, 2]) * stride / 2
        half_h = np.exp(bbox[:, 3]) * stride / 2
        boxes.append(np.stack([centre_x - half_w, centre_y - half_h, centre_x + half_w, centre_y + half_h], axis=1))
        kps = outputs[f"kps_{stride}"].reshape(-1, 5, 2)[hits]
        landmarks.append((kps + np.stack([col, row], axis=1)[:, None, :]) * stride)
        scores.append(score[hits])
    if not scores:
        return np.empty((0, 4), np.float32), np.empty((0, 5, 2), np.float32), np.empty((0,), np.float32)
    return (
        np.concatenate(boxes).astype(np.float32),
        np.concatenate(landmarks).astype(np.float32),
        np.concatenate(scores).astype(np.float32),
    )


class YuNetDetector:
    """YuNet on ONNX Runtime. Input: BGR uint8 of any size; the model sees BGR 0..255, no normalisation."""

    def __init__(
        self,
        session: ort.InferenceSession,
        *,
        max_size: tuple[int, int] = (640, 640),
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
    ) -> None:
        self.session = session
        self.max_size = max_size
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self._input_name = session.get_inputs()[0].name
        self._output_names = [output.name for output in session.get_outputs()]

    def detect(self, image: np.ndarray) -> list[Face]:
        height, width = image.shape[:2]
        scale = fit_scale(height, width, self.max_size)
        resized = resize_for_detection(image, scale)
        blob = _padded_blob(resized, YUNET_ALIGNMENT)
        raw = self.session.run(self._output_names, {self._input_name: blob})
        outputs = dict(zip(self._output_names, raw, strict=True))
        boxes, landmarks, scores = decode_yunet(outputs, blob.shape[3], self.score_threshold)
        keep = non_max_suppression(boxes, scores, self.nms_threshold)
        # Map back through the actual resize factors, which rounding makes differ slightly per axis.
        factors = np.array([width / resized.shape[1], height / resized.shape[0]], dtype=np.float32)
        return [
            Face(
                box=_box((boxes[i].reshape(2, 2) * factors).reshape(-1)),
                landmarks=(landmarks[i] * factors).astype(np.float32),
                score=float(scores[i]),
            )
            for i in keep
        ]


def _box(values: np.ndarray) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in values)
    return x1, y1, x2, y2


def _padded_blob(image: np.ndarray, alignment: int) -> np.ndarray:
    height, width = image.shape[:2]
    padded_h = -(-height // alignment) * alignment
    padded_w = -(-width // alignment) * alignment
    blob = np.zeros((1, 3, padded_h, padded_w), dtype=np.float32)
    blob[0, :, :height, :width] = image.transpose(2, 0, 1)
    return blob


class ScrfdDetector:
    """SCRFD through insightface's model_zoo (letterboxed to input_size, RGB, (x - 127.5) / 128)."""

    def __init__(
        self,
        model: Any,
        *,
        input_size: tuple[int, int] = (640, 640),
        score_threshold: float = 0.5,
        nms_threshold: float = 0.4,
    ) -> None:
        self.model = model
        self.input_size = input_size
        model.prepare(ctx_id=0, input_size=input_size, det_thresh=score_threshold, nms_thresh=nms_threshold)

    def detect(self, image: np.ndarray) -> list[Face]:
        boxes, landmarks = self.model.detect(image, input_size=self.input_size)
        if landmarks is None:
            raise RuntimeError("This SCRFD model gives no landmarks; alignment needs a *_kps / bnkps model.")
        return [
            Face(
                box=_box(boxes[i, :4]),
                landmarks=landmarks[i].astype(np.float32),
                score=float(boxes[i, 4]),
            )
            for i in range(boxes.shape[0])
        ]
