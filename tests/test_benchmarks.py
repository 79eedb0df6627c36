"""The benchmark scripts run as users run them (small settings), and what they compare against is what they say:
the original formulation reproduces the original implementation's golden outputs, the decord baseline's wrong
frames are real, and a loader worker's memory stops growing after warm-up."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from hmdb51_like import hmdb51_like_videos  # noqa: E402
from loader_memory import worker_rss_growth  # noqa: E402
from helpers.original_tada2d import OriginalTada2d  # noqa: E402

# Processes, real training runs or whole batteries: left out of `make test-fast`, run by `make test`.
pytestmark = pytest.mark.slow


def run_benchmark(script: str, *arguments, timeout=600) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), *map(str, arguments)], cwd=REPO,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{script} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.mark.parametrize("script", ["model_speed.py", "data_speed.py", "prepare_speed.py", "loader_memory.py",
                                    "predict_speed.py",
                                    "train_step_speed.py", "tada_unit_parts.py"])
def test_every_benchmark_explains_itself(script, monkeypatch, capsys):
    """In this process: `--help` ends the script in its argument parser, before any work."""
    import runpy

    monkeypatch.setattr(sys, "argv", [str(BENCHMARKS / script), "--help"])
    with pytest.raises(SystemExit) as ended:
        runpy.run_path(str(BENCHMARKS / script), run_name="__main__")
    assert ended.value.code == 0
    shown = capsys.readouterr().out
    assert "--output" in shown and "python benchmarks/" in shown  # the options and the usage lines


def test_original_formulation_reproduces_the_original_implementation(reference_dir):
    golden = reference_dir / "tada_original"
    state_dict = torch.load(golden / "tada2d_public_tadaconv_format.pyth", weights_only=True)["model_state"]
    model = OriginalTada2d(depth=50, num_filters=(8, 32, 64, 128, 256), num_classes=5).eval()
    model.load_state_dict(state_dict, strict=True)
    io = load_file(golden / "tada2d_public_io.safetensors")
    with torch.no_grad():
        logits = model(io["input"].permute(0, 2, 1, 3, 4))  # ours take (B, T, C, H, W)
    assert torch.allclose(logits, io["logits"], atol=1e-5)


def test_model_speed_compares_equal_models_and_writes_json(tmp_path):
    output = tmp_path / "model_speed.json"
    result = run_benchmark("model_speed.py", "--width_divisor", 16, "--num_frames", 4, "--image_size", 32,
                           "--repetitions", 2, "--output", output)
    assert "tada / per_frame_2d (forward_backward, fp32)" in result.stdout
    report = json.loads(output.read_text())
    assert report["tada_minus_original_max_abs_logit"] < 1e-4  # same weights, same logits
    for name in ("tada", "per_frame_2d", "original"):
        for mode in ("forward", "forward_backward"):
            timing = report["timings"][f"{name}/{mode}/fp32"]
            assert len(timing["samples"]) == 2 and timing["min"] <= timing["median"] <= timing["max"]
    saved = {name: report["memory"][f"{name}/fp32"]["saved_for_backward_bytes"]
             for name in ("tada", "per_frame_2d", "original")}
    # The original keeps B*T calibrated weight copies for backward; TAda adds little to its 2D floor.
    assert saved["original"] > saved["tada"] > saved["per_frame_2d"] > 0
    assert {"command", "machine", "ratios"} <= set(report)


def test_data_speed_runs_every_candidate_and_finds_decords_wrong_frames(tmp_path):
    output = tmp_path / "data_speed.json"
    result = run_benchmark("data_speed.py", "--work_dir", tmp_path / "work", "--num_videos", 4, "--repetitions", 1,
                           "--output", output)
    report = json.loads(output.read_text())
    kinds = ("train_transform", "train_loader_side", "bare_decode", "eval_transform")
    expected = {f"{kind}/{backend}" for kind in kinds for backend in ("pyav", "decord")}
    expected |= {"bare_decode_all_frames/pyav", "bare_decode_kept_converter/pyav", "decord_baseline",
                 "straightforward_loader/pyav"}
    assert set(report["timings"]) == expected
    for ratio in ("train_loader_side/pyav / bare_decode/pyav", "train_transform/pyav / straightforward_loader/pyav"):
        assert report["ratios"][ratio]["verdict"].startswith(("holds", "MISSES")), ratio
    # get_batch seeks, and decord's seeks return other frames in B-frame AVI (compared with sequential decoding).
    assert 0 < report["decord_baseline_wrong_clips"] <= 4
    # The target ratio compares the faster backend's transform, whichever it was on this run.
    assert re.search(r"train_transform/(pyav|decord) / decord_baseline .*(holds|MISSES)", result.stdout)


def test_train_step_speed_feeds_the_step_in_both_modes(tmp_path):
    output = tmp_path / "train_step_speed.json"
    # A work folder relative to the working folder, as the default is: the rows must still name their videos.
    work_dir = os.path.relpath(tmp_path / "work", REPO)
    run_benchmark("train_step_speed.py", "--work_dir", work_dir, "--num_videos", 4, "--depth", 18,
                  "--num_frames", 4, "--image_size", 32, "--batch_size", 4, "--workers", "0,1", "--steps", 2,
                  "--warmup", 1, "--output", output)
    report = json.loads(output.read_text())
    assert set(report["fed"]) == {"loader/0", "loader/1", "device/0", "device/1"}
    assert all(entry["clips_per_second"] > 0 and entry["bound_by"] in ("model", "loaders")
               for entry in report["fed"].values())
    assert len(report["model_only_before_and_after"]) == 2


def test_prepare_speed_prepares_a_tree_with_real_names(tmp_path):
    output = tmp_path / "prepare_speed.json"
    run_benchmark("prepare_speed.py", "--work_dir", tmp_path / "work", "--num_classes", 1, "--size", "64x48",
                  "--cold_runs", 1, "--cached_runs", 2, "--output", output)
    report = json.loads(output.read_text())
    assert report["rows"] == {"train": 70, "test": 30}
    assert len(report["cold_seconds"]["samples"]) == 1 and len(report["cached_seconds"]["samples"]) == 2


@pytest.mark.parametrize("dataset", ["ssv2", "kinetics400"])
def test_prepare_speed_prepares_a_large_layout_tree_and_projects_the_full_dataset(tmp_path, dataset):
    output = tmp_path / "prepare_speed.json"
    run_benchmark("prepare_speed.py", "--dataset", dataset, "--num_videos", 11, "--work_dir", tmp_path / "work",
                  "--cold_runs", 1, "--cached_runs", 1, "--output", output)
    report = json.loads(output.read_text())
    assert sum(report["rows"].values()) == report["videos_in_tree"] and set(report["rows"]) == {"train", "validation"}
    assert report["videos_in_tree"] == 11 and report["rows"]["validation"] == 2
    assert report["process_seconds_per_video"] > 0 and report["projected_full_prepare_seconds"] > 0


def test_a_loader_workers_memory_levels_off(tmp_path):
    """The CI-sized version of `loader_memory.py` (PyAV, the default backend): after warm-up the worker's RSS
    stays within a loose bound (the benchmark's target is 50 MB over 5,000 clips)."""
    videos = hmdb51_like_videos(tmp_path, num_videos=8)
    measured = worker_rss_growth(videos, "pyav", num_clips=600, warmup_clips=300, sample_every=50)
    assert len(measured["readings"]) == 12
    assert measured["growth_bytes"] <= 150 * 2**20, {count: rss // 2**20 for count, rss in measured["readings"].items()}


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message given where no GPU is present")
def test_predict_speed_times_predict_against_the_pipeline_and_reads_its_memory(tmp_path):
    output = tmp_path / "predict_speed.json"
    result = run_benchmark("predict_speed.py", "--work_dir", tmp_path / "work", "--num_videos", 6, "--repetitions", 1,
                           "--memory_videos", 40, "--warmup_videos", 10, "--output", output)
    assert "predict, 2 loaders / pipeline loop" in result.stdout
    report = json.loads(output.read_text())
    assert set(report["speed"]) == {"predict, 1 loader", "predict, 2 loaders", "pipeline loop"}
    assert all(entry["videos_per_second"] > 0 for entry in report["speed"].values())
    assert report["memory"]["rows"] == 40 and report["memory"]["readings"][-1][0] <= 40


def test_gpu_check_stops_with_a_clear_message_without_a_gpu(tmp_path):
    result = subprocess.run(["bash", str(BENCHMARKS / "gpu_check.sh"), str(tmp_path / "gpu.json")], cwd=REPO,
                            capture_output=True, text=True, env={**os.environ, "PYTHON": sys.executable})
    assert result.returncode != 0 and "no CUDA GPU" in result.stderr
    assert not (tmp_path / "gpu.json").exists()


def test_tada_unit_parts_checks_every_alternative_against_the_model(tmp_path):
    output = tmp_path / "tada_unit_parts.json"
    run_benchmark("tada_unit_parts.py", "--batch_size", 1, "--num_frames", 4, "--stages", "2,3", "--iterations", 1,
                  "--repetitions", 1, "--output", output)
    parts = json.loads(output.read_text())["parts"]
    shapes = ("256x7^2", "512x4^2")
    assert set(parts) == {f"{part}/{shape}" for part in ("tail", "route", "calibration") for shape in shapes}
    for name, entry in parts.items():
        assert set(entry["ratios"]) == {f"{candidate} / model" for candidate in entry["timings"]} - {"model / model"}
        # The same outputs and gradients to float32 rounding: the alternatives compute what the model computes.
        assert all(difference < 2e-3 for difference in entry["max_relative_difference"].values()), name
        assert entry["max_relative_difference"]["model"] == 0


def test_model_speed_compares_tadaconvnextv2_with_its_floor_and_the_authors_formulation(tmp_path):
    output = tmp_path / "model_speed_v2.json"
    result = run_benchmark("model_speed.py", "--family", "tada_convnext_v2", "--width_divisor", 16, "--num_frames", 4,
                           "--image_size", 32, "--repetitions", 2, "--modes", "forward_backward", "--output", output)
    assert "TAdaConvNeXtV2-T" in result.stdout and "tada / per_frame_2d (forward_backward, fp32)" in result.stdout
    report = json.loads(output.read_text())
    assert report["tada_minus_original_max_abs_logit"] < 1e-4  # same weights, same logits
    assert report["ratios"]["tada / per_frame_2d (forward_backward, fp32)"]["verdict"]
    assert set(report["memory"]) == {"tada/fp32", "per_frame_2d/fp32", "original/fp32"}


def test_model_speed_compares_tadaformer_with_clip_per_frame_and_checkpointing(tmp_path):
    output = tmp_path / "model_speed_former.json"
    result = run_benchmark("model_speed.py", "--family", "tadaformer", "--width_divisor", 16, "--num_frames", 4,
                           "--image_size", 32, "--repetitions", 2, "--modes", "forward_backward", "--checkpointing",
                           "--output", output)
    assert "TAdaFormer-B/16" in result.stdout and "tada_checkpointed / tada (forward_backward, fp32)" in result.stdout
    report = json.loads(output.read_text())
    assert report["tada_minus_original_max_abs_logit"] < 1e-4  # same weights, same logits
    assert report["ratios"]["tada / per_frame_2d (forward_backward, fp32)"]["verdict"]
    memory = report["memory"]
    assert set(memory) == {"tada/fp32", "per_frame_2d/fp32", "original/fp32", "tada_checkpointed/fp32"}
    assert memory["tada_checkpointed/fp32"]["saved_for_backward_bytes"] < memory["tada/fp32"][
        "saved_for_backward_bytes"]
