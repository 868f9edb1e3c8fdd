"""Which of the shipped model files to run on this CPU: float32, or its int8 twin.

`convert.quantize --ship` writes `<model>.int8.onnx` beside the float32 file only
when the two are numerically equivalent (convert/equivalence.py), so choosing
between them is about speed alone. int8 is faster only where the CPU multiplies 8-bit
numbers in hardware (x86 VNNI and AMX, Arm dot-product instructions); elsewhere each
int8 multiply-add takes several instructions and, with the conversions into and out of
int8, can lose to float32. Those instructions show in the CPU's flags, so the choice is
read from them at start-up, costs nothing, and can be forced with MODEL_VARIANT=float32
or int8.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8", "asimddp")  # int8 dot products in hardware
CHOICES = ("auto", "float32", "int8")


@dataclass(frozen=True)
class Variant:
    name: str  # float32 | int8
    path: Path
    reason: str


def int8_path_for(model: Path) -> Path:
    """catsdogs.onnx -> catsdogs.int8.onnx"""
    return Path(model).with_suffix(".int8.onnx")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The instruction-set flags of the first CPU (x86 "flags", Arm "Features"); empty if unknown."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return set()
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def choose(model: Path, setting: str = "auto", flags: set[str] | None = None) -> Variant:
    if setting not in CHOICES:
        raise ValueError(f"MODEL_VARIANT must be one of {', '.join(CHOICES)}, not {setting!r}")
    int8 = int8_path_for(model)
    if not int8.exists():
        return Variant("float32", Path(model), "no int8 model ships beside it")
    if setting != "auto":
        return Variant(setting, int8 if setting == "int8" else Path(model), f"MODEL_VARIANT={setting}")
    found = sorted((cpu_flags() if flags is None else flags) & set(INT8_FLAGS))
    if found:
        return Variant("int8", int8, f"this CPU multiplies int8 in hardware ({', '.join(found)})")
    return Variant("float32", Path(model), "this CPU has no int8 dot-product instructions (VNNI, AMX, Arm dotprod)")
