"""Half-precision weights for CUDA, with float32 inputs and outputs.

onnxruntime's float16 converter does the work, but on graphs with `If` subgraphs (the
per-class NMS of a Mask R-CNN export) it leaves three defects that ONNX Runtime refuses:
a Cast for a value made inside a subgraph lands in the parent graph, two consumers of one
value get two identical Casts, and the Casts are appended after the nodes that read them.
`to_float16` repairs all three, then the ONNX checker must accept the graph.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from pathlib import Path

import onnx

from edge.core.errors import OfficeScoreError, first_line
from export.variants import relabel, save_atomically, scratch_beside


def write_float16(fp32_path: Path, target: Path) -> None:
    """Write the float16 variant of an fp32 model to `target` atomically, relabelled."""
    fp32 = onnx.load(str(fp32_path))
    converted = to_float16(fp32)
    relabel(converted, fp32, "fp16", {"weights": "float16", "inputs_outputs": "float32"})
    with scratch_beside(target, "fp16") as scratch:
        save_atomically(converted, target, scratch)


def to_float16(proto: onnx.ModelProto) -> onnx.ModelProto:
    from onnxruntime.transformers.float16 import convert_float_to_float16

    converted = convert_float_to_float16(proto, keep_io_types=True)
    graph = converted.graph
    _move_casts_into_subgraphs(graph)
    _drop_duplicate_nodes(graph)
    _sort_topologically(graph)
    try:
        onnx.checker.check_model(converted)
    except onnx.checker.ValidationError as error:
        raise OfficeScoreError(
            f"--fp16: the float16 graph is not valid ONNX ({first_line(error)[:120]}); export fp32"
        ) from None
    return converted


def _subgraphs(node: onnx.NodeProto) -> Iterable[onnx.GraphProto]:
    for attribute in node.attribute:
        if attribute.type == onnx.AttributeProto.GRAPH:
            yield attribute.g
        yield from attribute.graphs


def _move_casts_into_subgraphs(graph: onnx.GraphProto) -> None:
    """Put each parent-graph node that reads a subgraph's local value beside that value."""
    made_in: dict[str, onnx.GraphProto] = {}
    for node in graph.node:
        for subgraph in _subgraphs(node):
            for inner in subgraph.node:
                for output in inner.output:
                    made_in[output] = subgraph
    visible = _names_defined(graph)
    misplaced = [
        node
        for node in graph.node
        if any(name and name not in visible and name in made_in for name in node.input)
    ]
    for node in misplaced:
        subgraph = made_in[next(name for name in node.input if name in made_in)]
        subgraph.node.append(node)  # ordered below
        graph.node.remove(node)


def _names_defined(graph: onnx.GraphProto) -> set[str]:
    names = {value.name for value in graph.input}
    names.update(initializer.name for initializer in graph.initializer)
    names.update(output for node in graph.node for output in node.output)
    return names


def _drop_duplicate_nodes(graph: onnx.GraphProto) -> None:
    seen: set[bytes] = set()
    unique = []
    for node in graph.node:
        key = node.SerializeToString()
        if key not in seen:
            seen.add(key)
            unique.append(node)
        for subgraph in _subgraphs(node):
            _drop_duplicate_nodes(subgraph)
    if len(unique) != len(graph.node):
        del graph.node[:]
        graph.node.extend(unique)


def _reads(node: onnx.NodeProto) -> set[str]:
    """Every name a node needs first: its inputs and what its subgraphs take from outside."""
    names = {name for name in node.input if name}
    for subgraph in _subgraphs(node):
        local = _names_defined(subgraph)
        for inner in subgraph.node:
            names.update(name for name in _reads(inner) if name not in local)
    return names


def _sort_topologically(graph: onnx.GraphProto) -> None:
    """Kahn's order, keeping the original order among nodes that are ready together."""
    producer = {output: index for index, node in enumerate(graph.node) for output in node.output}
    waiting_on = [
        {producer[name] for name in _reads(node) if name in producer} - {index}
        for index, node in enumerate(graph.node)
    ]
    readers: dict[int, list[int]] = {}
    for index, needs in enumerate(waiting_on):
        for need in needs:
            readers.setdefault(need, []).append(index)
    ready = [index for index, needs in enumerate(waiting_on) if not needs]  # sorted: a heap
    order: list[int] = []
    while ready:
        index = heapq.heappop(ready)
        order.append(index)
        for reader in readers.get(index, []):
            waiting_on[reader].discard(index)
            if not waiting_on[reader]:
                heapq.heappush(ready, reader)
    if len(order) != len(graph.node):
        raise OfficeScoreError("--fp16: the float16 graph has a cycle; export fp32")
    nodes = [graph.node[index] for index in order]
    del graph.node[:]
    graph.node.extend(nodes)
    for node in graph.node:  # extend copied the nodes: recurse into the graph's own
        for subgraph in _subgraphs(node):
            _sort_topologically(subgraph)
