"""The fine-tuning script's decisions before any training, in-process (its options, and the library parts it runs:
hf_video.training's model building and dataset selection): which dataset a run trains on (a value that
knows its recipe, never a display string), a checkpoint's classifier fitted to the data's classes by name, seeded
subsets, and a user's mistakes ending in one line that says what to do."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hf_video import TadaResNetConfig, TadaResNetForVideoClassification
from hf_video.data.dataset_kinds import (DATASET_KINDS, HMDB51, KINETICS400, SSV2, SYNTHETIC_MOTION, UCF101,
                                         kind_of_classes)
from hf_video.data.export import export_dataset
from hf_video.data.hmdb51 import load_hmdb51
from hf_video.data.hmdb51_labels import HMDB51_CLASSES
from hf_video.data.kinetics_labels import KINETICS400_CLASSES
from hf_video.data.ssv2 import load_ssv2
from hf_video.data.ssv2_labels import SSV2_CLASSES
from hf_video.training.command_line import UsageError
from hf_video.training.dataset_selection import export_splits, resolve_dataset, sample_rows
from hf_video.training.model_building import build_model
from helpers.dataset_trees import write_ssv2_tree

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "run_video_classification.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("run_video_classification_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def arguments(script, tmp_path, *extra):
    return script.parse_arguments(["--output_dir", str(tmp_path / "run"), "--use_cpu", *extra])


def test_dataset_kinds_know_their_recipe():
    assert (HMDB51.flip_probability, UCF101.flip_probability, SYNTHETIC_MOTION.flip_probability) == (0.5, 0.5, 0.0)
    assert kind_of_classes(HMDB51_CLASSES) is HMDB51 and kind_of_classes(UCF101.class_names) is UCF101
    assert kind_of_classes(SYNTHETIC_MOTION.class_names) is SYNTHETIC_MOTION and kind_of_classes(("a", "b")) is None
    assert {kind.key for kind in DATASET_KINDS.values()} == {
        "hmdb51", "ucf101", "ssv2", "kinetics400", "synthetic-motion"}
    assert kind_of_classes(SSV2_CLASSES) is SSV2 and kind_of_classes(KINETICS400_CLASSES) is KINETICS400


@pytest.mark.parametrize("dataset, sample_mode, views, eval_split", [
    ("hmdb51", "interval", (3, 3), "test"), ("ucf101", "interval", (3, 3), "test"),
    ("ssv2", "segment", (2, 3), "validation"), ("kinetics400", "interval", (10, 3), "validation")])
def test_each_dataset_brings_its_recipe_settings_and_options_win(script, tmp_path, dataset, sample_mode, views,
                                                                 eval_split):
    model_arguments, data_arguments, _ = arguments(script, tmp_path, "--dataset", dataset)
    kind = DATASET_KINDS[dataset]
    filled = script.with_clip_defaults(model_arguments, script.with_dataset_defaults(data_arguments, kind))
    assert (filled.sample_mode, (filled.eval_temporal_crops, filled.eval_spatial_crops), kind.eval_split) == \
        (sample_mode, views, eval_split)
    _, data_arguments, _ = arguments(script, tmp_path, "--dataset", dataset, "--sample_mode", "interval",
                                     "--eval_temporal_crops", "1", "--eval_spatial_crops", "1")
    given = script.with_dataset_defaults(data_arguments, kind)
    assert (given.sample_mode, given.eval_temporal_crops, given.eval_spatial_crops) == ("interval", 1, 1)


def test_a_streamed_hmdb51_export_is_hmdb51_with_its_flips(script, hmdb51_tree, tmp_path):
    """Streaming used to train HMDB51 without flips and call it the synthetic set on the card."""
    splits = load_hmdb51(str(hmdb51_tree), cache_dir=str(tmp_path / "cache"))
    exported = export_dataset({name: split.select(range(3)) for name, split in splits.items()}, tmp_path / "export",
                              "HMDB51 (split 1)")
    _, data_arguments, _ = arguments(script, tmp_path, "--streaming", "--data_dir", str(exported), "--max_steps", "1")
    streamed, kind = export_splits(data_arguments.data_dir, data_arguments.dataset, data_arguments.streaming)
    assert kind is HMDB51 and kind.flip_probability == 0.5 and kind.name == "HMDB51"
    assert streamed["test"].num_rows == 3


def test_an_ssv2_export_is_ssv2_with_its_validation_split_and_mirror_pairs(script, tmp_path):
    splits = load_ssv2(str(write_ssv2_tree(tmp_path / "ssv2")), cache_dir=str(tmp_path / "cache"))
    exported = export_dataset(splits, tmp_path / "export", "Something-Something V2")
    loaded, kind = export_splits(str(exported), "hmdb51")
    assert kind is SSV2 and set(loaded) == {"train", "validation"}
    assert loaded["validation"].num_rows == 2 and kind.training_flip()[1][93] == 94


def test_the_synthetic_folder_is_found_by_its_marker(script, tmp_path):
    from hf_video.data.synthetic import write_synthetic_motion_dataset

    folder = write_synthetic_motion_dataset(tmp_path / "motion", videos_per_class=2, test_per_class=1,
                                            num_frames_range=(8, 8))
    _, _, training_arguments = arguments(script, tmp_path)
    data_dir, kind = resolve_dataset(str(folder), "hmdb51", training_arguments)
    assert data_dir == str(folder) and kind.key == "synthetic-motion" and kind.flip_probability == 0


def saved_checkpoint(folder: Path, labels: list) -> Path:
    config = TadaResNetConfig(depth=18, stem_width=8, hidden_sizes=[8, 16, 32, 64], num_frames=4, image_size=32,
                              num_labels=len(labels), id2label=dict(enumerate(labels)))
    TadaResNetForVideoClassification(config).save_pretrained(folder)
    return folder


def test_a_checkpoint_head_follows_the_data_classes_by_name(script, tmp_path):
    """The data's classes in another order: the classifier rows move with their names, so the fine-tuned model
    starts out predicting what the checkpoint predicted."""
    own = ["brush_hair", "cartwheel", "catch", "chew"]
    checkpoint = saved_checkpoint(tmp_path / "checkpoint", own)
    data_order = ("chew", "brush_hair", "catch", "cartwheel")
    reordered, _ = build_model(str(checkpoint), data_order, num_frames=4, image_size=32)
    original, _ = build_model(str(checkpoint), tuple(own), num_frames=4, image_size=32)
    clip = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        before, after = original.eval()(clip).logits, reordered.eval()(clip).logits
    assert reordered.config.id2label == dict(enumerate(data_order))
    assert torch.allclose(after, before[:, [own.index(name) for name in data_order]], atol=1e-6)
    for name in data_order:  # every class keeps its score under its own name
        assert torch.allclose(after[:, reordered.config.label2id[name]], before[:, own.index(name)], atol=1e-6)


def test_a_checkpoint_of_other_classes_gets_a_new_head_with_a_warning(script, tmp_path, caplog):
    checkpoint = saved_checkpoint(tmp_path / "checkpoint", ["a", "b", "c", "d"])
    kept = TadaResNetForVideoClassification.from_pretrained(checkpoint).classifier.weight
    with caplog.at_level("WARNING"):
        model, _ = build_model(str(checkpoint), ("w", "x", "y", "z"), num_frames=4, image_size=32)
    assert "its classifier is replaced by a new one" in caplog.text
    assert model.config.id2label == {0: "w", 1: "x", 2: "y", 3: "z"} and not torch.equal(model.classifier.weight,
                                                                                          kept)


def test_sample_rows_is_a_seeded_random_subset():
    from datasets import Dataset

    rows = Dataset.from_dict({"label": [label for label in range(8) for _ in range(10)]})  # sorted by class
    subset = sample_rows(rows, 16, seed=0)
    assert len(subset) == 16 and len(set(subset["label"])) > 4  # not the first two classes
    assert subset["label"] == sample_rows(rows, 16, seed=0)["label"] != sample_rows(rows, 16, 1)["label"]
    assert sample_rows(rows, None, 0) is rows and sample_rows(rows, 100, 0) is rows


@pytest.mark.parametrize("options, message", [
    (["--max_eval_samples", "0"], "--max_eval_samples 0: expected a positive number"),
    (["--num_folds", "0"], "--num_folds 0: expected a positive number"),
    (["--hidden_sizes", "a,b"], "--hidden_sizes a,b: expected four positive widths"),
])
def test_bad_counts_end_before_anything_runs(script, tmp_path, options, message):
    with pytest.raises(UsageError) as raised:
        arguments(script, tmp_path, *options)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)
    assert not (tmp_path / "run").exists()


def test_missing_inputs_are_one_line(script, tmp_path):
    with pytest.raises(UsageError, match=r"^--data_dir .*nowhere: no such folder\. Put HMDB51 there"):
        script.main(["--output_dir", str(tmp_path / "run"), "--use_cpu", "--data_dir", str(tmp_path / "nowhere")])
    with pytest.raises(UsageError, match=r"^--model_name_or_path .*model: no such file or folder\.$"):
        build_model(str(tmp_path / "no" / "such" / "model"), ("a", "b"))
    with pytest.raises(UsageError, match=r"^--model_name_or_path nobody/no-such-model: no such local folder, "
                                         r"and no model of that name on the Hub could be reached"):
        build_model("nobody/no-such-model", ("a", "b"))
    wrong_layout = tmp_path / "wrong"
    (wrong_layout / "clips").mkdir(parents=True)
    with pytest.raises(UsageError, match=r"^error: HMDB51 at .*wrong: 1 problem\(s\)"):
        script.main(["--output_dir", str(tmp_path / "run"), "--use_cpu", "--data_dir", str(wrong_layout)])


def test_a_dataset_name_that_is_no_folder_is_named(script, tmp_path):
    """--dataset ssv2 --dataset_name <a folder that is not there>: named, not datasets' "Couldn't find any data file"
    traceback."""
    with pytest.raises(UsageError, match=r"missing_dir: no such folder; pass an export's folder .* or a Hub "
                                                r"dataset id"):
        script.main(["--output_dir", str(tmp_path / "run"), "--use_cpu", "--dataset", "ssv2", "--dataset_name",
                     str(tmp_path / "missing_dir")])


@pytest.mark.slow  # a separate process
def test_a_bad_option_is_a_short_message_not_the_whole_usage(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--split", "7", "--output_dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 2 and "--split: invalid choice: '7'" in lines[-1] and "--help lists them" in lines[0]


def test_a_converted_tadaconvnextv2_gives_its_clip_settings_unless_options_do(script, reference_dir, tmp_path):
    from hf_video import TadaConvNextV2ForVideoClassification, convert_tada_convnext_v2_checkpoint

    golden = reference_dir / "tadaconv_v2"
    folder = tmp_path / "converted"
    convert_tada_convnext_v2_checkpoint(golden / "tadaconvnextv2_public_tadaconv_format.pyth", folder,
                                        original_config=golden / "tadaconvnextv2_public_config.yaml",
                                        processor_kwargs={"image_mean": [0.5, 0.4, 0.3], "sample_mode": "segment"})
    model_arguments, data_arguments, _ = arguments(script, tmp_path, "--model_name_or_path", str(folder))
    filled = script.with_clip_defaults(model_arguments, data_arguments)
    assert (filled.num_frames, filled.image_size, filled.sample_mode) == (8, 64, "segment")
    assert filled.image_mean == [0.5, 0.4, 0.3] and filled.image_std == [0.225] * 3
    model_arguments, data_arguments, _ = arguments(script, tmp_path, "--model_name_or_path", str(folder),
                                                   "--num_frames", "12", "--image_std", "0.2", "0.2", "0.2")
    filled = script.with_clip_defaults(model_arguments, data_arguments)
    assert (filled.num_frames, filled.image_size, filled.image_std) == (12, 64, [0.2] * 3)
    model, base = build_model(str(folder), tuple(f"class {index}" for index in range(7)), num_frames=filled.num_frames)
    assert isinstance(model, TadaConvNextV2ForVideoClassification) and base == str(folder)
    assert model.config.num_frames == 12
    # Without a checkpoint, the recipe's.
    model_arguments, data_arguments, _ = arguments(script, tmp_path)
    filled = script.with_clip_defaults(model_arguments, data_arguments)
    assert (filled.num_frames, filled.image_size, tuple(filled.image_mean)) == (16, 112, (0.45,) * 3)


@pytest.mark.parametrize("layout", ["transformers_folder", "timm_safetensors"])
def test_a_2d_convnext_is_inflated_into_tadaconvnextv2(script, tmp_path, layout):
    from safetensors.torch import save_file
    from timm.models.convnext import ConvNeXt
    from transformers import ConvNextConfig, ConvNextForImageClassification

    from hf_video import TadaConvNextV2ForVideoClassification

    if layout == "transformers_folder":
        source = tmp_path / "convnext-2d"
        ConvNextForImageClassification(ConvNextConfig(depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128])
                                       ).save_pretrained(source)
    else:
        source = tmp_path / "convnext.safetensors"
        save_file(ConvNeXt(depths=(1, 1, 1, 1), dims=(16, 32, 64, 128)).state_dict(), source)
    model_arguments, data_arguments, _ = arguments(script, tmp_path, "--model_name_or_path", str(source),
                                                   "--num_frames", "6")
    filled = script.with_clip_defaults(model_arguments, data_arguments)
    model, base = build_model(str(source), ("a", "b", "c"), num_frames=filled.num_frames)
    assert isinstance(model, TadaConvNextV2ForVideoClassification) and base == str(source)
    assert (model.config.hidden_sizes, model.config.num_labels, model.config.num_frames) == ([16, 32, 64, 128], 3, 6)


def test_a_clip_checkpoint_is_inflated_into_tadaformer_with_clips_normalisation(script, tmp_path):
    from transformers import CLIPVisionConfig, CLIPVisionModel

    from hf_video import TadaFormerForVideoClassification

    source = tmp_path / "clip"
    CLIPVisionModel(CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                                     image_size=32, patch_size=8)).save_pretrained(source)
    model_arguments, data_arguments, _ = arguments(script, tmp_path, "--model_name_or_path", str(source),
                                                   "--num_frames", "6", "--image_size", "48")
    filled = script.with_clip_defaults(model_arguments, data_arguments)
    assert filled.image_mean == [0.48145466, 0.4578275, 0.40821073] and filled.image_std[0] == 0.26862954
    model, base = build_model(str(source), ("a", "b", "c"), num_frames=6, image_size=48)
    assert isinstance(model, TadaFormerForVideoClassification) and base == str(source)
    assert (model.config.num_labels, model.config.num_frames, model.config.image_size) == (3, 6, 48)
    assert model.tadaformer.embeddings.position_embedding.weight.shape == (1 + 6 * 6, 32)  # CLIP's 4x4, resampled
    assert model(torch.randn(1, 6, 3, 48, 48)).logits.shape == (1, 3)


def test_learning_rate_multipliers_are_checked_at_start(script, tmp_path):
    with pytest.raises(SystemExit, match="NAME=FACTOR"):
        arguments(script, tmp_path, "--learning_rate_multipliers", "classifier=ten")


def test_help_documents_the_three_groups(script, capsys):
    with pytest.raises(SystemExit) as ended:
        script.main(["--help"])
    assert ended.value.code == 0
    shown = capsys.readouterr().out
    for option in ("--model_name_or_path", "--temporal_adaptive", "--sync_batch_norm", "--data_dir", "--split",
                   "--num_folds", "--eval_temporal_crops", "--video_backend", "--resume_from_checkpoint",
                   "--push_to_hub", "--bf16"):
        assert option in shown, option
    help_text = " ".join(shown.split())  # argparse wraps lines
    assert "The initial learning rate for the optimizer. (default: 0.001)" in help_text  # the recipe's defaults
    assert "Total number of training epochs to perform. (default: 100.0)" in help_text
    assert "The recipe's SGD sets no momentum (torch's default, 0)" in help_text


def test_a_convnext_v2_is_named_as_not_what_tadaconvnextv2_starts_from(tmp_path):
    from transformers import ConvNextV2Config, ConvNextV2Model

    source = tmp_path / "convnextv2"
    ConvNextV2Model(ConvNextV2Config(depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128])).save_pretrained(source)
    with pytest.raises(UsageError, match=r"a ConvNeXt V2 \(its blocks have GRN layers\): TAdaConvNeXtV2 starts from "
                                         r"ConvNeXt V1 weights"):
        build_model(str(source), ("a", "b"), num_frames=4)
