"""FaceEngine: one pack's detector and recogniser behind the calls the application makes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import onnxruntime as ort

from . import packs
from .align import align_face
from .config import EngineConfig
from .detect import Detector, ScrfdDetector, YuNetDetector, detect_many
from .embed import ArcFaceRecogniser, OnnxRecogniser, Recogniser
from .errors import PackError
from .face import Face
from .images import as_bgr, is_greyscale
from .onnx_fix import derive_runnable_model
from .packs import ModelPack
from .providers import choose_providers, create_session, preload_cuda, session_fallback_notes, session_options
from .quality import QualityPolicy, QualityResult, assess

DERIVATIONS = {
    "onnx-fold-dequantize/dynamic-spatial": lambda source: derive_runnable_model(source, dynamic_spatial=True),
    "onnx-fold-dequantize/dynamic-batch": lambda source: derive_runnable_model(source, dynamic_spatial=False),
}


@dataclass
class FaceEngine:
    """Detect, align and embed faces with one model pack.

    Images are numpy uint8 arrays, HxWx3 in BGR order (as cv2 and decode_image
    give them); greyscale HxW and BGRA are accepted and converted. Nothing here
    writes an image, crop or embedding anywhere: all stays in memory.
    """

    pack: ModelPack
    detector: Detector
    recogniser: Recogniser
    quality_policy: QualityPolicy
    providers: tuple[str, ...]
    # Requested providers that are not in use, one sentence each (EngineConfig.provider_fallback, or a session that
    # ONNX Runtime quietly put on CPU): empty where everything runs where it was asked to.
    provider_notes: tuple[str, ...] = ()

    @property
    def sessions(self) -> list[ort.InferenceSession]:
        """The ONNX Runtime sessions behind the detector and the recogniser."""
        found = []
        for part in (self.detector, self.recogniser):
            session = getattr(part, "session", None) or getattr(getattr(part, "model", None), "session", None)
            if session is not None:
                found.append(session)
        return found

    @property
    def active_providers(self) -> tuple[str, ...]:
        """The providers the sessions actually run on (ONNX Runtime drops one it cannot load), in order."""
        names: dict[str, None] = {}
        for session in self.sessions:
            names.update(dict.fromkeys(session.get_providers()))
        return tuple(names)

    def detect(self, image: np.ndarray) -> list[Face]:
        return self.detector.detect(as_bgr(image))

    def detect_many(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        """detect for each image, in order; batched through one detector run where the detector allows it
        (buffalo_s's SCRFD), one run per image where it does not (YuNet: see batching)."""
        return detect_many(self.detector, [as_bgr(image) for image in images])

    @property
    def batching(self) -> dict[str, bool]:
        """Whether detect_many and embed put several images / crops through one ONNX Runtime run."""
        return {"detect": bool(getattr(self.detector, "batched", False)),
                "embed": bool(getattr(self.recogniser, "batched", False))}

    def align(self, image: np.ndarray, face: Face) -> np.ndarray:
        return align_face(as_bgr(image), face)

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per aligned 112x112 BGR crop."""
        return self.recogniser.embed(crops)

    def templates(self, image: np.ndarray) -> tuple[list[Face], np.ndarray]:
        """Every face in the image and its embedding (rows in the same order)."""
        image = as_bgr(image)
        faces = self.detector.detect(image)
        return faces, self.embed([align_face(image, face) for face in faces])

    def templates_many(self, images: Sequence[np.ndarray]) -> list[tuple[list[Face], np.ndarray]]:
        """templates for each image, with detection batched across images (detect_many) and every face of every
        image embedded together (embed, in batches of the recogniser's batch size)."""
        images = [as_bgr(image) for image in images]
        found = detect_many(self.detector, images)
        embeddings = self.embed([align_face(image, face) for image, faces in zip(images, found, strict=True)
                                 for face in faces])
        results, start = [], 0
        for faces in found:
            results.append((faces, embeddings[start : start + len(faces)]))
            start += len(faces)
        return results

    def assess_quality(self, image: np.ndarray, policy: QualityPolicy | None = None) -> QualityResult:
        """The enrolment quality gate: exactly one face, large, sharp, confidently detected, frontal."""
        image = as_bgr(image)
        return assess(self.detector.detect(image), partial(align_face, image), policy or self.quality_policy)

    def enrolment_template(
        self, image: np.ndarray, policy: QualityPolicy | None = None
    ) -> tuple[QualityResult, np.ndarray | None]:
        """The quality verdict and, only when accepted, the embedding of that one face."""
        image = as_bgr(image)
        result = self.assess_quality(image, policy)
        if not result.accepted or result.face is None:
            return result, None
        return result, self.embed([align_face(image, result.face)])[0]

    def threshold_for(self, image: np.ndarray) -> float | None:
        """The pack's validated threshold for this frame's imaging condition (colour or greyscale)."""
        return self.pack.threshold_for(greyscale=is_greyscale(image))


def load_engine(pack_id: str = packs.DEFAULT_PACK, config: EngineConfig | None = None) -> FaceEngine:
    """Load a pack, verifying every model file's SHA-256 first; raises PackError subclasses."""
    config = config or EngineConfig()
    pack = packs.with_operator_pins(packs.load_manifest(pack_id), config)
    packs.require_licence_acknowledged(pack, config)
    choice = choose_providers(config.providers, fallback=config.provider_fallback)
    providers = choice.providers
    preload_cuda(providers)
    detector_kind, recogniser_kind = pack.detector["kind"], pack.recogniser["kind"]
    if detector_kind == "yunet" and recogniser_kind == "sface":
        detector, recogniser = _load_onnx_pack(pack, config, providers)
    elif detector_kind == "scrfd" and recogniser_kind == "arcface":
        detector, recogniser = _load_insightface_pack(pack, config, providers)
    else:
        raise PackError(
            f"Model pack {pack.id} combines {detector_kind} and {recogniser_kind}, which this engine cannot run."
        )
    engine = FaceEngine(
        pack=pack,
        detector=detector,
        recogniser=recogniser,
        quality_policy=QualityPolicy.merged(config.quality, pack.quality),
        providers=tuple(providers),
    )
    engine.provider_notes = tuple(choice.notes + session_fallback_notes(engine.sessions, providers))
    return engine


def _verified_model(pack: ModelPack, role: str, config: EngineConfig) -> tuple[bytes, Path]:
    spec = pack.files[role]
    path = packs.locate_file(pack, spec, config)
    return packs.read_verified(spec, path, pack), path


def _runnable_model(pack: ModelPack, role: str, config: EngineConfig) -> bytes:
    source, _ = _verified_model(pack, role, config)
    spec = pack.files[role]
    if spec.derived is None:
        return source
    derive = DERIVATIONS.get(spec.derived.method)
    if derive is None:
        raise PackError(f"Model pack {pack.id} asks for unknown derivation {spec.derived.method!r} of {spec.filename}.")
    return packs.derived_model(pack, spec, source, config.model_cache, derive)


def _load_onnx_pack(pack: ModelPack, config: EngineConfig, providers: list[str]) -> tuple[Detector, Recogniser]:
    options = _session_options(config)
    det, rec = pack.detector, pack.recogniser
    detector = YuNetDetector(
        create_session(_runnable_model(pack, "detector", config), options, providers),
        max_size=_size(det["input_size"]),
        score_threshold=float(det["score_threshold"]),
        nms_threshold=float(det["nms_threshold"]),
    )
    recogniser = OnnxRecogniser(
        create_session(_runnable_model(pack, "recogniser", config), options, providers),
        embedding_size=int(rec["embedding_size"]),
        channel_order=rec["channel_order"],
        mean=float(rec["mean"]),
        std=float(rec["std"]),
    )
    return detector, recogniser


def _load_insightface_pack(pack: ModelPack, config: EngineConfig, providers: list[str]) -> tuple[Detector, Recogniser]:
    from insightface import model_zoo  # heavy import, only for the packs that need it

    options = _session_options(config)
    models = {}
    for role in ("detector", "recogniser"):
        _, path = _verified_model(pack, role, config)
        # A direct .onnx path with download left at its default (False) never touches the network.
        models[role] = model_zoo.get_model(str(path), providers=providers, sess_options=options)
        if models[role] is None:
            raise PackError(f"insightface could not route {path.name} to a detector or recogniser.")
    det = pack.detector
    detector = ScrfdDetector(
        models["detector"],
        input_size=_size(det["input_size"]),
        score_threshold=float(det["score_threshold"]),
        nms_threshold=float(det["nms_threshold"]),
    )
    return detector, ArcFaceRecogniser(models["recogniser"], embedding_size=int(pack.recogniser["embedding_size"]))


def _size(value: Sequence[int]) -> tuple[int, int]:
    width, height = value
    return int(width), int(height)


def _session_options(config: EngineConfig) -> ort.SessionOptions:
    return session_options(config.intra_op_threads, config.inter_op_threads, thread_spinning=config.thread_spinning)
