"""examples/run_video_classification.py end to end on the synthetic motion set: python, accelerate launch (2
processes, under the seed's name examples/finetune_hmdb51.py; 2 machines), torchrun with bf16, resume after a kill,
outputs and model card, the push to a Hub on localhost and the early push_to_hub failure."""

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from hf_video.data.synthetic import SYNTHETIC_CLASSES, write_synthetic_motion_dataset
from helpers.dataset_trees import write_ssv2_tree
from helpers.local_hub import LocalHub

# Processes, real training runs or whole batteries: left out of `make test-fast`, run by `make test`.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = str(ROOT / "examples" / "run_video_classification.py")
HMDB51_SCRIPT = str(ROOT / "examples" / "finetune_hmdb51.py")  # the seed's entry point: the same script
TRAIN_PER_CLASS, TEST_PER_CLASS = 6, 2
NUM_TRAIN, NUM_TEST = 8 * TRAIN_PER_CLASS, 8 * TEST_PER_CLASS


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return write_synthetic_motion_dataset(tmp_path_factory.mktemp("synthetic") / "motion",
                                          videos_per_class=TRAIN_PER_CLASS + TEST_PER_CLASS,
                                          test_per_class=TEST_PER_CLASS, num_frames_range=(16, 24))


def tiny_run(data_dir, output_dir, cache_dir, *extra):
    """A small TAda ResNet-18 on 4 x 32^2 clips, no DataLoader workers (deterministic), CPU."""
    return ["--data_dir", str(data_dir), "--output_dir", str(output_dir), "--dataset_cache_dir", str(cache_dir),
            "--depth", "18", "--stem_width", "8", "--hidden_sizes", "8,16,32,64", "--num_frames", "4",
            "--sample_interval", "2", "--image_size", "32", "--eval_temporal_crops", "2", "--eval_spatial_crops", "3",
            "--per_device_train_batch_size", "8", "--per_device_eval_batch_size", "16", "--optim", "adamw_torch",
            "--learning_rate", "0.003", "--dataloader_num_workers", "0", "--use_cpu", "--seed", "0",
            "--logging_steps", "1", "--disable_tqdm", "True", *extra]


def run(command, timeout=600, **kwargs):
    environment = {**os.environ, "OMP_NUM_THREADS": "1", **kwargs.pop("env", {})}
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=environment, **kwargs)
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result


def logged(output_dir, key):
    state = json.loads((Path(output_dir) / "trainer_state.json").read_text())
    return [entry[key] for entry in state["log_history"] if key in entry]


def test_python_run_on_the_synthetic_fallback_learns_and_writes_everything(synthetic, tmp_path):
    output_dir = tmp_path / "run"
    result = run([sys.executable, SCRIPT, *tiny_run(tmp_path / "no_hmdb51_here", output_dir, tmp_path / "cache",
                                                    "--synthetic_if_missing", str(synthetic),
                                                    "--num_train_epochs", "3", "--report_to", "tensorboard")])
    output = result.stdout + result.stderr
    assert "not found: training on the SYNTHETIC motion set" in output
    assert f"{NUM_TRAIN} training clips, {NUM_TEST} test videos; 18 steps (6 per epoch) on 1 process(es)" in output
    losses = logged(output_dir, "loss")
    assert len(losses) == 18 and sum(losses[-6:]) < sum(losses[:6])  # learning
    assert len(logged(output_dir, "eval_accuracy")) == 3 == len(logged(output_dir, "eval_top5_accuracy"))
    assert sorted(p.name for p in output_dir.glob("checkpoint-*")) == ["checkpoint-12", "checkpoint-18",
                                                                      "checkpoint-6"]
    assert list((output_dir / "runs").rglob("events.out.tfevents.*"))

    results = json.loads((output_dir / "all_results.json").read_text())
    for key in ("test_clip_accuracy", "test_clip_top5_accuracy", "test_video_accuracy", "test_video_top5_accuracy",
                "train_loss"):
        assert 0 <= results[key] < 10, key
    assert results["test_num_videos"] == NUM_TEST and results["test_num_views"] == NUM_TEST * 6
    predictions = [json.loads(line) for line in (output_dir / "test_predictions.jsonl").read_text().splitlines()]
    assert len({row["video_id"] for row in predictions}) == NUM_TEST
    assert {row["predicted"] for row in predictions} <= set(SYNTHETIC_CLASSES)

    # What a push would upload: weights, config, video processor, our card.
    files = {path.name for path in output_dir.iterdir()}
    assert {"config.json", "model.safetensors", "video_preprocessor_config.json", "README.md"} <= files
    card = ModelCard.load(output_dir / "README.md")
    assert card.data.pipeline_tag == "video-classification" and card.data.library_name == "transformers"
    assert card.data.eval_results[0].metric_value == pytest.approx(results["test_video_accuracy"], abs=1e-4)
    assert "| learning rate | 0.003 |" in card.text
    assert "trust_remote_code=True" in card.text and "pip install tada-video" in card.text
    from transformers import pipeline

    import hf_video  # noqa: F401  registers the video processor

    video = sorted((synthetic / "videos" / "grow").iterdir())[0]
    top = pipeline("video-classification", model=str(output_dir))(str(video), top_k=2)
    assert len(top) == 2 and top[0]["label"] in SYNTHETIC_CLASSES
    # Every checkpoint holds the video processor too: the pipeline runs on any of them.
    early = pipeline("video-classification", model=str(output_dir / "checkpoint-6"))(str(video), top_k=2)
    assert len(early) == 2 and early[0]["label"] in SYNTHETIC_CLASSES


def test_resumed_run_ends_like_an_uninterrupted_one(synthetic, tmp_path):
    steps_per_epoch = math.ceil(NUM_TRAIN / 8)
    arguments = lambda name: tiny_run(synthetic, tmp_path / name, tmp_path / "cache",  # noqa: E731
                                      "--num_train_epochs", "2", "--report_to", "none")
    run([sys.executable, SCRIPT, *arguments("straight")])

    interrupted = subprocess.Popen([sys.executable, SCRIPT, *arguments("resumed")], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
    state_file = tmp_path / "resumed" / f"checkpoint-{steps_per_epoch}" / "trainer_state.json"
    deadline = time.monotonic() + 300
    while not state_file.exists() and interrupted.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    interrupted.send_signal(signal.SIGKILL)
    interrupted.wait()
    assert state_file.exists() and not (tmp_path / "resumed" / "all_results.json").exists()

    run([sys.executable, SCRIPT, *arguments("resumed"), "--resume_from_checkpoint",
         str(tmp_path / "resumed" / f"checkpoint-{steps_per_epoch}")])
    straight = json.loads((tmp_path / "straight" / "all_results.json").read_text())
    resumed = json.loads((tmp_path / "resumed" / "all_results.json").read_text())
    for key in ("test_clip_accuracy", "test_video_accuracy", "test_video_top5_accuracy", "test_loss"):
        assert resumed[key] == pytest.approx(straight[key], rel=1e-5), key
    assert logged(tmp_path / "resumed", "loss")[-steps_per_epoch:] == pytest.approx(
        logged(tmp_path / "straight", "loss")[-steps_per_epoch:], rel=1e-5)


def test_two_process_accelerate_launch_shards_data_and_does_not_scale_the_loss(synthetic, tmp_path):
    output_dir = tmp_path / "ddp"
    result = run([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                  "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
                  "29617", HMDB51_SCRIPT, *tiny_run(synthetic, output_dir, tmp_path / "cache", "--num_train_epochs",
                                                    "1", "--report_to", "none")])
    assert "on 2 process(es)" in result.stdout
    # Every training clip once per epoch: 48 clips / (2 processes x batch 8) = 3 steps, not 6.
    assert logged(output_dir, "epoch")[-1] == 1 and max(logged(output_dir, "step")) == 3
    first_loss = logged(output_dir, "loss")[0]
    assert 0.5 * math.log(8) < first_loss < 1.5 * math.log(8)  # about ln(8) at the start, not 2 ln(8)
    predictions = (output_dir / "test_predictions.jsonl").read_text().splitlines()
    assert len(predictions) == len({json.loads(line)["video_id"] for line in predictions}) == NUM_TEST
    assert json.loads((output_dir / "all_results.json").read_text())["test_num_views"] == NUM_TEST * 6


def test_two_launchers_as_two_machines_form_one_job(synthetic, tmp_path):
    output_dir = tmp_path / "two_machines"
    launchers = [
        subprocess.Popen([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_machines", "2",
                          "--num_processes", "2", "--machine_rank", str(rank), "--main_process_ip", "127.0.0.1",
                          "--main_process_port", "29619", "--mixed_precision", "no", "--dynamo_backend", "no",
                          "--rdzv_backend", "static", "--same_network", SCRIPT,
                          *tiny_run(synthetic, output_dir, tmp_path / f"cache{rank}", "--num_train_epochs", "1",
                                    "--report_to", "none", "--eval_strategy", "no", "--save_strategy", "no")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
        for rank in (0, 1)
    ]
    outputs = [launcher.communicate(timeout=600)[0] for launcher in launchers]
    assert [launcher.returncode for launcher in launchers] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    assert "on 2 process(es)" in outputs[0]
    assert max(logged(output_dir, "step")) == 3  # one job of two processes, not two jobs of one
    assert json.loads((output_dir / "all_results.json").read_text())["test_num_videos"] == NUM_TEST


def test_torchrun_with_bf16_on_cpu_trains_from_a_config_file(synthetic, tmp_path):
    from hf_video import TadaResNetConfig

    TadaResNetConfig(depth=18, stem_width=8, hidden_sizes=[8, 16, 32, 48], route_reduction=2).to_json_file(
        tmp_path / "small.json")
    output_dir = tmp_path / "bf16"
    run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "1", "--master_port", "29621", SCRIPT,
         *tiny_run(synthetic, output_dir, tmp_path / "cache", "--bf16", "--num_train_epochs", "1",
                   "--report_to", "none", "--save_strategy", "no",
                   "--model_name_or_path", str(tmp_path / "small.json"))])
    losses = logged(output_dir, "loss")
    assert len(losses) == 6 and all(math.isfinite(loss) for loss in losses)
    config = json.loads((output_dir / "config.json").read_text())
    assert (config["model_type"], config["hidden_sizes"], config["route_reduction"]) == ("tada_resnet",
                                                                                        [8, 16, 32, 48], 2)
    assert len(config["id2label"]) == 8  # the labels come from the dataset, not the config file


def test_the_demo_tadaconvnextv2_trains_with_the_authors_learning_rate_multipliers(synthetic, tmp_path):
    """`make run`'s TAdaConvNeXtV2 option: the example configuration from scratch, head and TAda parts at x10."""
    output_dir = tmp_path / "v2"
    run([sys.executable, SCRIPT, *tiny_run(synthetic, output_dir, tmp_path / "cache", "--num_train_epochs", "1",
                                           "--report_to", "none", "--save_strategy", "no", "--do_predict", "False",
                                           "--model_name_or_path",
                                           str(ROOT / "examples" / "configs" / "tada_convnext_v2_demo.json"),
                                           "--learning_rate_multipliers", "classifier=10,route=10")])
    losses = logged(output_dir, "loss")
    assert len(losses) == 6 and all(math.isfinite(loss) for loss in losses)
    config = json.loads((output_dir / "config.json").read_text())
    assert (config["model_type"], config["num_frames"], config["image_size"]) == ("tada_convnext_v2", 4, 32)
    card = ModelCard.load(output_dir / "README.md")
    assert "TAdaConvNeXtV2" in card.text and "tadaconvnextv2" in card.data.tags


def test_the_demo_tadaformer_trains_with_checkpointing_and_the_authors_multipliers(synthetic, tmp_path):
    """`make run`'s TAdaFormer option: the example configuration from scratch, TAda blocks and head at x10, every
    layer checkpointed (the TAda blocks hold BatchNorms)."""
    output_dir = tmp_path / "former"
    run([sys.executable, SCRIPT, *tiny_run(synthetic, output_dir, tmp_path / "cache", "--num_train_epochs", "1",
                                           "--report_to", "none", "--save_strategy", "no", "--do_predict", "False",
                                           "--model_name_or_path",
                                           str(ROOT / "examples" / "configs" / "tadaformer_demo.json"),
                                           "--learning_rate_multipliers", "classifier=10,.tada=10",
                                           "--gradient_checkpointing")])
    losses = logged(output_dir, "loss")
    assert len(losses) == 6 and all(math.isfinite(loss) for loss in losses)
    config = json.loads((output_dir / "config.json").read_text())
    assert (config["model_type"], config["num_frames"], config["image_size"]) == ("tadaformer", 4, 32)
    card = ModelCard.load(output_dir / "README.md")
    assert "TAdaFormer" in card.text and "tadaformer" in card.data.tags


def test_ssv2_trains_with_its_own_recipe_and_reports_on_its_validation_split(tmp_path):
    """--dataset ssv2: segment sampling, 2 x 3 views and the validation split come from the dataset's kind, not from
    options (the run below gives no sampling or view options)."""
    tree = write_ssv2_tree(tmp_path / "ssv2")
    output_dir = tmp_path / "ssv2_run"
    options = tiny_run(tree, output_dir, tmp_path / "cache", "--dataset", "ssv2", "--max_steps", "2",
                       "--report_to", "none", "--save_strategy", "no")
    for option in ("--sample_interval", "--eval_temporal_crops", "--eval_spatial_crops"):
        del options[options.index(option):options.index(option) + 2]
    output = run([sys.executable, SCRIPT, *options])
    assert "on Something-Something V2 (" in output.stdout and "4 training clips, 2 validation videos" in output.stdout
    results = json.loads((output_dir / "all_results.json").read_text())
    assert results["validation_num_videos"] == 2 and results["validation_num_views"] == 2 * 6
    assert results["validation_views"] == "2x3" and not any(key.startswith("test_") for key in results)
    assert len((output_dir / "validation_predictions.jsonl").read_text().splitlines()) == 2
    processor = json.loads((output_dir / "video_preprocessor_config.json").read_text())
    assert processor["sample_mode"] == "segment"
    config = json.loads((output_dir / "config.json").read_text())
    assert len(config["id2label"]) == 174 and config["id2label"]["93"] == "Pushing something from left to right"
    card = ModelCard.load(output_dir / "README.md")
    assert "## Results on the validation split" in card.text and "2 validation videos, 2x3 views" in card.text
    assert "| flip probability | 0.5 |" in card.text and "(segment, " in card.text


def test_push_to_hub_fails_at_start_up_without_the_hub(synthetic, tmp_path):
    result = subprocess.run(
        [sys.executable, SCRIPT, *tiny_run(synthetic, tmp_path / "push", tmp_path / "cache", "--push_to_hub",
                                           "--hub_model_id", "someone/tada-test")],
        capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode != 0
    assert "--push_to_hub: the Hub is switched off here (HF_HUB_OFFLINE is set)" in result.stderr
    assert "Nothing was trained" in result.stderr and not (tmp_path / "push").exists()


def test_push_goes_through_the_trainer_with_our_card_strategy_and_revision(synthetic, tmp_path):
    """--push_to_hub against a Hub on localhost: the Trainer's own pushes (every epoch's save, with the checkpoint as
    hub_strategy=checkpoint says, then the end of training), all to hub_revision, the last carrying our card, the
    video processor's remote code and the test predictions."""
    output_dir = tmp_path / "pushed"
    with LocalHub() as hub:
        run([sys.executable, SCRIPT, *tiny_run(synthetic, output_dir, tmp_path / "cache", "--num_train_epochs", "2",
                                               "--report_to", "none", "--push_to_hub", "--hub_model_id",
                                               "tester/tada-push", "--hub_strategy", "checkpoint",
                                               "--hub_revision", "dev")],
            env={"HF_ENDPOINT": hub.url, "HF_TOKEN": "local-hub-token", "HF_HUB_DISABLE_XET": "1",
                 "HF_HUB_OFFLINE": "0"})
    assert {(commit.repo_id, commit.revision) for commit in hub.commits} == {("tester/tada-push", "dev")}
    messages = [commit.message for commit in hub.commits]
    assert "Training in progress, epoch 1" in messages and messages[-1] == "End of training"
    assert any(path.startswith("last-checkpoint/") for commit in hub.commits for path in commit.files)
    final = hub.commits[-1].files
    assert final["README.md"] == (output_dir / "README.md").read_bytes()
    card = final["README.md"].decode()
    assert "| learning rate | 0.003 |" in card and "tada-push" in card
    assert hub.validated_cards[-1]["pipeline_tag"] == "video-classification"
    assert {"model.safetensors", "config.json", "video_preprocessor_config.json", "video_processing_tada.py",
            "modeling_tada_resnet.py", "test_predictions.jsonl"} <= set(final)


def test_augmenting_on_the_device_trains_on_the_same_pixels(synthetic, tmp_path):
    """--augment_on_device: loaders return uint8 crops, the Trainer's step finishes them (here on the CPU): the same
    clips, so the same losses step for step."""
    losses = {}
    for name, extra in (("loader", []), ("device", ["--augment_on_device", "True"])):
        run([sys.executable, SCRIPT, *tiny_run(synthetic, tmp_path / name, tmp_path / "cache", "--max_steps", "4",
                                               "--report_to", "none", "--do_predict", "False", *extra)])
        losses[name] = logged(tmp_path / name, "loss")
    assert len(losses["device"]) == 4 and losses["device"] == pytest.approx(losses["loader"], rel=1e-6, abs=1e-6)


def quick_run(data_dir, output_dir, cache_dir, *extra):
    """One epoch (6 steps), a checkpoint per epoch, no per-epoch evaluation, one view per test video."""
    return tiny_run(data_dir, output_dir, cache_dir, "--num_train_epochs", "1", "--eval_strategy", "no",
                    "--report_to", "none", "--eval_temporal_crops", "1", "--eval_spatial_crops", "1", *extra)


def fails(command, timeout=600, **kwargs) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, **kwargs)
    assert result.returncode != 0, f"{command} should have failed:\n{result.stdout[-2000:]}"
    return result.stdout + result.stderr


def test_an_output_folder_is_resumed_refused_or_started_afresh_never_overwritten(synthetic, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("last week's results")
    output = fails([sys.executable, SCRIPT, *quick_run(synthetic, taken, tmp_path / "cache")])
    assert f"--output_dir {taken} already holds files (notes.txt)" in output and "--overwrite_output_dir" in output
    assert sorted(taken.iterdir()) == [taken / "notes.txt"]
    assert (taken / "notes.txt").read_text() == "last week's results"
    output = fails([sys.executable, SCRIPT, *quick_run(synthetic, taken, tmp_path / "cache"),
                    "--resume_from_checkpoint", "True"])
    assert f"{taken} holds no checkpoint-N folder to resume from" in output

    run_dir = tmp_path / "run"
    run([sys.executable, SCRIPT, *quick_run(synthetic, run_dir, tmp_path / "cache")])
    assert [path.name for path in run_dir.glob("checkpoint-*")] == ["checkpoint-6"]
    # Asked for a second epoch in the same folder: the run continues from its checkpoint, with a log line.
    result = run([sys.executable, SCRIPT, *quick_run(synthetic, run_dir, tmp_path / "cache", "--num_train_epochs",
                                                     "2")])
    assert f"holds checkpoints of an earlier run: resuming from {run_dir / 'checkpoint-6'}" in result.stderr
    epochs = [float(value) for value in re.findall(r"'epoch': '?([0-9.]+)", result.stdout)]
    assert epochs and min(epochs) > 1 and max(logged(run_dir, "step")) == 12  # the first epoch was not redone

    # A checkpoint without its optimizer and random state is named and refused, not resumed with fresh state.
    damaged = shutil.copytree(run_dir / "checkpoint-6", tmp_path / "damaged" / "checkpoint-6")
    (damaged / "optimizer.pt").unlink()
    (damaged / "rng_state.pth").unlink()
    output = fails([sys.executable, SCRIPT, *quick_run(synthetic, tmp_path / "elsewhere", tmp_path / "cache"),
                    "--resume_from_checkpoint", str(damaged)])
    assert f"cannot resume from {damaged}: it lacks optimizer.pt, rng_state.pth" in output

    run([sys.executable, SCRIPT, *quick_run(synthetic, run_dir, tmp_path / "cache", "--overwrite_output_dir")])
    assert [path.name for path in run_dir.glob("checkpoint-*")] == ["checkpoint-6"]  # the old run's are gone
    assert max(logged(run_dir, "step")) == 6  # a fresh run of one epoch


def test_sigterm_to_accelerate_launch_saves_a_checkpoint_and_leaves_no_orphan(synthetic, tmp_path):
    import psutil

    output_dir = tmp_path / "terminated"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--num_machines", "1",
         "--mixed_precision", "no", "--dynamo_backend", "no", SCRIPT,
         *quick_run(synthetic, output_dir, tmp_path / "cache", "--num_train_epochs", "100")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 300
    while not (output_dir / "checkpoint-6").exists() and launcher.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert launcher.poll() is None, launcher.communicate()[0][-3000:]
    training = psutil.Process(launcher.pid).children(recursive=True)
    assert training, "the launcher started no training process"
    launcher.send_signal(signal.SIGTERM)
    output = launcher.communicate(timeout=120)[0]  # ends when the training process has closed its output too
    gone, alive = psutil.wait_procs(training, timeout=120)
    assert not alive, "the training process outlived its launcher"
    assert "Stopped by SIGTERM at step" in output, output[-3000:]
    checkpoints = sorted(int(path.name.split("-")[1]) for path in output_dir.glob("checkpoint-*"))
    state = json.loads((output_dir / f"checkpoint-{checkpoints[-1]}" / "trainer_state.json").read_text())
    assert checkpoints[-1] > 6 and checkpoints[-1] % 6 != 0  # saved at the step it stopped, not at an epoch's end
    assert state["global_step"] == checkpoints[-1] and not (output_dir / "all_results.json").exists()


def test_sigterm_stops_two_processes_at_the_same_step(synthetic, tmp_path):
    """The launcher passes SIGTERM on to both training processes; they compare the flag every 10 steps, stop at the
    same one and save one checkpoint there (a process that stopped alone would leave the other waiting forever)."""
    output_dir = tmp_path / "terminated_ddp"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines",
         "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29623", SCRIPT,
         *quick_run(synthetic, output_dir, tmp_path / "cache", "--num_train_epochs", "100")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 300
    while not (output_dir / "checkpoint-6").exists() and launcher.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert launcher.poll() is None, launcher.communicate()[0][-3000:]
    launcher.send_signal(signal.SIGTERM)
    output = launcher.communicate(timeout=120)[0]
    assert output.count("Stopped by SIGTERM at step") == 2, output[-3000:]
    steps = {int(step) for step in re.findall(r"Stopped by SIGTERM at step (\d+)", output)}
    assert len(steps) == 1 and steps.pop() % 10 == 0
    last = max(int(path.name.split("-")[1]) for path in output_dir.glob("checkpoint-*"))
    assert last % 10 == 0 and json.loads((output_dir / f"checkpoint-{last}" / "trainer_state.json").read_text())[
        "global_step"] == last


@pytest.fixture
def small_disk(tmp_path):
    """A 1.5 MiB tmpfs (needs root); unmounted afterwards."""
    mount_point = tmp_path / "small_disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1536k", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip()}): needs root")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_a_full_disk_is_named_with_its_folder(synthetic, tmp_path, small_disk):
    output_dir = small_disk / "run"
    output = fails([sys.executable, SCRIPT, *quick_run(synthetic, output_dir, tmp_path / "cache",
                                                       "--hidden_sizes", "16,32,64,256")])
    assert f"No space left on the disk of {output_dir}" in output and "Free some space" in output


def as_options(arguments: list) -> dict:
    """{"option": value} of a command line, as an arguments file holds them (a flag alone gives true)."""
    options, position = {}, 0
    while position < len(arguments):
        name = arguments[position].removeprefix("--")
        if position + 1 < len(arguments) and not arguments[position + 1].startswith("--"):
            options[name], position = arguments[position + 1], position + 2
        else:
            options[name], position = True, position + 1
    return options


def test_run_conventions_arguments_file_checked_choices_sample_limits_and_plain_card(synthetic, tmp_path):
    output = fails([sys.executable, SCRIPT, *quick_run(synthetic, tmp_path / "bad", tmp_path / "bad_cache",
                                                       "--sample_mode", "intervals")], timeout=120)
    assert "--sample_mode/--sample-mode: invalid choice: 'intervals'" in output
    assert not (tmp_path / "bad_cache").exists()  # refused before anything was prepared

    options = as_options(quick_run(synthetic, tmp_path / "run", tmp_path / "cache", "--max_train_samples", "16",
                                   "--max_eval_samples", "4", "--do_predict", "False", "--optim", "sgd"))
    (tmp_path / "arguments.yaml").write_text(json.dumps(options))  # JSON is YAML
    result = run([sys.executable, SCRIPT, str(tmp_path / "arguments.yaml")])
    assert "16 training clips, 4 test videos; 2 steps (2 per epoch)" in result.stdout
    assert "no experiment tracker (--report_to none)" in result.stdout and "TensorBoard" not in result.stdout
    assert "pin_memory" not in result.stderr  # no accelerator here: nothing pinned, no warning per worker
    assert "Writing model shards" not in result.stderr  # no bar for every checkpoint
    assert not (tmp_path / "run" / "test_predictions.jsonl").exists()  # --do_predict False
    card = (tmp_path / "run" / "README.md").read_text()
    assert "Not evaluated: the run was made without `--do_predict`" in card
    assert "| optimizer | sgd (momentum 0, dampening 0, nesterov False) |" in card  # the recipe's: no momentum
    assert "| weight decay | 0.001 (biases: 0) |" in card
    assert "| trained | 2 steps, 1 epochs |" in card and "| schedule | cosine |" in card
    assert "OptimizerNames" not in card and "SchedulerType" not in card and "- transformers " in card
    assert "datasets:" not in card  # no Hub dataset is claimed for a local one

    # Evaluation only: the saved model on the test videos, nothing trained.
    evaluated = tmp_path / "evaluated"
    run([sys.executable, SCRIPT, *quick_run(synthetic, evaluated, tmp_path / "cache", "--model_name_or_path",
                                            str(tmp_path / "run"), "--do_train", "False")])
    assert not list(evaluated.glob("checkpoint-*")) and not (evaluated / "model.safetensors").exists()
    assert json.loads((evaluated / "all_results.json").read_text())["test_num_videos"] == NUM_TEST
