"""Two runs compared photo by photo on their held-out predictions: the same photo is paired
whatever order each run saved it in, pets and each kind of "other" are judged apart, runs
whose folds differ are refused, and only the label audit's photos may be held out by one
run alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.inference.decision import CAT, DOG, OTHER
from training import compare_runs
from training.compare_runs import RunAnswers
from training.run_files import RunFiles

LABELS = np.array([CAT, CAT, DOG, DOG, OTHER, OTHER, OTHER])
KINDS = np.array(["cat", "cat", "dog", "dog", "fox", "fox", "car"])
PATHS = np.array([f"/data/train/photo.{i}.jpg" for i in range(len(LABELS))])
FOLDS = np.array([0, 1, 2, 3, 4, 4, 0])


def _save(run_dir: Path, answers: list[int], order: list[int], folds: np.ndarray = FOLDS) -> Path:
    """A run that held out the photos `order` lists (in that order), answering each as `answers` says."""
    run_dir.mkdir()
    probabilities = np.full((len(LABELS), 3), 0.1, np.float32)
    probabilities[np.arange(len(answers)), answers] = 0.8
    np.savez(RunFiles(run_dir).held_out_predictions, probabilities=probabilities[order], labels=LABELS[order], kinds=KINDS[order],
             paths=PATHS[order], folds=folds[order])
    return run_dir


def test_each_photo_is_paired_with_itself_and_kinds_are_judged_apart(tmp_path: Path):
    # the reference calls a dog "other" and a fox "dog"; the candidate mends the fox and breaks a car
    reference = _save(tmp_path / "reference", [CAT, CAT, DOG, OTHER, OTHER, DOG, OTHER], order=list(range(7)))
    candidate = _save(tmp_path / "candidate", [CAT, CAT, DOG, OTHER, OTHER, OTHER, CAT], order=[6, 3, 0, 5, 1, 4, 2])
    comparison = compare_runs.compare_runs(RunAnswers.read(reference), RunAnswers.read(candidate), audited=set())
    assert (comparison.pets.first_right, comparison.pets.second_right, comparison.pets.only_second_right) == (3, 3, 0)
    assert comparison.pets_called_other == (1, 1)
    assert (comparison.other.only_first_right, comparison.other.only_second_right) == (1, 1)
    assert comparison.other_by_kind["fox"].only_second_right == 1
    assert comparison.other_by_kind["car"].only_first_right == 1
    assert set(comparison.other_by_kind) == {"car", "fox"}


def test_the_command_prints_and_writes_the_comparison(tmp_path: Path, capsys):
    reference = _save(tmp_path / "reference", list(LABELS), order=list(range(7)))
    candidate = _save(tmp_path / "candidate", [CAT, DOG, DOG, DOG, OTHER, OTHER, OTHER], order=list(range(7)))
    assert compare_runs.main([f"--reference={reference}", f"--candidate={candidate}"]) == 0
    written = json.loads((candidate / "compared-with-reference.json").read_text())
    assert written["pets"]["only_reference_right"] == 1 and written["pets"]["only_candidate_right"] == 0
    assert "pets" in capsys.readouterr().out


def test_runs_that_held_out_other_folds_are_refused(tmp_path: Path):
    reference = _save(tmp_path / "reference", list(LABELS), order=list(range(7)))
    candidate = _save(tmp_path / "candidate", list(LABELS), order=list(range(7)), folds=FOLDS[::-1].copy())
    with pytest.raises(ValueError, match="same folds"):
        compare_runs.compare_runs(RunAnswers.read(reference), RunAnswers.read(candidate), audited=set())


def test_photos_the_label_audit_lists_are_counted_not_paired(tmp_path: Path):
    # the candidate left out photo 3 (a dog the reference calls "other") and photo 5; the reference photo 6
    answers = [CAT, CAT, DOG, OTHER, OTHER, DOG, OTHER]
    reference = _save(tmp_path / "reference", answers, order=list(range(6)))
    candidate = _save(tmp_path / "candidate", answers, order=[6, 4, 2, 1, 0])
    audited = {"train/photo.3.jpg", "train/photo.5.jpg", "train/photo.6.jpg"}
    comparison = compare_runs.compare_runs(RunAnswers.read(reference), RunAnswers.read(candidate), audited)
    assert comparison.unpaired == (2, 1)
    assert comparison.pets.first_right == comparison.pets.second_right == 3
    assert comparison.pets_called_other == (0, 0)
    assert comparison.other.photos == 1
    assert "2 photos only the reference held out, 1 only the candidate" in "\n".join(compare_runs.describe(comparison))


@pytest.mark.parametrize("audited", [set(), {"train/photo.3.jpg"}])
def test_runs_that_held_out_other_photos_than_the_audit_s_are_refused(tmp_path: Path, audited: set):
    reference = _save(tmp_path / "reference", list(LABELS), order=list(range(7)))
    candidate = _save(tmp_path / "candidate", list(LABELS), order=[0, 1, 2, 4, 6])  # 3 and 5 missing
    with pytest.raises(ValueError, match="train/photo.5.jpg"):
        compare_runs.compare_runs(RunAnswers.read(reference), RunAnswers.read(candidate), audited)


def test_runs_with_no_photo_in_common_are_refused(tmp_path: Path):
    reference = _save(tmp_path / "reference", list(LABELS), order=[0, 1, 2])
    candidate = _save(tmp_path / "candidate", list(LABELS), order=[3, 4])
    audited = {f"train/photo.{i}.jpg" for i in range(5)}
    with pytest.raises(ValueError, match="different photos"):
        compare_runs.compare_runs(RunAnswers.read(reference), RunAnswers.read(candidate), audited)


def test_asking_a_run_for_a_photo_it_did_not_hold_out_is_an_error(tmp_path: Path):
    run = RunAnswers.read(_save(tmp_path / "run", list(LABELS), order=[0, 2]))
    with pytest.raises(ValueError, match="did not hold out"):
        run.only(np.array([PATHS[1]]))


def test_two_runs_are_compared_on_their_test_split_when_asked(tmp_path: Path, capsys):
    """The test split has no folds (one final model scores it): what the baseline is judged on."""
    runs = []
    for name, answers in (("reference", [CAT, DOG, DOG, DOG, OTHER, DOG, OTHER]),
                          ("candidate", [CAT, CAT, DOG, DOG, OTHER, OTHER, OTHER])):
        run_dir = tmp_path / name
        _save(run_dir, list(LABELS), order=list(range(7)))  # held out: both right everywhere
        probabilities = np.full((len(LABELS), 3), 0.1, np.float32)
        probabilities[np.arange(len(LABELS)), answers] = 0.8
        np.savez(RunFiles(run_dir).test_predictions, probabilities=probabilities, labels=LABELS, kinds=KINDS,
                 paths=PATHS)
        runs.append(run_dir)
    output = tmp_path / "compared.json"
    assert compare_runs.main([f"--reference={runs[0]}", f"--candidate={runs[1]}", "--split=test",
                              f"--output={output}"]) == 0
    saved = json.loads(output.read_text())
    assert saved["split"] == "test"
    assert (saved["pets"]["only_reference_right"], saved["pets"]["only_candidate_right"]) == (0, 1)
    assert (saved["other"]["only_reference_right"], saved["other"]["only_candidate_right"]) == (0, 1)
    compare_runs.main([f"--reference={runs[0]}", f"--candidate={runs[1]}", f"--output={output}"])
    assert json.loads(output.read_text())["pets"]["only_candidate_right"] == 0  # held out, both always right
