"""A Keras model as an ONNX graph (tf2onnx), the one conversion used everywhere: by
training's bulk inference (training/bulk_predict.py) and by the shipped model's
conversion (convert/to_onnx.py), so both run the same graph."""

from __future__ import annotations

import keras
import onnx
import tensorflow as tf
import tf2onnx

from app.inference.contract import INPUT_NAME

OPSET = 17  # pinned: supported by onnxruntime >= 1.14 and by tf2onnx 1.17


def keras_to_onnx(model: keras.Model) -> onnx.ModelProto:
    """The tf2onnx conversion, at the pinned opset, with a batch dimension of any size."""
    signature = (tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name=INPUT_NAME),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET)
    return proto
