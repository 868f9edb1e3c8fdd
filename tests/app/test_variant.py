"""Which model file runs: the int8 twin on CPUs that multiply int8 in hardware, float32 elsewhere."""

from __future__ import annotations

import shutil

import pytest

from app.inference.variant import choose, cpu_flags, int8_path_for
from tests.conftest import SHIPPED_MODEL


@pytest.fixture
def twins(tmp_path):
    """A float32 model and an "int8" file beside it (a copy: the choice reads only the names)."""
    model = tmp_path / "catsdogs.onnx"
    shutil.copy(SHIPPED_MODEL, model)
    shutil.copy(SHIPPED_MODEL, int8_path_for(model))
    return model


def test_int8_runs_where_the_cpu_has_vnni_and_float32_where_not(twins):
    vnni = choose(twins, flags={"avx2", "avx512f", "avx512_vnni"})
    assert (vnni.name, vnni.path.name) == ("int8", "catsdogs.int8.onnx") and "avx512_vnni" in vnni.reason
    plain = choose(twins, flags={"avx2", "fma"})
    assert (plain.name, plain.path.name) == ("float32", "catsdogs.onnx") and "no int8" in plain.reason
    assert choose(twins, flags={"fp", "asimd", "asimddp"}).name == "int8"  # Arm with dot products


def test_the_setting_overrides_the_cpu(twins):
    assert choose(twins, "float32", flags={"avx512_vnni"}).name == "float32"
    assert choose(twins, "int8", flags=set()).name == "int8"
    with pytest.raises(ValueError, match="MODEL_VARIANT"):
        choose(twins, "fp16")


def test_without_an_int8_file_float32_runs_whatever_the_cpu(tmp_path):
    model = tmp_path / "catsdogs.onnx"
    shutil.copy(SHIPPED_MODEL, model)
    chosen = choose(model, "auto", flags={"avx512_vnni"})
    assert (chosen.name, chosen.path) == ("float32", model)


def test_cpu_flags_are_read_from_x86_and_arm_cpuinfo(tmp_path):
    x86, arm = tmp_path / "x86", tmp_path / "arm"
    x86.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512_vnni\n\nprocessor\t: 1\nflags\t: fpu\n")
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd asimddp\n")
    assert cpu_flags(x86) == {"fpu", "sse2", "avx2", "avx512_vnni"}
    assert cpu_flags(arm) == {"fp", "asimd", "asimddp"}
    assert cpu_flags(tmp_path / "missing") == set()


def test_the_model_endpoint_says_which_variant_runs_and_why(twins, client):
    from django.test import override_settings

    with override_settings(MODEL_PATH=twins, MODEL_VARIANT="int8"):
        variant = client.get("/api/v1/model").json()["variant"]
    assert variant == {"name": "int8", "file": "catsdogs.int8.onnx", "reason": "MODEL_VARIANT=int8"}
    shipped = client.get("/api/v1/model").json()["variant"]
    assert shipped["name"] in ("float32", "int8") and shipped["file"].startswith("catsdogs.")
