"""python -m app.classify: a folder of good, broken and nested files, as a user would have it."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from app import classify
from app.inference.model import get_classifier
from app.inference.preprocess import decode_image
from tests import images
from tests.conftest import OTHERS, PETS, photo, upload


@pytest.fixture
def folder(tmp_path):
    """Photos from ../shared copied into a temporary folder, with broken and nested files."""
    root = tmp_path / "photos"
    (root / "holiday" / "day 2").mkdir(parents=True)
    shutil.copy(PETS / "cat.1.jpg", root / "cat.1.jpg")
    shutil.copy(PETS / "dog.1.jpg", root / "holiday" / "dog.1.jpg")
    shutil.copy(OTHERS / "car.1.jpg", root / "holiday" / "day 2" / "car.1.jpg")
    shutil.copy(PETS / "cat.2.jpg", root / "holiday" / "cat.1.jpg")  # same name as another cat
    (root / "holiday" / "iphone.heic").write_bytes(images.heic(decode_image(photo("dog.2.jpg")), orientation=1))
    (root / "cut.jpg").write_bytes(photo("cat.3.jpg")[:2000])
    (root / "notes.txt").write_text("not a photo")
    (root / "empty.png").write_bytes(b"")
    return root


EXPECTED = {  # path within the folder -> label, or the error code
    "cat.1.jpg": "cat", "cut.jpg": "corrupt_image", "empty.png": "empty_file", "notes.txt": "unsupported_format",
    "holiday/cat.1.jpg": "cat", "holiday/dog.1.jpg": "dog", "holiday/iphone.heic": "dog",
    "holiday/day 2/car.1.jpg": "other",
}


def run(*args) -> int:
    return classify.main([*map(str, args), "--workers", "1"])


def read_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def snapshot(root) -> dict:
    """Every file's bytes and modification time: what an untouched folder keeps."""
    return {p: (hashlib.sha256(p.read_bytes()).hexdigest(), os.stat(p).st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_every_file_gets_one_row_with_its_label_or_reason(folder, tmp_path):
    assert run(folder, "--csv", tmp_path / "labels.csv") == 0
    rows = read_csv(tmp_path / "labels.csv")
    assert list(rows[0]) == ["path", "label", "confidence", "cat", "dog", "other", "error"]
    got = {os.path.relpath(r["path"], folder): r for r in rows}
    assert len(rows) == len(got) == len(EXPECTED)
    for name, expected in EXPECTED.items():
        row = got[name]
        if expected in ("cat", "dog", "other"):
            assert row["label"] == expected and row["error"] == ""
            assert float(row["confidence"]) == max(float(row[c]) for c in ("cat", "dog", "other")) > 0.5
            assert sum(float(row[c]) for c in ("cat", "dog", "other")) == pytest.approx(1, abs=2e-3)
        else:
            assert row["label"] == row["confidence"] == "" and row["error"].startswith(expected + ": ")


def test_a_missing_path_is_a_row_too_and_files_can_be_named_alone(folder, tmp_path):
    run(folder / "cat.1.jpg", tmp_path / "nowhere.jpg", "--jsonl", tmp_path / "out.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert lines[0]["label"] == "cat" and set(lines[0]["scores"]) == {"cat", "dog", "other"}
    assert lines[1] == {"path": str(tmp_path / "nowhere.jpg"),
                        "error": {"code": "not_found", "message": "No such file or folder."}}


def test_the_rows_are_the_apis_answers(folder, tmp_path, client):
    run(folder, "--jsonl", tmp_path / "out.jsonl")
    mine = {os.path.relpath(json.loads(line)["path"], folder): json.loads(line)
            for line in (tmp_path / "out.jsonl").read_text().splitlines()}
    for name in ("cat.1.jpg", "holiday/iphone.heic"):
        api = client.post("/api/v1/predict", {"image": [upload(name, (folder / name).read_bytes())]}).json()
        assert mine[name]["scores"] == api["predictions"][0]["scores"]


def test_sort_into_copies_each_photo_and_never_touches_an_original(folder, tmp_path):
    before = snapshot(folder)
    sorted_dir = tmp_path / "sorted"
    (sorted_dir / "cat").mkdir(parents=True)
    (sorted_dir / "cat" / "cat.1.jpg").write_bytes(b"a file of the user's, already there")
    run(folder, "--sort-into", sorted_dir, "--csv", tmp_path / "labels.csv")
    assert snapshot(folder) == before
    copies = sorted(str(p.relative_to(sorted_dir)) for p in sorted_dir.rglob("*") if p.is_file())
    assert copies == ["cat/cat.1-2.jpg", "cat/cat.1-3.jpg", "cat/cat.1.jpg", "dog/dog.1.jpg", "dog/iphone.heic",
                      "other/car.1.jpg"]  # no error file copied; a clash gets a suffix
    assert (sorted_dir / "cat" / "cat.1.jpg").read_bytes() == b"a file of the user's, already there"
    originals = {(folder / "cat.1.jpg").read_bytes(), (folder / "holiday" / "cat.1.jpg").read_bytes()}
    assert {(sorted_dir / "cat" / n).read_bytes() for n in ("cat.1-2.jpg", "cat.1-3.jpg")} == originals
    assert os.stat(sorted_dir / "dog" / "dog.1.jpg").st_mtime_ns == before[folder / "holiday" / "dog.1.jpg"][1]


def test_outputs_inside_the_folder_are_not_classified_on_the_next_run(folder):
    for _ in range(2):
        run(folder, "--csv", folder / "labels.csv", "--sort-into", folder / "sorted", "--heatmaps", folder / "maps")
    assert len(read_csv(folder / "labels.csv")) == len(EXPECTED)
    assert len(list((folder / "sorted").rglob("*.*"))) == 2 * 5  # each run copies its 5 photos again


def test_heatmaps_keep_the_photos_places(folder, tmp_path):
    run(folder, "--heatmaps", tmp_path / "maps", "--csv", tmp_path / "labels.csv")
    maps = sorted(str(p.relative_to(tmp_path / "maps")) for p in (tmp_path / "maps").rglob("*.jpg"))
    assert maps == sorted(f"{name}.heatmap.jpg" for name, label in EXPECTED.items() if label in ("cat", "dog", "other"))
    assert decode_image((tmp_path / "maps" / "holiday" / "dog.1.jpg.heatmap.jpg").read_bytes()).shape[2] == 3


def test_batches_run_in_worker_processes_in_order(tmp_path):
    names = [f"{kind}.{i}.jpg" for i in range(1, 10) for kind in ("cat", "dog")]  # 18: two batches
    for name in names:
        shutil.copy(PETS / name, tmp_path / name)
    assert classify.main([str(tmp_path), "--csv", str(tmp_path / "two.csv"), "--workers", "2"]) == 0
    run(tmp_path, "--csv", tmp_path / "one.csv")
    rows = read_csv(tmp_path / "two.csv")
    assert [os.path.basename(r["path"]) for r in rows] == sorted(names)
    assert rows == [r for r in read_csv(tmp_path / "one.csv") if not r["path"].endswith(".csv")]


def test_a_file_over_max_upload_bytes_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1024")
    (tmp_path / "big.jpg").write_bytes(photo("cat.1.jpg")[:1025])
    (tmp_path / "small.jpg").write_bytes(photo("cat.1.jpg")[:1024])
    run(tmp_path, "--csv", tmp_path / "out.csv")
    rows = read_csv(tmp_path / "out.csv")
    assert [r["error"].split(":")[0] for r in rows] == ["file_too_large", "corrupt_image"]


@pytest.mark.parametrize("head,code", [(b"", "unsupported_format"), (b"\xff\xd8\xff", "file_too_large")])
def test_a_huge_file_gets_its_row_without_being_read_whole(tmp_path, head, code):
    """300 MB, sparse: under the old cap of 8 bytes per allowed pixel, so it used to be read whole."""
    import tracemalloc

    huge = tmp_path / "huge.jpg"
    huge.write_bytes(head)
    os.truncate(huge, 300 * 2**20)
    run(huge, "--csv", tmp_path / "labels.csv")  # the model is loaded once, outside the measure
    tracemalloc.start()
    try:
        run(huge, "--csv", tmp_path / "labels.csv")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert read_csv(tmp_path / "labels.csv")[0]["error"].startswith(code + ": ")
    assert peak < 30 * 2**20


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_is_drawn_on_a_terminal_only():
    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        progress = classify.Progress(3, stream, width=6)
        for _ in range(3):
            progress.step()
        progress.close()
    drawn = terminal.getvalue()
    assert "\r[##....] 1/3 " in drawn and "\r[######] 3/3 " in drawn and drawn.endswith(" photos/s\n")
    assert pipe.getvalue() == ""


def test_linked_folders_are_followed_once_and_a_pipe_is_a_row_not_a_hang(folder, tmp_path):
    (folder / "holiday" / "back to the top").symlink_to(folder, target_is_directory=True)  # a loop
    os.mkfifo(folder / "a pipe")
    run(folder, "--csv", tmp_path / "labels.csv")
    got = {os.path.relpath(r["path"], folder): r for r in read_csv(tmp_path / "labels.csv")}
    assert set(got) == set(EXPECTED) | {"a pipe"}
    assert got["a pipe"]["error"] == "not_a_file: This is not a regular file."


def test_workers_must_be_a_positive_number(capsys):
    with pytest.raises(SystemExit) as exit_:
        classify.main(["x.jpg", "--workers", "0"])
    assert exit_.value.code == 2 and "at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_model_that_cannot_load_stops_at_once_with_one_line(tmp_path, workers):
    import subprocess
    import sys

    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    for i in range(classify.BATCH + 1):  # two batches, so two workers run
        (tmp_path / f"{i}.txt").write_text("not read: the model is loaded first")
    done = subprocess.run([sys.executable, "-m", "app.classify", str(tmp_path), "--model", str(tmp_path / "bad.onnx"),
                           "--workers", workers, "--csv", str(tmp_path / "out.csv")],
                          capture_output=True, text=True, timeout=60, cwd=Path(classify.__file__).parents[1])
    assert done.returncode != 0
    assert done.stderr.splitlines() == [f"app.classify: cannot load the model {tmp_path / 'bad.onnx'}: "
                                        "not an ONNX model, or cut off (protobuf parsing failed)"]
    assert not (tmp_path / "out.csv").exists()


def die_on_crash_jpg(jobs):
    """A worker's work that kills its process on one file, as the kernel's OOM killer would."""
    if any(job.path.name == "crash.jpg" for job in jobs):
        os._exit(9)
    return [classify.Row(job.shown, "cat", 1.0, {"cat": 1.0}) for job in jobs]


def test_a_worker_that_dies_costs_only_its_files_row(tmp_path):
    names = ["a.jpg", "crash.jpg", "b.jpg", "c.jpg", "d.jpg"]
    jobs = [classify.Job(tmp_path / name, name) for name in names]
    runner = classify.Runner(classify.Settings(classify.DEFAULT_MODEL, "auto", 1000), 2, batch=2,
                             work=die_on_crash_jpg)
    try:
        rows = list(runner.rows(jobs))
    finally:
        runner.close()
    assert [r.path for r in rows] == names
    assert [r.error_code or r.label for r in rows] == ["cat", "worker_crashed", "cat", "cat", "cat"]


def test_with_workers_the_command_itself_keeps_no_model(monkeypatch):
    monkeypatch.setattr(classify, "_worker", None)
    cached = get_classifier.cache_info().currsize
    runner = classify.Runner(classify.Settings(classify.DEFAULT_MODEL, "auto", 1000), 2, work=die_on_crash_jpg)
    try:
        assert classify._worker is None and get_classifier.cache_info().currsize == cached
        assert runner.class_names == ["cat", "dog", "other"]  # the model was loaded, for a check
    finally:
        runner.close()


def test_a_folder_and_a_link_to_it_give_its_photos_once(tmp_path):
    (tmp_path / "a").mkdir()
    shutil.copy(PETS / "cat.1.jpg", tmp_path / "a" / "x.jpg")
    (tmp_path / "b").symlink_to(tmp_path / "a", target_is_directory=True)
    (tmp_path / "c").symlink_to(tmp_path / "a", target_is_directory=True)
    run(tmp_path, "--csv", tmp_path / "labels.csv")
    assert [r["path"] for r in read_csv(tmp_path / "labels.csv")] == [str(tmp_path / "a" / "x.jpg")]


def test_a_copy_or_heatmap_that_cannot_be_written_is_a_row_not_a_traceback(folder, tmp_path, capsys):
    sorted_dir, maps = tmp_path / "sorted", tmp_path / "maps"
    sorted_dir.mkdir()
    (sorted_dir / "cat").write_text("a file where the cat folder should be")
    maps.mkdir()
    (maps / "holiday").write_text("a file where a heatmap folder should be")
    assert run(folder, "--sort-into", sorted_dir, "--heatmaps", maps, "--jsonl", tmp_path / "out.jsonl") == 0
    rows = {os.path.relpath(r["path"], folder): r for r in map(json.loads, (tmp_path / "out.jsonl").open())}
    assert rows["cat.1.jpg"]["label"] == "cat" and rows["cat.1.jpg"]["error"]["code"] == "copy_failed"
    assert rows["holiday/dog.1.jpg"]["label"] == "dog" and rows["holiday/dog.1.jpg"]["error"]["code"] == "heatmap_failed"
    assert rows["holiday/day 2/car.1.jpg"]["error"]["code"] == "heatmap_failed"  # under holiday/ too
    assert (sorted_dir / "other" / "car.1.jpg").is_file() and (maps / "cat.1.jpg.heatmap.jpg").is_file()
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"app.classify: {folder / 'cat.1.jpg'}: The copy into" in err


def test_a_copy_cut_short_is_removed_and_refused_dates_do_not_stop_it(folder, tmp_path, monkeypatch):
    def disk_full(source, target):
        target.write(source.read(100))
        raise OSError(28, "No space left on device")

    def refused(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(classify.shutil, "copystat", refused)
    row = classify.Row("cat.1.jpg", "cat", 1.0, {"cat": 1.0})
    kept = classify.copy_into(row, folder / "cat.1.jpg", tmp_path / "sorted")
    assert kept.read_bytes() == (folder / "cat.1.jpg").read_bytes() and not row.error_code
    monkeypatch.setattr(classify.shutil, "copyfileobj", disk_full)
    assert classify.copy_into(row, folder / "cat.1.jpg", tmp_path / "sorted") is None
    assert row.error_code == "copy_failed" and "No space left on device" in row.error
    assert sorted(p.name for p in (tmp_path / "sorted" / "cat").iterdir()) == ["cat.1.jpg"]  # no half copy


def test_a_photo_that_vanished_before_its_copy_gets_a_row(folder, tmp_path):
    row = classify.Row("gone.jpg", "cat", 1.0, {"cat": 1.0})
    assert classify.copy_into(row, folder / "gone.jpg", tmp_path / "sorted") is None
    assert row.error_code == "copy_failed" and "No such file" in row.error
