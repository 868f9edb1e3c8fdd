"""Container build step: remove from the serving virtual environment what the app never
imports, then compile what is left, so the image is smaller and still starts fast.
Standard library only; run by the Dockerfile (after `pip install --no-compile`) as

    python app/trim_environment.py /venv

and by tests/deploy on the environment it builds the same way, which then must still
serve a prediction. Prints the size before and after (MB of file contents).
"""

from __future__ import annotations

import compileall
import shutil
import sys
from pathlib import Path

# Installers: the image installs nothing after the build.
INSTALLERS = ("pip", "setuptools", "pkg_resources", "_distutils_hack", "wheel")
# Parts of packages the app never loads: onnxruntime's training-time tools (quantization,
# transformer optimisers), Django apps that are not installed here and database backends
# other than SQLite and PostgreSQL (feedback's two), numpy's Fortran and build tools.
UNUSED_PACKAGES = ("onnxruntime/transformers", "onnxruntime/quantization", "onnxruntime/tools",
                   "onnxruntime/datasets", "numpy/f2py", "numpy/distutils",
                   *(f"django/contrib/{app}" for app in ("gis", "admindocs", "postgres", "flatpages",
                                                           "redirects", "sitemaps", "syndication", "humanize")),
                   *(f"django/db/backends/{db}" for db in ("oracle", "mysql")),
                   # Pillow comes only as pi-heif's dependency: the app calls pi-heif's C module
                   # (_pi_heif) and never its Pillow plugin, so both go
                   "PIL", "pillow.libs", "pi_heif")
# numpy's extension modules that exist only for its own test suite
TEST_EXTENSIONS = ("_simd", "_umath_tests", "_rational_tests", "_multiarray_tests", "_operand_flag_tests",
                   "_struct_ufunc_tests")
KEPT_LANGUAGE = "en"  # LANGUAGE_CODE is en-us and there is no LocaleMiddleware


def megabytes(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def removable(site_packages: Path) -> list[Path]:
    """Everything to remove, as files and folders that exist."""
    paths = [site_packages / name for name in INSTALLERS + UNUSED_PACKAGES]
    paths += site_packages.glob("pip-*.dist-info")
    paths += site_packages.glob("setuptools-*.dist-info")
    paths += site_packages.glob("pillow-*.dist-info")
    paths += site_packages.glob("distutils-precedence.pth")  # setuptools' start-up hook
    # onnxruntime's C library, for programs that link it themselves: the Python module carries
    # its own copy (it needs no libonnxruntime.so, see tests/deploy), so this one is never loaded
    paths += site_packages.glob("onnxruntime/capi/libonnxruntime.so.*")
    paths += [p for p in site_packages.rglob("tests") if p.is_dir()]  # packages' own test suites
    paths += site_packages.rglob("*.pyi")  # type stubs
    paths += [p for name in TEST_EXTENSIONS for p in site_packages.glob(f"numpy/_core/{name}.*.so")]
    paths += [p for p in site_packages.rglob("include") if p.is_dir() and (p.parent.name in ("_core", "numpy"))]
    for locale in site_packages.glob("django/**/locale"):
        paths += [lang for lang in locale.iterdir() if lang.is_dir() and lang.name != KEPT_LANGUAGE]
    return sorted({p for p in paths if p.exists()})


def trim(venv: Path) -> tuple[float, float]:
    """Trim every site-packages folder of the environment and compile what is left: the
    image's Python writes no bytecode (PYTHONDONTWRITEBYTECODE, and its user may not write
    to /venv), so without it every worker would compile Django and the rest in memory at
    each start, before its first answer. Returns (MB before, MB after)."""
    before = megabytes(venv)
    for site_packages in venv.glob("lib/python*/site-packages"):
        for path in removable(site_packages):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists():
                path.unlink()
        compileall.compile_dir(site_packages, quiet=2, workers=0)
    return before, megabytes(venv)


if __name__ == "__main__":
    before, after = trim(Path(sys.argv[1]))
    print(f"serving environment: {before:.0f} MB -> {after:.0f} MB")
