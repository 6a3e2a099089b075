"""Face-matching engine: detection, alignment, embedding, quality and 1:N search.

Pure Python with no Django import, so it can be benchmarked, profiled and run
on an edge node. Images are numpy uint8 arrays, HxWx3, BGR order.
"""

from .config import EngineConfig
from .engine import FaceEngine, load_engine
from .errors import (
    EngineError,
    ImageDecodeError,
    LicenceNotAcknowledgedError,
    PackError,
    PackIntegrityError,
)
from .face import Face
from .gallery import Gallery, Match
from .images import as_bgr, decode_image, is_greyscale, to_greyscale_bgr
from .packs import DEFAULT_PACK, ModelPack, available_packs, load_manifest
from .quality import QualityPolicy, QualityReason, QualityResult

__all__ = [
    "DEFAULT_PACK",
    "EngineConfig",
    "EngineError",
    "Face",
    "FaceEngine",
    "Gallery",
    "ImageDecodeError",
    "LicenceNotAcknowledgedError",
    "Match",
    "ModelPack",
    "PackError",
    "PackIntegrityError",
    "QualityPolicy",
    "QualityReason",
    "QualityResult",
    "as_bgr",
    "available_packs",
    "decode_image",
    "is_greyscale",
    "load_engine",
    "load_manifest",
    "to_greyscale_bgr",
]
