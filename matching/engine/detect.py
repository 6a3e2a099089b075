"""Face detectors: YuNet (decoded here) and SCRFD (through insightface's model_zoo)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import cv2
import numpy as np
import onnxruntime as ort

from .face import Face
from .providers import fixed_batch

YUNET_STRIDES = (8, 16, 32)
YUNET_ALIGNMENT = 32  # the coarsest stride: input sides must be multiples of it
DETECT_BATCH = 16  # images per detector run where the detector batches (16 x 640x640 float32: about 80 MB)


class Detector(Protocol):
    def detect(self, image: np.ndarray) -> list[Face]: ...


def detect_many(detector: Detector, images: Sequence[np.ndarray]) -> list[list[Face]]:
    """Faces per image, in order: one batched run per group where the detector batches, else one run each."""
    batched = getattr(detector, "detect_many", None)
    if batched is not None:
        return batched(images)
    return [detector.detect(image) for image in images]


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

    # No batched detection: YuNet's input is [1, 3, h, w] and its graph reshapes with a batch of 1 baked in (with
    # the input axis made symbolic, 2 images come out folded into one anchor axis), so detect_many loops.
    batched = False

    def detect(self, image: np.ndarray) -> list[Face]:
        height, width = image.shape[:2]
        scale = fit_scale(height, width, self.max_size)
        resized = resize_for_detection(image, scale)
        blob = _padded_blob(resized, YUNET_ALIGNMENT)
        raw = self.session.run(self._output_names, {self._input_name: blob})
        return self._faces(dict(zip(self._output_names, raw, strict=True)), blob, resized, height, width)

    def detect_many(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        """detect for each image, one session run each (see batched)."""
        return [self.detect(image) for image in images]

    def _faces(self, outputs: dict[str, np.ndarray], blob: np.ndarray, resized: np.ndarray, height: int,
               width: int) -> list[Face]:
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

    @property
    def batched(self) -> bool:
        """True for SCRFD exports with a batch axis (buffalo_s's det_500m: input [?, 3, ?, ?], outputs [?, n, k]):
        every image is letterboxed into the same input_size, so any images batch together."""
        return bool(getattr(self.model, "batched", False)) and fixed_batch(self._session()) is None

    def detect(self, image: np.ndarray) -> list[Face]:
        boxes, landmarks = self.model.detect(image, input_size=self.input_size)
        return self._faces(boxes, landmarks)

    def detect_many(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        """detect for each image, DETECT_BATCH letterboxed images per session run where the model batches.

        The decoding is insightface's SCRFD.detect (letterbox, forward, per-stride decode, score order, NMS)
        applied to each row of one batched run; tests check it against detect image by image."""
        if not self.batched:
            return [self.detect(image) for image in images]
        if not self.model.use_kps:
            self._faces(np.empty((0, 5), np.float32), None)  # refused as detect refuses it
        results: list[list[Face]] = []
        for start in range(0, len(images), DETECT_BATCH):
            results += self._detect_batch(images[start : start + DETECT_BATCH])
        return results

    def _session(self) -> Any:
        # The session insightface's own detect runs for this input size (a fixed-shape copy where it makes one).
        choose = getattr(self.model, "_session_for_input_size", None)
        return choose(tuple(self.input_size)) if choose is not None else self.model.session

    def _detect_batch(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        from insightface.model_zoo.scrfd import distance2bbox, distance2kps  # heavy import, only for SCRFD

        model, (input_w, input_h) = self.model, self.input_size
        letterboxed, scales = [], []
        for image in images:
            det_img, det_scale = _letterbox(image, (input_w, input_h))
            letterboxed.append(det_img)
            scales.append(det_scale)
        blob = cv2.dnn.blobFromImages(letterboxed, 1.0 / model.input_std, (input_w, input_h),
                                      (model.input_mean,) * 3, swapRB=True)
        blob = np.ascontiguousarray(blob, dtype=getattr(model, "input_dtype", np.float32))
        outs = self._session().run(model.output_names, {model.input_name: blob})
        fmc, threshold = model.fmc, float(model.det_thresh)
        results = []
        for row, det_scale in enumerate(scales):
            scores_list, boxes_list, kps_list = [], [], []
            for idx, stride in enumerate(model._feat_stride_fpn):
                scores = outs[idx][row]
                centres = _anchor_centres(input_h // stride, input_w // stride, stride, model._num_anchors)
                positive = np.where(scores >= threshold)[0]
                scores_list.append(scores[positive])
                boxes_list.append(distance2bbox(centres, outs[idx + fmc][row] * stride)[positive])
                if model.use_kps:
                    kps = distance2kps(centres, outs[idx + fmc * 2][row] * stride)
                    kps_list.append(kps.reshape((kps.shape[0], -1, 2))[positive])
            scores = np.vstack(scores_list)
            if scores.size == 0:
                results.append([])
                continue
            order = np.argsort(-scores.ravel(), kind="stable")
            pre_det = np.hstack((np.vstack(boxes_list) / det_scale, scores)).astype(np.float32, copy=False)[order]
            landmarks = (np.vstack(kps_list) / det_scale)[order] if model.use_kps else None
            keep = model.nms(pre_det)
            results.append(self._faces(pre_det[keep], None if landmarks is None else landmarks[keep]))
        return results

    def _faces(self, boxes: np.ndarray, landmarks: np.ndarray | None) -> list[Face]:
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


def _letterbox(image: np.ndarray, input_size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """insightface SCRFD's letterbox: resized to fit input_size (width, height), top-left, zero padded."""
    input_w, input_h = input_size
    if image.shape[0] / image.shape[1] > input_h / input_w:
        new_h = input_h
        new_w = int(new_h / (image.shape[0] / image.shape[1]))
    else:
        new_w = input_w
        new_h = int(new_w * (image.shape[0] / image.shape[1]))
    det_img = np.zeros((input_h, input_w, 3), dtype=np.uint8)
    det_img[:new_h, :new_w, :] = cv2.resize(image, (new_w, new_h))
    return det_img, float(new_h) / image.shape[0]


_CENTRES: dict[tuple[int, int, int, int], np.ndarray] = {}


def _anchor_centres(rows: int, cols: int, stride: int, anchors: int) -> np.ndarray:
    key = (rows, cols, stride, anchors)
    if key not in _CENTRES:
        centres = (np.stack(np.mgrid[:rows, :cols][::-1], axis=-1).astype(np.float32) * stride).reshape((-1, 2))
        if anchors > 1:
            centres = np.stack([centres] * anchors, axis=1).reshape((-1, 2))
        _CENTRES[key] = centres
    return _CENTRES[key]
