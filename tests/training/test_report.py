"""The targets table of the evaluation report: numbers in, verdicts and readable rows out."""

from training.report import MAX_ONNX_MB, check_targets, held_out_mistakes, target_rows

PASSING = {"cat_vs_dog_accuracy": 0.9930, "other_recall": 0.98, "pets_called_other": 0.005, "ece": 0.02}


def test_a_value_exactly_on_the_goal_meets_it():
    rows = check_targets(PASSING, onnx_mb=MAX_ONNX_MB)
    assert [row["met"] for row in rows] == [True] * 5


def test_each_target_is_missed_on_its_own_side():
    missed = {"cat_vs_dog_accuracy": 0.9928, "other_recall": 0.97, "pets_called_other": 0.006, "ece": 0.03}
    for key, value in missed.items():
        rows = check_targets({**PASSING, key: value}, onnx_mb=1.0)
        assert [row["met"] for row in rows].count(False) == 1, key


def test_the_onnx_size_row_is_left_out_without_a_file():
    assert len(check_targets(PASSING, onnx_mb=None)) == 4
    assert check_targets(PASSING, onnx_mb=20.5)[-1]["met"] is False


def test_rows_show_fractions_as_percentages_and_sizes_in_megabytes():
    rows = target_rows(check_targets({**PASSING, "cat_vs_dog_accuracy": 0.99281}, onnx_mb=19.256))
    assert rows[2] == "| cat-vs-dog accuracy (test) | 99.28% | >= 99.30% | **no** |"
    assert rows[-1] == "| ONNX file size (MB) | 19.26 | <= 20.00 | yes |"


def test_runs_are_compared_by_their_own_held_out_pet_mistakes():
    matrix = [[90, 3, 1], [2, 95, 0], [1, 0, 50]]  # 6 of 191 pets wrong
    assert held_out_mistakes({"val": {"confusion_matrix": matrix}}) == "6 of 191 (val)"
    assert held_out_mistakes({"cv": {"confusion_matrix": matrix}, "test": {}}) == "6 of 191 (cross-validation)"
    assert held_out_mistakes({"test": {"confusion_matrix": matrix}}) == ""  # never chosen on test
