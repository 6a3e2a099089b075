"""Folding DequantizeLinear: exact semantics and models ONNX Runtime accepts."""

from __future__ import annotations

import numpy as np
import onnx

from matching.engine import EngineConfig, load_manifest
from matching.engine.onnx_fix import dequantize_constant, derive_runnable_model
from matching.engine.packs import locate_file


def test_blocked_per_axis_and_per_tensor_dequantisation() -> None:
    quantized = np.arange(-8, 8, dtype=np.int8).reshape(2, 8)
    scale = np.array([[0.5, 2.0], [1.0, 4.0]], dtype=np.float32)
    zero = np.array([[1, 0], [0, -1]], dtype=np.int8)
    blocked = dequantize_constant(quantized, scale, zero, axis=1, block_size=4)
    expected = np.empty((2, 8), np.float32)
    for row in range(2):
        for column in range(8):
            block = column // 4
            expected[row, column] = (quantized[row, column] - zero[row, block]) * scale[row, block]
    assert np.array_equal(blocked, expected)

    per_tensor = dequantize_constant(
        quantized[0], np.array([0.25], np.float32), np.array([2], np.int8), axis=0, block_size=8
    )
    assert np.array_equal(per_tensor, (quantized[0].astype(np.float32) - 2) * 0.25)

    per_axis = dequantize_constant(quantized, np.array([1.0, 2.0], np.float32), None, axis=0, block_size=0)
    assert np.array_equal(per_axis, quantized.astype(np.float32) * np.array([[1.0], [2.0]], np.float32))


def test_derived_models_have_no_dequantize_nodes_or_dangling_inputs() -> None:
    pack = load_manifest("yunet-sface")
    for role, dynamic in (("detector", True), ("recogniser", False)):
        source = locate_file(pack, pack.files[role], EngineConfig()).read_bytes()
        model = onnx.load_from_string(derive_runnable_model(source, dynamic_spatial=dynamic))
        assert not [n for n in model.graph.node if n.op_type == "DequantizeLinear"]
        assert len(model.graph.input) == 1
