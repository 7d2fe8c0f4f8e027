"""The YOLOX ONNX graph as something to train, and back.

The bundled file is all there is offline: its weights are the starting point, and its graph
(size-agnostic, proven in every engine) is what the trained model ships as. So the graph is
changed here, in ONNX, and the trained weights are written back into it:
- `with_classes`: the class convolutions get one output row per planned class (copied from
  the starting model's row, or new), and the heads' reshapes follow;
- `raw_logits`: the training copy skips the sigmoids on objectness and classes, so the loss
  works on logits (stable); the shipped copy keeps them;
- `to_torch` (onnx2torch: a module per node, named after it) and `write_weights`, which puts
  every trained convolution's weight and bias back into the initializers it came from.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import onnx
from onnx import numpy_helper

from edge.core.errors import OfficeScoreError

if TYPE_CHECKING:
    import torch

CLASS_CONV = "head.cls_preds.{}.weight"
PRIOR_PROBABILITY = 0.01  # a new class starts rare everywhere (YOLOX's own head init)


def _initializers(model: onnx.ModelProto) -> dict[str, onnx.TensorProto]:
    return {init.name: init for init in model.graph.initializer}


def class_count(model: onnx.ModelProto) -> int:
    weight = _initializers(model).get(CLASS_CONV.format(0))
    if weight is None:
        raise OfficeScoreError("the starting model is not a YOLOX graph with named head weights")
    return int(weight.dims[0])


def with_classes(model: onnx.ModelProto, source_rows: tuple[int, ...]) -> onnx.ModelProto:
    """A copy whose class outputs are `source_rows`: row r of the original, or new where -1."""
    model = _copy(model)
    initializers = _initializers(model)
    before = class_count(model)
    levels = 0
    while CLASS_CONV.format(levels) in initializers:
        weight_init = initializers[CLASS_CONV.format(levels)]
        bias_init = initializers[CLASS_CONV.format(levels).replace("weight", "bias")]
        weight, bias = numpy_helper.to_array(weight_init), numpy_helper.to_array(bias_init)
        new_weight = np.zeros((len(source_rows), *weight.shape[1:]), weight.dtype)
        new_bias = np.full(
            len(source_rows), -np.log((1 - PRIOR_PROBABILITY) / PRIOR_PROBABILITY), bias.dtype
        )
        for output, row in enumerate(source_rows):
            if row >= 0:
                new_weight[output], new_bias[output] = weight[row], bias[row]
        weight_init.CopyFrom(numpy_helper.from_array(new_weight, weight_init.name))
        bias_init.CopyFrom(numpy_helper.from_array(new_bias, bias_init.name))
        levels += 1
    width_before, width_after = 5 + before, 5 + len(source_rows)
    reshaped = 0
    for node in model.graph.node:
        shape = initializers.get(node.input[1]) if node.op_type == "Reshape" else None
        if shape is not None and numpy_helper.to_array(shape).tolist() == [0, width_before, -1]:
            shape.CopyFrom(
                numpy_helper.from_array(np.array([0, width_after, -1], np.int64), shape.name)
            )
            reshaped += 1
    if reshaped != levels:
        raise OfficeScoreError(
            f"the starting model's heads do not reshape to [0, {width_before}, -1] "
            "(make it size-agnostic first: scripts/make_dynamic_yolox.py)"
        )
    del model.graph.value_info[:]
    model.graph.output[0].type.tensor_type.shape.dim[-1].dim_value = width_after
    return model


def raw_logits(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy whose objectness and class outputs are logits: each head's Concat takes the
    inputs of the Sigmoids it was given."""
    model = _copy(model)
    producers = {out: node for node in model.graph.node for out in node.output}
    bypassed = 0
    for node in model.graph.node:
        if node.op_type != "Concat" or len(node.input) != 3:
            continue
        first = producers.get(node.input[0])
        if first is None or first.op_type != "Conv" or "reg_preds" not in first.input[1]:
            continue
        for slot in (1, 2):
            sigmoid = producers[node.input[slot]]
            if sigmoid.op_type != "Sigmoid":
                raise OfficeScoreError("unexpected YOLOX head: no sigmoid on its scores")
            node.input[slot] = sigmoid.input[0]
            bypassed += 1
    if bypassed == 0:
        raise OfficeScoreError("the starting model has no YOLOX heads to train")
    used = {name for node in model.graph.node for name in node.input}
    keep = [n for n in model.graph.node if n.op_type != "Sigmoid" or n.output[0] in used]
    del model.graph.node[:]
    model.graph.node.extend(keep)
    return model


def to_torch(model: onnx.ModelProto) -> torch.nn.Module:
    from onnx2torch import convert

    # its Slice indexes with a list (the Focus stem); torch warns on every forward
    warnings.filterwarnings("ignore", "Using a non-tuple sequence", UserWarning)
    return convert(model)


def write_weights(model: onnx.ModelProto, module: torch.nn.Module) -> onnx.ModelProto:
    """A copy of `model` with each convolution's weight and bias taken from `module` (the
    same graph, converted and trained: its modules are named after the ONNX nodes)."""
    model = _copy(model)
    initializers = _initializers(model)
    modules = dict(module.named_modules())
    written = 0
    for node in model.graph.node:
        if node.op_type != "Conv" or node.name not in modules:
            continue
        conv = modules[node.name]
        for slot, tensor in ((1, conv.weight), (2, conv.bias)):
            if tensor is None or slot >= len(node.input):
                continue
            target = initializers[node.input[slot]]
            value = tensor.detach().cpu().numpy().astype(np.float32)
            if tuple(target.dims) != value.shape:
                raise OfficeScoreError(f"{node.name}: trained shape {value.shape} differs")
            target.CopyFrom(numpy_helper.from_array(value, target.name))
            written += 1
    if written == 0:
        raise OfficeScoreError("no trained convolution matched the graph")
    return model


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    return copy
