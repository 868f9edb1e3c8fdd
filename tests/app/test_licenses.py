"""The serving environment's licenses: none that binds the image's users (GPL, AGPL; the
LGPL is fine), and the generated table in docs/ matches what is installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import licenses
from app.licenses import TABLE, Package, binds_users, fails_check, main, serving_packages, table
from tests.conftest import ROOT


def test_no_serving_package_comes_only_under_the_gpl_or_agpl_or_without_a_license():
    packages = serving_packages()
    assert {"django", "onnxruntime", "gunicorn"} <= {p.name.lower() for p in packages}
    assert [f"{p.name}: {p.license} {p.classifiers}" for p in packages if fails_check(p)] == []


def installed(tmp_path: Path, license_field: str) -> Package:
    """The Package read from an installed distribution whose License field is this, with no classifier."""
    from importlib import metadata

    info = tmp_path / "example_package-1.0.dist-info"
    info.mkdir(parents=True)
    folded = license_field.replace("\n", "\n        ")  # continuation lines, as wheels write a long field
    info.joinpath("METADATA").write_text(f"Metadata-Version: 2.1\nName: example-package\nVersion: 1.0\n"
                                         f"License: {folded}\n\n")
    return licenses._package(metadata.PathDistribution(info), [])


FULL_TEXT = "Copyright (c) 2020 Someone\n\nThis program is free software: you can redistribute it..."


def test_a_license_field_holding_a_whole_text_is_not_declared_and_fails(tmp_path: Path):
    package = installed(tmp_path, FULL_TEXT)
    assert package.license == "not declared" and not binds_users(package)
    assert fails_check(package)


def test_a_package_read_by_hand_passes_with_the_license_stated(tmp_path: Path, monkeypatch):
    monkeypatch.setitem(licenses.LICENSE_READ_BY_HAND, "example-package", "MIT")
    package = installed(tmp_path, FULL_TEXT)
    assert package.license == "MIT (read from its license file)" and not fails_check(package)
    monkeypatch.setitem(licenses.LICENSE_READ_BY_HAND, "example-package", "GPL-3.0-only")
    assert fails_check(installed(tmp_path / "again", FULL_TEXT))


def test_dependencies_are_followed_and_extras_and_training_packages_left_out():
    packages = {p.name.lower(): p for p in serving_packages()}
    assert packages["asgiref"].required_by == ("Django",)
    assert "flatbuffers" in packages and "onnxruntime" in packages["flatbuffers"].required_by
    # installed here for training and tests, but nothing the app serves with needs them
    assert not {"tensorflow", "keras", "pytest", "sympy", "brotli"} & set(packages)


def package(license: str, *classifiers: str) -> Package:
    return Package("example", "1.0", license, classifiers, (), ())


@pytest.mark.parametrize("license,classifiers,binding", [
    ("GPL-3.0-only", (), True),
    ("AGPL-3.0-or-later", (), True),
    ("GPL-2.0-or-later WITH Classpath-exception-2.0", (), True),
    ("MIT AND GPL-2.0-only", (), True),
    ("MIT OR GPL-2.0-only", (), False),  # the user may take it under MIT
    ("LGPL-3.0-or-later", (), False),
    ("BSD-3-Clause", ("GNU Lesser General Public License v3 (LGPLv3)",), False),  # pi-heif
    ("", ("GNU General Public License v3 (GPLv3)",), True),
    ("MIT", ("MIT License", "GNU Affero General Public License v3"), True),
    ("", ("GNU Library or Lesser General Public License (LGPL)",), False),
    ("Apache-2.0", (), False),
])
def test_what_counts_as_binding(license, classifiers, binding):
    assert binds_users(package(license, *classifiers)) is binding


def test_the_table_in_docs_is_what_the_installed_packages_say():
    assert TABLE == ROOT / "docs" / "LICENSES-serving.md"
    assert TABLE.read_text() == table(serving_packages()), "stale: run python -m app.licenses"


def test_the_command_writes_the_table(tmp_path: Path):
    assert main(["--output", str(tmp_path / "table.md")]) == 0
    assert (tmp_path / "table.md").read_text() == TABLE.read_text()


def test_a_requirement_installed_at_another_version_is_refused(tmp_path: Path):
    wrong = tmp_path / "requirements-serve.txt"
    wrong.write_text("Django==1.0  # not what is installed\n")
    with pytest.raises(ValueError, match="Django 5.* is installed, but requirements-serve.txt pins Django==1.0"):
        serving_packages(wrong)
