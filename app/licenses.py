"""The licenses of the serving environment, read from the installed packages' own metadata.

    python -m app.licenses      # writes docs/LICENSES-serving.md

Every package requirements-serve.txt names, and everything those require (extras left out),
as installed in the environment that runs this: run it in one built from requirements-serve.txt
(.venv or .venv-train), which it checks against the pins. tests/app/test_licenses.py fails
when the table is stale, when a package's license would bind the image's users (GPL, AGPL),
or when a package declares none and is not in LICENSE_READ_BY_HAND.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements-serve.txt"
TABLE = ROOT / "docs" / "LICENSES-serving.md"
# GPL or AGPL in an SPDX id or a classifier; LGPL does not match (no word boundary before its G)
COPYLEFT = re.compile(r"\bA?GPL|GNU (Affero )?General Public License")
NOT_DECLARED = "not declared"
# Packages whose metadata gives no usable license (no License-Expression, no one-line License
# field, no classifier; some paste the whole text into License): canonical name -> the license
# their own license file states, read by a person, with a comment saying where. Anything else
# "not declared" fails the check: an unread license could be the GPL.
LICENSE_READ_BY_HAND: dict[str, str] = {
    # "example-package": "BSD-3-Clause",  # site-packages/example_package-1.0.dist-info/LICENSE: the BSD text
}


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    license: str  # License-Expression, else a one-line License field, else the license classifiers
    classifiers: tuple[str, ...]  # the "License ::" classifiers, last part only
    required_by: tuple[str, ...]  # empty for what requirements-serve.txt names
    license_files: tuple[str, ...]


def fails_check(package: Package) -> bool:
    """True if the package binds the image's users, or if nothing says what its license is."""
    return package.license == NOT_DECLARED or binds_users(package)


def binds_users(package: Package) -> bool:
    """True if the package comes only under the GPL or AGPL (the LGPL does not bind an image's
    users to release their code). A choice ("MIT OR GPL-2.0") binds only if every choice is GPL;
    any GPL classifier counts, since classifiers cannot say whether they are a choice."""
    expression_binds = all(COPYLEFT.search(choice) for choice in re.split(r"\s+OR\s+", package.license))
    return expression_binds or any(COPYLEFT.search(classifier) for classifier in package.classifiers)


def pinned(requirements: Path = REQUIREMENTS) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in requirements.read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def serving_packages(requirements: Path = REQUIREMENTS) -> list[Package]:
    """The named packages and their dependencies, by name."""
    wanted: dict[str, list[str]] = {}  # canonical name -> who requires it
    queue = []
    for requirement in pinned(requirements):
        installed = _distribution(requirement.name, "requirements-serve.txt")
        if installed.version not in requirement.specifier:
            raise ValueError(f"{requirement.name} {installed.version} is installed, but requirements-serve.txt "
                             f"pins {requirement}: run this in an environment built from it")
        wanted[canonicalize_name(requirement.name)] = []
        queue.append(installed)
    seen: dict[str, metadata.Distribution] = {}
    while queue:
        distribution = queue.pop()
        name = canonicalize_name(distribution.metadata["Name"])
        if name in seen:
            continue
        seen[name] = distribution
        for dependency in _dependencies(distribution):
            wanted.setdefault(dependency, []).append(distribution.metadata["Name"])
            queue.append(_distribution(dependency, distribution.metadata["Name"]))
    return [_package(seen[name], wanted[name]) for name in sorted(seen)]


def _distribution(name: str, wanted_by: str) -> metadata.Distribution:
    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise ValueError(f"{name} (wanted by {wanted_by}) is not installed here") from None


def _dependencies(distribution: metadata.Distribution) -> list[str]:
    """What it requires on this platform, without optional extras."""
    requirements = [Requirement(line) for line in distribution.requires or []]
    return [canonicalize_name(r.name) for r in requirements if r.marker is None or r.marker.evaluate({"extra": ""})]


def _package(distribution: metadata.Distribution, required_by: list[str]) -> Package:
    fields = distribution.metadata
    classifiers = tuple(c.split(" :: ")[-1] for c in fields.get_all("Classifier") or [] if c.startswith("License ::"))
    field = (fields.get("License") or "").strip()
    short_field = field if field and "\n" not in field and len(field) <= 80 and field != "UNKNOWN" else ""
    files = tuple(sorted(str(f) for f in distribution.files or [] if _is_license_file(Path(str(f)))))
    declared = fields.get("License-Expression") or short_field or "; ".join(classifiers)
    by_hand = LICENSE_READ_BY_HAND.get(canonicalize_name(fields["Name"]))
    return Package(name=fields["Name"], version=distribution.version,
                   license=declared or (f"{by_hand} (read from its license file)" if by_hand else NOT_DECLARED),
                   classifiers=classifiers, required_by=tuple(sorted(set(required_by), key=str.lower)),
                   license_files=files)


def _is_license_file(path: Path) -> bool:
    """A package's own license and notices (in .dist-info or its top folder); deeper ones are
    its vendored parts' and are listed in those."""
    return (len(path.parts) <= 3 and path.suffix != ".py" and not path.parts[0].endswith(".data")
            and re.search(r"LICEN[CS]E|COPYING|NOTICE", path.name, re.IGNORECASE) is not None)


def table(packages: list[Package]) -> str:
    rows = [f"| {p.name} | {p.version} | {p.license} | {'; '.join(p.classifiers) or '-'} | "
            f"{', '.join(p.required_by) or 'requirements-serve.txt'} | {', '.join(p.license_files) or '-'} |"
            for p in packages]
    return "\n".join([
        "# Licenses of the serving environment",
        "",
        "Generated by `python -m app.licenses` from the installed packages' own metadata: every package",
        "`requirements-serve.txt` names and everything they require. Do not edit by hand.",
        "`tests/app/test_licenses.py` fails when this table is stale, when a package comes only",
        "under the GPL or AGPL, or when a package declares no license that was not read by hand.",
        "",
        "\"license\" is the package's SPDX expression, else its License field, else its classifiers.",
        "Wheels that bundle native libraries (OpenCV, onnxruntime, pi-heif) list those libraries'",
        "licenses in the files named in the last column (paths inside `site-packages`).",
        "",
        "| package | version | license | license classifiers | needed by | license files |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=TABLE)
    options = parser.parse_args(argv)
    try:
        packages = serving_packages()
    except ValueError as error:
        print(f"app.licenses: {error}", file=sys.stderr)
        return 1
    options.output.write_text(table(packages))
    failing = [f"{p.name} ({p.license})" for p in packages if fails_check(p)]
    print(f"{options.output}: {len(packages)} packages"
          + (f"; GPL/AGPL only or not declared: {', '.join(failing)}" if failing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
