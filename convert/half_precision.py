"""Store the ImageNet branch of a fused graph at half precision, so the file stays small.

The fused model carries a second reader of the backbone: the untuned top and the
1,000-class ImageNet classifier, about a third of the file. Its answer is an opinion
that the fusion weighs, through log-probabilities floored at 1e-6, so float16 weights
change the served probabilities by less than 1e-3 (convert/to_onnx.py checks it on real
photos). The weights are stored as float16 and cast to float32 once, when onnxruntime
loads the file: the arithmetic stays float32.

The branch is found from the graph itself: every initializer that no node on the way to
the class map uses (the class map is the head's, on the tuned top).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from app.inference.contract import CLASS_MAP

SMALLEST = 1024  # elements; smaller tensors save nothing worth a node
SUFFIX = "_float16"


def _feeds(graph: onnx.GraphProto, output: str) -> set[str]:
    """Names of the nodes that `output` depends on."""
    producer = {name: node for node in graph.node for name in node.output}
    seen, stack = set(), [output]
    while stack:
        node = producer.get(stack.pop())
        if node is not None and node.name not in seen:
            seen.add(node.name)
            stack.extend(node.input)
    return seen


def imagenet_branch_weights(graph: onnx.GraphProto) -> list[str]:
    """Float32 initializers used only off the head's path."""
    on_head_path = _feeds(graph, CLASS_MAP)
    users: dict[str, list[str]] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node.name)
    return [init.name for init in graph.initializer
            if init.data_type == TensorProto.FLOAT and np.prod(init.dims) >= SMALLEST and init.name in users
            and not any(user in on_head_path for user in users[init.name])]


def halve_imagenet_branch(proto: onnx.ModelProto) -> int:
    """Rewrite the branch's weights as float16 + Cast, in place; returns how many."""
    graph = proto.graph
    names = set(imagenet_branch_weights(graph)) if any(o.name == CLASS_MAP for o in graph.output) else set()
    kept = [init for init in graph.initializer if init.name not in names]
    halved = [init for init in graph.initializer if init.name in names]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    for init in halved:
        graph.initializer.append(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16),
                                                         init.name + SUFFIX))
        graph.node.insert(0, helper.make_node("Cast", [init.name + SUFFIX], [init.name], to=TensorProto.FLOAT,
                                              name=init.name + SUFFIX + "_cast"))
    return len(halved)


def widen(proto: onnx.ModelProto) -> int:
    """The inverse, for tools that want plain float32 initializers (int8 quantization):
    each float16 weight and its Cast become one float32 initializer again."""
    graph = proto.graph
    casts = [node for node in graph.node if node.op_type == "Cast" and node.name.endswith(SUFFIX + "_cast")]
    halves = {init.name: init for init in graph.initializer if init.name.endswith(SUFFIX)}
    for cast in casts:
        half = halves[cast.input[0]]
        graph.initializer.remove(half)
        graph.initializer.append(numpy_helper.from_array(numpy_helper.to_array(half).astype(np.float32),
                                                         cast.output[0]))
        graph.node.remove(cast)
    return len(casts)
