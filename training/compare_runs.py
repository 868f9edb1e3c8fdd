"""Two training runs photo by photo on their held-out predictions: the recipe question.

    python -m training.compare_runs --reference var/runs/lite2-tuned --candidate var/runs/tune-2ep

Each run's held-out predictions (training/run_files.py) hold the out-of-fold answer (fused, calibrated) for
every train + val photo, from the leave-kinds-out cross-validation. The two runs must have
held out each shared photo in the same fold, so each photo is judged by two models that
never saw it. A photo only one run held out must be one the label audit lists
(training/label_audit.py: a run with the audit against one without); it is counted, not
paired. Pets and "other" are paired separately (exact McNemar test), and each kind of
"other" too, since a recipe can lift one kind by sinking another.

`--split test` pairs the two runs' final models on the test split instead: for runs without
cross-validation (the from-scratch baseline), whose only unseen photos those are.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.inference.decision import OTHER, decide
from training.label_audit import audit_name, read_audit
from training.metrics import Paired
from training.run_files import RunFiles


SPLITS = ("held-out", "test")  # which of a run's prediction files two runs are paired on


@dataclass
class RunAnswers:
    """A run's decided answers on the photos it never trained on, sorted by path."""
    paths: np.ndarray
    labels: np.ndarray
    kinds: np.ndarray
    folds: np.ndarray
    answers: np.ndarray  # the decided class per photo

    @classmethod
    def read(cls, run_dir: Path, split: str = "held-out") -> "RunAnswers":
        """A run's out-of-fold answers ("held-out"), or its final model's on the test split ("test",
        where every photo is in one fold)."""
        if split not in SPLITS:
            raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
        files = RunFiles(run_dir)
        with np.load(files.held_out_predictions if split == "held-out" else files.test_predictions) as saved:
            order = np.argsort(saved["paths"])  # sorted, so two runs' rows line up photo by photo
            folds = saved["folds"][order] if "folds" in saved.files else np.zeros(len(order), np.int64)
            return cls(saved["paths"][order], saved["labels"][order], saved["kinds"][order],
                       folds, decide(saved["probabilities"][order]))

    def only(self, paths: np.ndarray) -> "RunAnswers":
        """These photos (a sorted subset of this run's paths), in the same order."""
        rows = np.isin(self.paths, paths)
        if rows.sum() != len(paths):
            raise ValueError("asked for photos this run did not hold out")
        return RunAnswers(self.paths[rows], self.labels[rows], self.kinds[rows], self.folds[rows], self.answers[rows])

    @property
    def right(self) -> np.ndarray:
        return self.answers == self.labels


@dataclass
class RunComparison:
    pets: Paired
    other: Paired
    pets_called_other: tuple[int, int]  # reference, candidate
    other_by_kind: dict[str, Paired]
    unpaired: tuple[int, int]  # photos only the reference, only the candidate held out

    def to_dict(self) -> dict:
        return {"pets": self.pets.named("reference", "candidate"),
                "other": self.other.named("reference", "candidate"),
                "pets_called_other": {"reference": self.pets_called_other[0],
                                      "candidate": self.pets_called_other[1]},
                "other_by_kind": {kind: paired.named("reference", "candidate")
                                  for kind, paired in self.other_by_kind.items()},
                "unpaired": {"only_reference": self.unpaired[0], "only_candidate": self.unpaired[1]}}


def compare_runs(reference: RunAnswers, candidate: RunAnswers, audited: set[str]) -> RunComparison:
    """The two runs on the photos both held out; `audited` (audit names) may be held out by one only."""
    shared = np.intersect1d(reference.paths, candidate.paths)
    unexplained = [path for path in np.setxor1d(reference.paths, candidate.paths) if audit_name(path) not in audited]
    if len(shared) == 0 or unexplained:
        raise ValueError(f"the two runs held out different photos, e.g. {unexplained[:3]}: "
                         "only photos the label audit lists may be held out by one run alone")
    unpaired = (len(reference.paths) - len(shared), len(candidate.paths) - len(shared))
    reference, candidate = reference.only(shared), candidate.only(shared)
    if not np.array_equal(reference.folds, candidate.folds):
        raise ValueError("the two runs did not hold out their shared photos in the same folds")
    pets, others = reference.labels != OTHER, reference.labels == OTHER
    by_kind = {str(kind): Paired.of(reference.right, candidate.right, reference.kinds == kind)
               for kind in sorted(set(reference.kinds[others]))}
    return RunComparison(
        pets=Paired.of(reference.right, candidate.right, pets),
        other=Paired.of(reference.right, candidate.right, others),
        pets_called_other=(int((pets & (reference.answers == OTHER)).sum()),
                           int((pets & (candidate.answers == OTHER)).sum())),
        other_by_kind=by_kind, unpaired=unpaired)


def describe(comparison: RunComparison) -> list[str]:
    def line(name: str, paired: Paired) -> str:
        return f"{name:<24} {paired.sentence('reference', 'candidate')}"
    lines = [line("pets", comparison.pets), line("other", comparison.other),
             "pets called 'other': reference %d, candidate %d" % comparison.pets_called_other]
    if any(comparison.unpaired):
        lines.append("not paired (the label audit's): %d photos only the reference held out, %d only the candidate"
                     % comparison.unpaired)
    lines += [line(f"other: {kind}", paired) for kind, paired in comparison.other_by_kind.items()
              if paired.only_first_right or paired.only_second_right]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", required=True, help="a run folder (today's recipe)")
    parser.add_argument("--candidate", required=True, help="a run folder (the recipe being judged)")
    parser.add_argument("--split", choices=SPLITS, default="held-out",
                        help="held-out: the cross-validation's out-of-fold answers (choose recipes by these); "
                             "test: the test split (for runs without cross-validation, such as the baseline)")
    parser.add_argument("--output", help="JSON file (default: CANDIDATE/compared-with-reference.json)")
    args = parser.parse_args(argv)
    comparison = compare_runs(RunAnswers.read(Path(args.reference), args.split),
                              RunAnswers.read(Path(args.candidate), args.split), audited=set(read_audit()))
    print("\n".join(describe(comparison)))
    output = Path(args.output or Path(args.candidate) / "compared-with-reference.json")
    output.write_text(json.dumps({"reference": args.reference, "candidate": args.candidate,
                                  "split": args.split, **comparison.to_dict()}, indent=1))
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
