"""Streaming an export across processes: the fine-tuning script's --streaming path, where each process reads its own
shards; under a two-process `accelerate launch`, every training clip is seen exactly once per epoch."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from datasets.distributed import split_dataset_by_node
import pytest

from hf_video.data.export import export_dataset, load_export
from hf_video.data.hmdb51 import load_hmdb51
from hf_video.data.synthetic import synthetic_class_names, write_synthetic_motion_dataset

# Processes, real training runs or whole batteries: left out of `make test-fast`, run by `make test`.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = str(ROOT / "examples" / "run_video_classification.py")


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """The synthetic motion set (8 classes x 6 training videos), prepared and exported in small shards."""
    work = tmp_path_factory.mktemp("streaming")
    data_dir = write_synthetic_motion_dataset(work / "motion", videos_per_class=6, test_per_class=2,
                                              num_frames_range=(16, 20))
    splits = load_hmdb51(str(data_dir), cache_dir=str(work / "cache"), class_names=synthetic_class_names(data_dir))
    return export_dataset(splits, work / "export", "synthetic motion", max_shard_bytes=64 * 2**10)


def test_split_dataset_by_node_gives_each_process_its_share(exported):
    stream = load_export(exported, split="train", streaming=True)
    assert stream.n_shards >= 4
    shares = [[row["video_id"] for row in split_dataset_by_node(stream, rank, 2)]
              for rank in (0, 1)]
    every = load_export(exported, split="train")["video_id"]
    assert sorted(shares[0] + shares[1]) == sorted(every) and not set(shares[0]) & set(shares[1])


def test_two_processes_see_every_streamed_clip_once_per_epoch(exported, tmp_path):
    """The script's own streaming setup (its functions, the Trainer's dataloader under accelerate), one epoch read in
    each of two processes: the video ids they get cover the split, none twice."""
    checker = tmp_path / "read_one_epoch.py"
    checker.write_text(textwrap.dedent(f"""
        import json, os, sys
        sys.path.insert(0, {str(ROOT / "examples")!r})
        import run_video_classification as script
        from hf_video.training.dataset_selection import STREAM_SHUFFLE_BUFFER, export_splits, stream_by_process
        from hf_video import TadaResNetConfig, TadaResNetForVideoClassification
        from hf_video.training import VideoTrainer

        model_arguments, data_arguments, training_arguments = script.parse_arguments(sys.argv[1:])
        splits, kind = export_splits(data_arguments.data_dir, data_arguments.dataset, streaming=True)
        labels = kind.class_names
        training_arguments = stream_by_process(training_arguments)
        stream = splits["train"].shuffle(seed=0, buffer_size=STREAM_SHUFFLE_BUFFER)
        # Which process read each row (the map runs where the stream is read).
        stream = stream.map(lambda rows: {{"video_id": rows["video_id"], "labels": rows["label"],
                                           "reader": [os.getpid()] * len(rows["label"])}}, batched=True,
                            remove_columns=splits["train"].column_names)
        model = TadaResNetForVideoClassification(TadaResNetConfig(depth=18, num_labels=len(labels)))
        trainer = VideoTrainer(model=model, args=training_arguments, train_dataset=stream,
                               data_collator=lambda rows: {{"video_id": [row["video_id"] for row in rows],
                                                           "reader": [row["reader"] for row in rows]}})
        batches = list(trainer.get_train_dataloader())
        seen = [video_id for batch in batches for video_id in batch["video_id"]]
        readers = sorted({{reader for batch in batches for reader in batch["reader"]}})
        with open(f"{{training_arguments.output_dir}}/seen-{{training_arguments.process_index}}.json", "w") as file:
            json.dump({{"seen": seen, "readers": readers, "pid": os.getpid()}}, file)
    """))
    output_dir = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines",
         "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29631", str(checker),
         "--streaming", "--data_dir", str(exported), "--output_dir", str(output_dir), "--max_steps", "10",
         "--per_device_train_batch_size", "4", "--eval_strategy", "no", "--use_cpu", "--dataloader_num_workers", "0",
         "--report_to", "none"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-4000:]
    reports = [json.loads((output_dir / f"seen-{rank}.json").read_text()) for rank in (0, 1)]
    every = load_export(exported, split="train")["video_id"]
    assert all(report["seen"] for report in reports)  # both processes trained on clips
    assert sorted(reports[0]["seen"] + reports[1]["seen"]) == sorted(every)  # every clip once, across the processes
    # Each process read its own rows (not the first process reading all and dispatching batches).
    assert [report["readers"] for report in reports] == [[report["pid"]] for report in reports]


def test_the_script_fine_tunes_from_a_stream(exported, tmp_path):
    run = subprocess.run(
        [sys.executable, SCRIPT, "--streaming", "--data_dir", str(exported), "--output_dir", str(tmp_path / "run"),
         "--depth", "18", "--stem_width", "8", "--hidden_sizes", "8,16,32,64", "--num_frames", "4",
         "--sample_interval", "2", "--image_size", "32", "--per_device_train_batch_size", "8", "--max_steps", "3",
         "--eval_strategy", "no", "--eval_temporal_crops", "1", "--eval_spatial_crops", "1", "--use_cpu",
         "--dataloader_num_workers", "0", "--report_to", "none", "--disable_tqdm", "True"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr[-4000:]
    assert "streamed training clips, 16 test videos; 3 steps (streamed)" in run.stdout
    results = json.loads((tmp_path / "run" / "all_results.json").read_text())
    assert results["test_num_videos"] == 16
    refused = subprocess.run([sys.executable, SCRIPT, "--streaming", "--data_dir", str(exported), "--output_dir",
                              str(tmp_path / "refused"), "--use_cpu"], capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0 and "--streaming needs --max_steps" in refused.stderr


def test_the_script_trains_on_an_export_given_as_dataset_name(exported, tmp_path):
    """An export (as on the Hub) loaded whole and decoded through set_transform; one given as --data_dir is pointed
    to --dataset_name."""
    common = ["--output_dir", str(tmp_path / "run"), "--depth", "18", "--stem_width", "8", "--hidden_sizes",
              "8,16,32,64", "--num_frames", "4", "--sample_interval", "2", "--image_size", "32",
              "--per_device_train_batch_size", "8", "--max_steps", "2", "--eval_strategy", "no",
              "--eval_temporal_crops", "1", "--eval_spatial_crops", "1", "--use_cpu", "--dataloader_num_workers", "0",
              "--report_to", "none", "--disable_tqdm", "True"]
    run = subprocess.run([sys.executable, SCRIPT, "--dataset_name", str(exported), *common], capture_output=True,
                         text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr[-4000:]
    assert "on the synthetic motion set (time-reversed twins)" in run.stdout
    assert "32 training clips, 16 test videos" in run.stdout
    assert json.loads((tmp_path / "run" / "all_results.json").read_text())["test_num_videos"] == 16
    pointed = subprocess.run([sys.executable, SCRIPT, "--data_dir", str(exported), *common], capture_output=True,
                             text=True, timeout=300)
    assert pointed.returncode != 0 and "Traceback" not in pointed.stderr
    assert f"--data_dir {exported} is an export" in pointed.stderr and "--dataset_name" in pointed.stderr
