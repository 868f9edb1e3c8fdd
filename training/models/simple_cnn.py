"""The original project's design, trained from scratch: the baseline.

Four convolution + max-pooling blocks, a dense layer (applied at every
position, i.e. a 1x1 convolution, so the same class-activation head fits on
top) and dropout, trained with rotation, zoom and flip augmentation. It sees
the photo at 96 px, so that a CPU affords it several epochs within the
baseline's time budget (another input size is resized in the graph, bilinearly,
which converts to ONNX exactly). Two departures from the original: batch
normalisation after each convolution, which lets it learn in the few epochs a
CPU affords at a learning rate plain convolutions diverge at; and narrow early
blocks (16 and 32 filters where the maps are largest), which halve the cost of
a training step, so twice the epochs fit in the same minutes.
"""

from __future__ import annotations

import keras
from keras import layers

from app.inference.contract import INPUT_NAME

SCRATCH_SIZE = 96  # the network's working size


def make_backbone(input_size: int = SCRATCH_SIZE, filters: tuple[int, ...] = (16, 32, 64, 128)) -> keras.Model:
    """0..255 RGB images -> feature map (N, 6, 6, 256)."""
    inputs = keras.Input((input_size, input_size, 3), name=INPUT_NAME)
    x = inputs
    if input_size != SCRATCH_SIZE:
        x = layers.Resizing(SCRATCH_SIZE, SCRATCH_SIZE, interpolation="bilinear", name="resize")(x)
    x = layers.Rescaling(1.0 / 255, name="normalise")(x)
    for i, width in enumerate(filters):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
        x = layers.MaxPooling2D(name=f"pool{i}")(x)
    x = layers.Dense(256, activation="relu", name="dense")(x)
    return keras.Model(inputs, x, name="simple-cnn")
