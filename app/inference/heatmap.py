"""Draw "where the model looked": the class activation map over the photo."""

from __future__ import annotations

import base64

import cv2
import numpy as np


def overlay(image_rgb: np.ndarray, class_map: np.ndarray, strength: float = 0.45) -> np.ndarray:
    """Blend a colour-mapped, upsampled class map (values in [0, 1]) over an RGB image."""
    height, width = image_rgb.shape[:2]
    heat = cv2.resize(class_map.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    heat = np.clip(heat * 255.0, 0, 255).astype(np.uint8)
    coloured = cv2.cvtColor(cv2.applyColorMap(heat, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(image_rgb, 1.0 - strength, coloured, strength, 0.0)


def to_data_uri(image_rgb: np.ndarray, quality: int = 80) -> str:
    """A JPEG `data:` URI, small enough to travel inside a JSON answer."""
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 image
        raise RuntimeError("JPEG encoding failed")
    return "data:image/jpeg;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")
