"""Serving must never import TensorFlow: the container does not have it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import PETS, ROOT


def test_serving_code_runs_with_tensorflow_blocked():
    script = textwrap.dedent("""
        import sys
        for name in ("tensorflow", "keras", "tf2onnx", "torch"):
            sys.modules[name] = None  # any import of these now raises ImportError
        import os
        os.environ["DJANGO_SETTINGS_MODULE"] = "app.settings"
        os.environ["ALLOWED_HOSTS"] = "testserver"
        os.environ["RATE_LIMIT_PER_MINUTE"] = "0"
        import django
        django.setup()
        import app.wsgi  # loads and warms up the model
        from django.test import Client
        import io
        f = io.BytesIO(open(sys.argv[1], "rb").read()); f.name = "cat.jpg"
        response = Client().post("/api/v1/predict", {"image": f})
        print(response.status_code, response.json()["predictions"][0]["label"])
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf2onnx") and sys.modules[m]))
    """)
    photo = PETS / "cat.1.jpg"
    result = subprocess.run([sys.executable, "-c", script, str(photo)], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    status_line, modules_line = result.stdout.strip().splitlines()[-2:]
    assert status_line.startswith("200 ")
    assert modules_line == "[]"
