"""Your own videos end to end: generated class folders, list files with trimmed segments, and a parquet dataset of
video bytes each fine-tune a small model through examples/run_video_classification.py, and `python -m
hf_video.predict` runs the trained folder over videos, list files and windows along a video; bad files are named."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from hf_video.predict import main as predict
from helpers.own_videos import CLASSES, FORMATS, SUFFIXES, class_tree, write_clip

# Processes, real training runs or whole batteries: left out of `make test-fast`, run by `make test`.
pytestmark = pytest.mark.slow

SCRIPT = str(Path(__file__).resolve().parents[1] / "examples" / "run_video_classification.py")
TINY_RUN = ["--depth", "18", "--stem_width", "8", "--hidden_sizes", "8,16,32,64", "--num_frames", "4",
            "--sample_interval", "2", "--image_size", "32", "--eval_temporal_crops", "1", "--eval_spatial_crops", "1",
            "--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "8", "--max_steps", "2",
            "--use_cpu", "--dataloader_num_workers", "0", "--report_to", "none", "--disable_tqdm", "True",
            "--seed", "0"]


def train(tmp_path: Path, name: str, *data_options, expect_failure: bool = False):
    output = tmp_path / name
    result = subprocess.run([sys.executable, SCRIPT, *data_options, "--output_dir", str(output),
                             "--dataset_cache_dir", str(tmp_path / "cache"), *TINY_RUN],
                            capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if expect_failure:
        assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
        return result
    assert result.returncode == 0, result.stderr[-5000:]
    return output


def rows_of(path: Path) -> list:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_class_folders_fine_tune_and_predict_with_a_bad_file_named_and_a_resumed_run(tmp_path):
    root = class_tree(tmp_path / "videos", per_class=3)
    model = train(tmp_path, "folders", "--train_dir", str(root / "train"), "--train_val_split", "0.34")
    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    assert sorted(config["id2label"].values()) == sorted(CLASSES)
    results = json.loads((model / "all_results.json").read_text())
    assert results["validation_num_videos"] == 3 and 0 <= results["validation_video_accuracy"] <= 1
    assert (model / "video_preprocessor_config.json").is_file()

    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "broken.mp4").write_bytes(b"\x00" * 4000)
    output = tmp_path / "predictions.jsonl"
    counts = predict([str(root / "train"), str(tmp_path / "bad"), "--model", str(model), "--output", str(output),
                      "--top_k", "2", "--num_workers", "2"])
    assert counts == {"videos": 10, "skipped": 0, "failed": 1}
    rows = rows_of(output)
    good = [row for row in rows if row["error"] is None]
    assert len(good) == 9 and all(set(row["labels"]) <= set(CLASSES) and len(row["scores"]) == 2 for row in good)
    assert all(row["views"] == 1 and row["scores"] == sorted(row["scores"], reverse=True) for row in good)
    broken = next(row for row in rows if row["error"] is not None)
    assert broken["video"].endswith("broken.mp4") and "broken.mp4" in broken["error"]
    # Again: everything is in the output already; a line cut short by a stopped run is dropped and redone.
    lines = output.read_text(encoding="utf-8").splitlines(keepends=True)
    output.write_text("".join(lines[:-1]) + lines[-1][:lines[-1].index('", "start"') + 1], encoding="utf-8")
    counts = predict([str(root / "train"), str(tmp_path / "bad"), "--model", str(model), "--output", str(output)])
    assert json.loads(lines[-1])["error"] is not None  # the broken video came last, and is read again
    assert counts == {"videos": 1, "skipped": 9, "failed": 1}
    assert sorted(row["video"] for row in rows_of(output)) == sorted(row["video"] for row in rows)


def test_list_files_with_segments_fine_tune_and_predict_windows_along_a_video(tmp_path):
    lists = tmp_path / "lists"
    for index in range(9):
        write_clip(lists / "clips" / f"long {index}.avi", 40, FORMATS[0])
    with open(lists / "train.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["path", "label", "start", "end"])
        for index in range(9):
            writer.writerow([f"clips/long {index}.avi", CLASSES[index % 3], 0.5, 2.5])
    with open(lists / "validation.jsonl", "w", encoding="utf-8") as file:
        for index in range(3):
            file.write(json.dumps({"video": f"clips/long {index}.avi", "label": CLASSES[index], "start": 2}) + "\n")
    model = train(tmp_path, "lists_run", "--dataset_name", str(lists))
    assert json.loads((model / "all_results.json").read_text())["validation_num_videos"] == 3

    output = tmp_path / "windows.csv"
    predict([str(lists / "clips" / "long 0.avi"), "--model", str(model), "--output", str(output),
             "--window_seconds", "1", "--stride_seconds", "0.5", "--plot"])
    with open(output, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [(float(row["start"]), float(row["end"])) for row in rows] == [
        (0.0, 1.0), (0.5, 1.5), (1.0, 2.0), (1.5, 2.5), (2.0, 3.0), (2.5, 3.5), (3.0, 4.0), (3.5, 4.0)]
    assert all(json.loads(row["labels"])[0] in CLASSES for row in rows)
    plot = tmp_path / "windows_plots" / "long 0.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 5000


def test_a_parquet_dataset_of_video_bytes_fine_tunes_and_a_bad_row_is_named(tmp_path):
    videos = [write_clip(tmp_path / "src" / f"{index}{SUFFIXES[FORMATS[index % 3]]}", 12 + index,
                         FORMATS[index % 3]) for index in range(9)]

    def table(rows: list, folder: Path) -> Path:
        (folder / "data").mkdir(parents=True)
        datasets.Dataset.from_dict({
            "clip": [{"bytes": data, "path": name} for name, data in rows],
            "action": [CLASSES[index % 3] for index in range(len(rows))],
        }).cast_column("clip", datasets.Video(decode=False)).to_parquet(str(folder / "data" / "train.parquet"))
        return folder

    good = table([(path.name, path.read_bytes()) for path in videos], tmp_path / "bytes")
    model = train(tmp_path, "bytes_run", "--dataset_name", str(good), "--video_column_name", "clip",
                  "--label_column_name", "action", "--train_val_split", "0.34")
    assert sorted(json.loads((model / "config.json").read_text(encoding="utf-8"))["id2label"].values()) == \
        sorted(CLASSES)
    bad = table([(path.name, path.read_bytes()) for path in videos[:8]] + [("torn.mp4", b"\x00" * 3000)],
                tmp_path / "bad_bytes")
    failed = train(tmp_path, "bad_run", "--dataset_name", str(bad), "--video_column_name", "clip",
                   "--label_column_name", "action", expect_failure=True)
    assert "train row 8: unreadable video: torn.mp4 (train row 8)" in failed.stderr
    assert not (tmp_path / "bad_run").exists() or not any((tmp_path / "bad_run").glob("checkpoint-*"))
    # Predicting over the dataset's rows, read from the table in a loader process: the torn row is named, the run
    # goes on, and a second run finds every row done.
    output = tmp_path / "bytes_predictions.jsonl"
    arguments = ["--model", str(model), "--output", str(output), "--dataset_name", str(bad), "--video_column_name",
                 "clip", "--num_workers", "1", "--top_k", "2"]
    assert predict(arguments) == {"videos": 9, "skipped": 0, "failed": 1}
    rows = rows_of(output)
    assert [row["video"] for row in rows] == [f"{bad}:train:{index}" for index in range(9)]
    assert all(row["error"] is None and set(row["labels"]) <= set(CLASSES) and row["views"] == 1 for row in rows[:8])
    assert rows[8]["labels"] == [] and "torn.mp4" in rows[8]["error"], rows[8]
    assert predict(arguments + ["--split", "train"]) == {"videos": 0, "skipped": 9, "failed": 0}
