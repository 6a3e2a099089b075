"""Rewrite the int8 block-quantised OpenCV Zoo graphs so ONNX Runtime accepts them.

ONNX Runtime 1.32 refuses the files as shipped: YuNet's DequantizeLinear nodes
carry a ``block_size`` on per-tensor scales, and SFace lists its float weights
as graph inputs that no node consumes (a session then demands them as feeds).
Every DequantizeLinear here dequantises a constant weight, so folding it into a
float32 initializer is exact and removes the problem; unused graph inputs are
dropped. The batch axis (and, for detectors, the spatial axes) are made
symbolic so one session serves any batch size and input size.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import onnx
from onnx import numpy_helper

_FOLDABLE = {"DequantizeLinear", "Reshape"}


def _attribute(node: onnx.NodeProto, name: str, default: int) -> int:
    for attribute in node.attribute:
        if attribute.name == name:
            return int(attribute.i)
    return default


def dequantize_constant(
    quantized: np.ndarray,
    scale: np.ndarray,
    zero_point: np.ndarray | None,
    *,
    axis: int,
    block_size: int,
) -> np.ndarray:
    """Reference DequantizeLinear for per-tensor, per-axis and blocked scales."""
    values = quantized.astype(np.float32)
    zero = np.zeros_like(scale, dtype=np.float32) if zero_point is None else zero_point.astype(np.float32)
    scale = scale.astype(np.float32)
    if values.ndim == 0 or scale.size == 1:
        return ((values - zero.reshape(())) * scale.reshape(())).astype(np.float32)
    axis = axis % values.ndim
    if scale.ndim == values.ndim:
        # Blocked: each scale covers block_size consecutive elements along axis.
        length = values.shape[axis]
        step = block_size if block_size > 0 else int(np.ceil(length / scale.shape[axis]))
        scale = np.repeat(scale, step, axis=axis).take(range(length), axis=axis)
        zero = np.repeat(zero, step, axis=axis).take(range(length), axis=axis)
        return ((values - zero) * scale).astype(np.float32)
    shape = [1] * values.ndim
    shape[axis] = scale.size
    return ((values - zero.reshape(shape)) * scale.reshape(shape)).astype(np.float32)


def _fold_node(node: onnx.NodeProto, constants: dict[str, np.ndarray]) -> np.ndarray:
    inputs = [constants[name] if name else None for name in node.input]
    if node.op_type == "DequantizeLinear":
        quantized, scale = inputs[0], inputs[1]
        zero_point = inputs[2] if len(inputs) > 2 else None
        assert quantized is not None and scale is not None
        return dequantize_constant(
            quantized,
            scale,
            zero_point,
            axis=_attribute(node, "axis", 1),
            block_size=_attribute(node, "block_size", 0),
        )
    data, shape = inputs[0], inputs[1]
    assert data is not None and shape is not None
    target = [int(d) for d in shape]
    if not _attribute(node, "allowzero", 0):
        target = [data.shape[i] if d == 0 else d for i, d in enumerate(target)]
    return data.reshape(target)


def fold_constant_dequantize(model: onnx.ModelProto) -> int:
    """Replace DequantizeLinear (and the Reshape after it) on constants by float initializers."""
    graph = model.graph
    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    kept: list[onnx.NodeProto] = []
    folded = 0
    for node in graph.node:  # nodes are topologically sorted, so one pass suffices
        if node.op_type in _FOLDABLE and all(not name or name in constants for name in node.input):
            constants[node.output[0]] = _fold_node(node, constants)
            folded += 1
        else:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    _keep_used_initializers(graph, constants)
    return folded


def _used_names(graph: onnx.GraphProto) -> set[str]:
    used = {name for node in graph.node for name in node.input if name}
    used.update(output.name for output in graph.output)
    return used


def _keep_used_initializers(graph: onnx.GraphProto, constants: dict[str, np.ndarray]) -> None:
    used = _used_names(graph)
    initializers = [numpy_helper.from_array(constants[name], name) for name in sorted(used) if name in constants]
    del graph.initializer[:]
    graph.initializer.extend(initializers)


def drop_unused_inputs(model: onnx.ModelProto) -> int:
    """Remove graph inputs that no node reads and graph inputs that are initializers."""
    graph = model.graph
    used = _used_names(graph)
    initializers = {init.name for init in graph.initializer}
    kept = [value for value in graph.input if value.name in used and value.name not in initializers]
    dropped = len(graph.input) - len(kept)
    del graph.input[:]
    graph.input.extend(kept)
    return dropped


def make_axes_symbolic(values: Iterable[onnx.ValueInfoProto], axes: dict[int, str]) -> None:
    for value in values:
        dims = value.type.tensor_type.shape.dim
        for axis, symbol in axes.items():
            if axis < len(dims):
                dims[axis].ClearField("dim_value")
                dims[axis].dim_param = symbol


def derive_runnable_model(source: bytes, *, dynamic_spatial: bool) -> bytes:
    """Return the ONNX Runtime-ready rewrite of a shipped int8bq model."""
    model = onnx.load_from_string(source)
    fold_constant_dequantize(model)
    drop_unused_inputs(model)
    make_axes_symbolic(model.graph.input, {2: "height", 3: "width"} if dynamic_spatial else {0: "batch"})
    make_axes_symbolic(model.graph.output, {1: "anchors"} if dynamic_spatial else {0: "batch"})
    del model.graph.value_info[:]  # stale intermediate shapes would contradict the symbolic axes
    onnx.checker.check_model(model)
    return model.SerializeToString(deterministic=True)
