"""Non-match biometric data never reaches durable storage, and the engine stays free of Django."""

from __future__ import annotations

import ast
import builtins
import io
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

import matching.engine
from matching.engine import FaceEngine, Gallery

from .support import read_image

ENGINE_DIR = Path(matching.engine.__file__).resolve().parent


def test_pipeline_writes_nothing_to_disk(
    engine: FaceEngine, deepface_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    image = read_image(deepface_dir, "selfie-many-people.jpg")
    writes: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        if any(flag in str(mode) for flag in "wax+"):
            writes.append(str(file))
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            writes.append(str(path))
        return real_os_open(path, flags, *args, **kwargs)

    def refuse(*args: object, **kwargs: object) -> None:
        writes.append(repr(args[:1]))

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    monkeypatch.setattr(cv2, "imwrite", refuse)
    monkeypatch.setattr(np, "save", refuse)
    monkeypatch.setattr(np, "savez", refuse)
    monkeypatch.chdir(tmp_path)

    faces, embeddings = engine.templates(image)
    engine.assess_quality(image)
    Gallery(embeddings).search(embeddings, k=3)

    assert len(faces) == 7
    assert writes == []
    assert list(tmp_path.iterdir()) == []


def test_engine_imports_no_django() -> None:
    for path in ENGINE_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not [n for n in names if n.split(".")[0] == "django"], f"{path.name} imports Django"
