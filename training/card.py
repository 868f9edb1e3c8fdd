"""The model card: the run's contract and the report's figures poured into
`training/templates/model_card.md` and the optional sections in `templates/model_card/`.

Each section file holds its lines as they appear in the card; sections after the confusion
table open with a blank line, and figures and tables inside them close with one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from string import Template

from app.inference.contract import Contract, TrainingData
from app.inference.measured import KindFigures, PairedFigures
from training import contact_sheets, figures, licences, recipes, tables
from training.targets import MAX_PETS_CALLED_OTHER

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Findings:
    """What the report measured and drew, beyond the contract: the card's other inputs."""
    evaluated: str  # which model classified the test photos, e.g. "catsdogs.onnx (float32)"
    targets: list[dict]  # rows of training.targets
    runs: dict[str, tables.ComparedRun]  # by label, the shipped run first
    aucs: dict  # class name -> ROC AUC on the test split
    errors: int  # misclassified test photos
    has_curves: bool  # learning curves were drawn
    held_out_errors: tuple[int, int] = (0, 0)  # held-out "other" called pets, pets called "other"


def _fill(template: str, **values) -> str:
    return Template((TEMPLATES / template).read_text()).substitute(values)


def _lines(rows: list[str]) -> str:
    return "\n".join(rows)


def _figure(name: str) -> str:
    """A figure's link, relative to the card."""
    return f"{figures.FOLDER}/{name}"


def model_card(contract: Contract, findings: Findings) -> str:
    return _fill("model_card.md", **_about(contract), **_test_results(contract, findings),
                 **_comparison(findings), **_figures(findings), **_training(contract))


def _about(contract: Contract) -> dict:
    return {"name": contract.name, "version": contract.version, "architecture": contract.architecture,
            "created": contract.created, "input_name": contract.input.name, "input_size": contract.input.size,
            "input_dtype": contract.input.dtype, "input_range": contract.input.range,
            "input_layout": contract.input.layout, "preprocessing": contract.preprocessing,
            "temperature": f"{contract.temperature:.3f}", "calibrated_on": contract.calibrated_on}


def _test_results(contract: Contract, findings: Findings) -> dict:
    test, names = contract.metrics.test, contract.class_names
    return {"test_count": test.count, "test_counts": contract.training_data.counts["test"],
            "evaluated": findings.evaluated, "target_rows": _lines(tables.target_rows(findings.targets)),
            "per_class_rows": _lines(tables.per_class_rows(test, names, findings.aucs)),
            "confusion_rows": _lines(tables.confusion_rows(test.confusion_matrix, names)),
            "kinds_on_test": _kinds_on_test(contract.metrics.test_by_kind),
            "held_out_kinds": _held_out_kinds(contract, findings.held_out_errors)}


def _kinds_on_test(by_kind: KindFigures | None) -> str:
    return "\n" + _fill("model_card/kinds_on_test.md", rows=_lines(tables.kinds_on_test_rows(by_kind))) \
        if by_kind else ""


def _held_out_kinds(contract: Contract, held_out_errors: tuple[int, int]) -> str:
    """The ways of answering judged on kinds held out of training, when the run judged them."""
    comparison = contract.metrics.held_out_kinds
    if not comparison:
        return ""
    folds = contract.config["head_folds"]
    where = (_fill("model_card/held_out_by_folds.md", folds=folds) if folds else
             _fill("model_card/held_out_by_val.md")).rstrip("\n")
    section = _fill("model_card/held_out_kinds.md", where=where, rows=_lines(tables.held_out_kinds_rows(comparison)),
                    max_pets_called_other=f"{100 * MAX_PETS_CALLED_OTHER:g}%", proviso=_proviso(comparison))
    return "\n" + section + "\n" + _tuned_against_frozen(contract.metrics.tuned_against_frozen) \
        + _held_out_sheets(*held_out_errors)


def _proviso(comparison: dict[str, KindFigures]) -> str:
    """When the shipped way breaks the rule's proviso, the card says so, and what the best of
    the other ways compared here would have cost."""
    def within(figures: KindFigures) -> bool:
        return figures.pets_called_other is not None and figures.pets_called_other <= MAX_PETS_CALLED_OTHER

    shipped = comparison.get(recipes.SHIPPED)
    if shipped is None or shipped.pets_called_other is None or within(shipped):
        return ""
    text = (f" The shipped way breaks the proviso ({tables.pct(shipped.pets_called_other)} of held-out pets "
            "called 'other') and was kept against the rule; the targets count the miss.")
    keeping = {name: figures for name, figures in comparison.items() if within(figures) and figures.other_recall}
    if not keeping:
        return text + " No other way compared here keeps to it either."
    name, best = max(keeping.items(), key=lambda name_figures: name_figures[1].other_recall)
    worst = min(best.other_recall_by_kind, key=best.other_recall_by_kind.get)
    return text + (f" The best of the ways compared here that keeps to it, {name}, answers 'other' for "
                   f"{tables.pct(best.other_recall)} of held-out 'other' photos (worst {worst}, "
                   f"{tables.pct(best.other_recall_worst_kind)}).")


def _tuned_against_frozen(paired: dict[str, PairedFigures]) -> str:
    if not paired:
        return ""
    return _fill("model_card/tuned_against_frozen.md", rows=_lines(tables.tuned_against_frozen_rows(paired))) + "\n"


def _held_out_sheets(others_wrong: int, pets_rejected: int) -> str:
    text = ""
    if others_wrong:
        text += _fill("model_card/held_out_other_mistakes.md", count=others_wrong,
                      sheet=_figure(contact_sheets.HELD_OUT_OTHER)) + "\n"
    if pets_rejected:
        text += _fill("model_card/held_out_pets_called_other.md", count=pets_rejected,
                      sheet=_figure(contact_sheets.HELD_OUT_PETS)) + "\n"
    return text


def _comparison(findings: Findings) -> dict:
    notes = "".join(f"- {label}: {run.note}\n" for label, run in findings.runs.items() if run.note)
    return {"comparison_rows": _lines(tables.comparison_rows(findings.runs)), "notes": notes}


def _figures(findings: Findings) -> dict:
    curves = _fill("model_card/learning_curves.md", figure=_figure(figures.LEARNING_CURVES)) + "\n" \
        if findings.has_curves else ""
    misclassified = _fill("model_card/misclassified.md", count=findings.errors,
                          sheet=_figure(contact_sheets.MISCLASSIFIED)) + "\n" if findings.errors else ""
    return {"confusion": _figure(figures.CONFUSION), "roc": _figure(figures.ROC),
            "reliability": _figure(figures.RELIABILITY), "learning_curves": curves, "misclassified": misclassified}


def _training(contract: Contract) -> dict:
    data, kinds = contract.training_data, _other_kinds(contract)
    return {"pets": _described(data.pets, contract), "others": _described(data.others, contract),
            "kinds": ", ".join(kinds) or "not recorded", "split": data.split, "counts": json.dumps(data.counts),
            "skipped_files": data.skipped_files, "mislabelled": _mislabelled(data), "kind_count": len(kinds),
            "imagenet_backing": _imagenet_backing(contract), "licences": _licences(contract),
            "machine": contract.machine or "machine not recorded", "stage_seconds": json.dumps(contract.stage_seconds),
            "config": json.dumps(contract.config, indent=1)}


def _mislabelled(data: TrainingData) -> str:
    """What the label audit (training/label_audit.py) left out, so figures of runs with and without it are not confused."""
    if not data.mislabelled_left_out:
        return "as the file names give them (no photo left out by the label audit)."
    return (f"{data.mislabelled_left_out} photos whose label is wrong (no animal, a cat and a dog together, the "
            "other pet, or a pet filed as 'other'; each listed with what it shows in training/label_audit.csv) were "
            "neither trained on nor judged, so runs that judged every photo as filed count up to that many more "
            "mistakes.")


def _licences(contract: Contract) -> str:
    """What the photos, the starting weights and the project may be used for."""
    data = contract.training_data
    terms = licences.photo_terms(data)
    return _fill("model_card/licences.md", photo_terms=_lines(terms), weights=licences.weights_licence(contract),
                 project_licence=licences.project_licence())


def _imagenet_backing(contract: Contract) -> str:
    """The end of the sentence on what "other" was learnt from: whether ImageNet's kinds back it."""
    if not contract.imagenet_fusion:
        return "."
    kinds = len(contract.imagenet_fusion.imagenet_class_names)
    return f", and is backed by the ImageNet classifier's view of {kinds:,} kinds." if kinds else \
        ", and is backed by the ImageNet classifier's view of its kinds."


def _described(folders: list[str], contract: Contract) -> str:
    """Data folders with the description the run recorded for each (its README's title)."""
    return ", ".join(contract.training_data.described(folder) for folder in folders)


def _other_kinds(contract: Contract) -> list[str]:
    """The kinds of "other" the run trained on, from its per-kind figures."""
    figures_by_kind = next(iter(contract.metrics.held_out_kinds.values()), None) or contract.metrics.test_by_kind
    return list(figures_by_kind.other_recall_by_kind) if figures_by_kind else []
