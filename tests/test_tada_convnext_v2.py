"""TAdaConvNeXtV2: exact to the authors' code (their golden outputs, their formulation's gradients), convertible
from their checkpoints and configurations, usable as remote code."""

import csv
import json

import pytest
import torch
import yaml
from huggingface_hub import ModelCard
from safetensors.torch import load_file
from transformers import AutoModelForVideoClassification, AutoVideoProcessor

from hf_video import (TadaConvNextV2Config, TadaConvNextV2ForVideoClassification, TadaVideoProcessor,
                      convert_tada_convnext_v2_checkpoint)
from hf_video.models.tada_convnext_v2.convert_tada_convnext_v2_original_to_hf import (
    convert_original_state_dict, infer_config_kwargs, main as convert_main)
from hf_video.models.original_configs import read_original_config
from helpers.gradients import assert_training_gradients_match
from helpers.original_tadaconvnextv2 import OriginalTadaConvNextV2
from helpers.remote_code import assert_pipeline_runs_without_hf_video

GOLDEN = "tadaconvnextv2_public"
CONVERTER = "hf_video.models.tada_convnext_v2.convert_tada_convnext_v2_original_to_hf"


def golden_files(reference_dir):
    folder = reference_dir / "tadaconv_v2"
    return (folder / f"{GOLDEN}_tadaconv_format.pyth", folder / f"{GOLDEN}_config.yaml",
            load_file(folder / f"{GOLDEN}_io.safetensors"))


def clips(io):
    return io["input"].transpose(1, 2)  # the authors' (B, C, T, H, W) -> ours (B, T, C, H, W)


def assert_matches_golden(model, io):
    model.eval()
    with torch.no_grad():
        logits = model(clips(io)).logits
        features = model.tada_convnext_v2(clips(io)).pooler_output
    assert (features - io["backbone_features"]).abs().max() <= 1e-5
    assert (logits - io["logits"]).abs().max() <= 1e-5
    assert (logits.softmax(-1) - io["probs"]).abs().max() <= 1e-5


def test_the_authors_formulation_here_reproduces_their_golden_outputs(reference_dir):
    """The oracle of the gradient test and the benchmark's baseline is what the authors' code computes."""
    checkpoint, config, io = golden_files(reference_dir)
    original = OriginalTadaConvNextV2([1, 1, 2, 1], [24, 48, 96, 192], num_classes=7, head_dim=12).eval()
    original.load_state_dict(torch.load(checkpoint, weights_only=True)["model_state"], strict=True)
    with torch.no_grad():
        assert (original(clips(io)) - io["logits"]).abs().max() <= 1e-5


@pytest.mark.parametrize("layout", ["tadaconv", "module_prefix", "ema"])
def test_converted_golden_matches_the_authors_logits_before_and_after_saving(reference_dir, tmp_path, layout):
    checkpoint_path, config_path, io = golden_files(reference_dir)
    state = torch.load(checkpoint_path, weights_only=True)["model_state"]
    if layout != "tadaconv":
        checkpoint_path = tmp_path / "ckpt.pyth"
        if layout == "module_prefix":  # DistributedDataParallel's names
            checkpoint = {"epoch": 3, "model_state": {f"module.{key}": value for key, value in state.items()}}
        else:  # the EMA weights are the golden ones; the model weights are not
            checkpoint = {"epoch": 3, "model_state": {key: value + 1 for key, value in state.items()},
                          "model_ema_state": state}
        torch.save(checkpoint, checkpoint_path)
    output_dir = tmp_path / "converted"
    model = convert_tada_convnext_v2_checkpoint(checkpoint_path, output_dir, original_config=config_path,
                                                use_ema=layout == "ema")
    assert_matches_golden(model, io)
    reloaded = AutoModelForVideoClassification.from_pretrained(output_dir)
    assert isinstance(reloaded, TadaConvNextV2ForVideoClassification)
    assert_matches_golden(reloaded, io)
    assert reloaded.config.route_head_dim == 12 and reloaded.config.drop_path_rate == 0.2
    processor = AutoVideoProcessor.from_pretrained(output_dir)
    assert isinstance(processor, TadaVideoProcessor)
    assert (processor.num_frames, processor.image_size) == (8, 64)
    assert processor.image_mean == [0.45] * 3 and processor.image_std == [0.225] * 3
    card = ModelCard.load(output_dir / "README.md")
    assert card.data.pipeline_tag == "video-classification" and "TAdaConvNeXtV2" in card.text
    assert "arXiv:2308.05787" in card.text


def test_the_command_line_converter_follows_the_authors_base_files(reference_dir, tmp_path):
    """A project file naming `_BASE_RUN` and `_BASE_MODEL` (relative paths, as the authors' configs folder has them)
    gives what the flattened configuration gives; the project file wins over its bases, the run over the model."""
    checkpoint_path, config_path, io = golden_files(reference_dir)
    flat = yaml.safe_load(config_path.read_text())
    (tmp_path / "pool").mkdir()
    (tmp_path / "projects" / "v2").mkdir(parents=True)
    model_base = {"VIDEO": {"BACKBONE": flat["VIDEO"]["BACKBONE"], "HEAD": {"DROPOUT_RATE": 0.1}},
                  "DATA": {"NUM_INPUT_FRAMES": 99}}
    run_base = {"DATA": {**flat["DATA"], "NUM_INPUT_FRAMES": 32, "SAMPLING_MODE": "segment_based"}}
    project = {"_BASE_RUN": "../../pool/run.yaml", "_BASE_MODEL": "../../pool/model.yaml",
               "VIDEO": {"HEAD": {"NUM_CLASSES": 7}}, "DATA": {"NUM_INPUT_FRAMES": 8}}
    (tmp_path / "pool" / "model.yaml").write_text(yaml.safe_dump(model_base))
    (tmp_path / "pool" / "run.yaml").write_text(yaml.safe_dump(run_base))
    (tmp_path / "projects" / "v2" / "project.yaml").write_text(yaml.safe_dump(project))
    merged = read_original_config(tmp_path / "projects" / "v2" / "project.yaml")
    assert merged["DATA"]["NUM_INPUT_FRAMES"] == 8 and merged["VIDEO"]["HEAD"]["DROPOUT_RATE"] == 0.1
    assert merged["DATA"]["SAMPLING_MODE"] == "segment_based"

    output_dir = tmp_path / "converted"
    convert_main(["--checkpoint_path", str(checkpoint_path), "--output_dir", str(output_dir),
                  "--original_config", str(tmp_path / "projects" / "v2" / "project.yaml")])
    assert_matches_golden(AutoModelForVideoClassification.from_pretrained(output_dir), io)
    processor = json.loads((output_dir / "video_preprocessor_config.json").read_text())
    assert (processor["num_frames"], processor["sample_mode"]) == (8, "segment")
    assert json.loads((output_dir / "config.json").read_text())["classifier_dropout"] == 0.1


def test_what_no_shape_shows_is_asked_for_and_contradictions_are_refused(reference_dir, tmp_path):
    checkpoint_path, config_path, _ = golden_files(reference_dir)
    with pytest.raises(ValueError, match=r"attention head size.*--original_config.*--released.*--route_head_dim"):
        convert_tada_convnext_v2_checkpoint(checkpoint_path, tmp_path / "no_head_dim")
    assert not (tmp_path / "no_head_dim").exists()  # nothing half-written
    wrong = yaml.safe_load(config_path.read_text())
    wrong["VIDEO"]["BACKBONE"]["NUM_FILTERS"] = [96, 192, 384, 768]
    (tmp_path / "wrong.yaml").write_text(yaml.safe_dump(wrong))
    with pytest.raises(ValueError, match=r"hidden_sizes=\[96, 192, 384, 768\].*show \[24, 48, 96, 192\]"):
        convert_tada_convnext_v2_checkpoint(checkpoint_path, tmp_path / "out", original_config=tmp_path / "wrong.yaml")
    other = {"VIDEO": {"BACKBONE": {"META_ARCH": "ResNet3D", "BRANCH": {"NAME": "TAdaConvBlockAvgPool"}}}}
    (tmp_path / "tada2d.yaml").write_text(yaml.safe_dump(other))
    with pytest.raises(ValueError, match="not a TAdaConvNeXtV2"):
        convert_tada_convnext_v2_checkpoint(checkpoint_path, tmp_path / "out", original_config=tmp_path / "tada2d.yaml")
    with pytest.raises(ValueError, match="no EMA weights"):
        convert_tada_convnext_v2_checkpoint(checkpoint_path, tmp_path / "out", route_head_dim=12, use_ema=True)
    with pytest.raises(ValueError, match="tadaconvnextv2-t-k400-16f has 400 classes"):
        convert_tada_convnext_v2_checkpoint(checkpoint_path, tmp_path / "out", released="tadaconvnextv2-t-k400-16f")


def test_the_configuration_stored_in_a_checkpoint_is_read(reference_dir, tmp_path):
    """The authors' code saves `cfg.dump()` (YAML text) in its checkpoints: a converter needs nothing else."""
    checkpoint_path, config_path, io = golden_files(reference_dir)
    state = torch.load(checkpoint_path, weights_only=True)["model_state"]
    torch.save({"epoch": 1, "model_state": state, "cfg": config_path.read_text()}, tmp_path / "with_cfg.pyth")
    model = convert_tada_convnext_v2_checkpoint(tmp_path / "with_cfg.pyth", tmp_path / "out")
    assert model.config.route_head_dim == 12 and model.config.num_frames == 8
    assert_matches_golden(model, io)


def full_size_state_dict(path) -> dict:
    with open(path, newline="") as table:
        rows = list(csv.DictReader(table, delimiter="\t"))
    generator = torch.Generator().manual_seed(0)
    return {row["key"]: torch.randn(json.loads(row["shape"]), generator=generator) for row in rows}


@pytest.mark.parametrize("name, head_dim, expected", [
    ("tadaconvnextv2_tiny_k400_16f", 48, dict(depths=[3, 3, 9, 3], hidden_sizes=[96, 192, 384, 768],
                                              num_labels=400, parameters=45_971_488)),
    ("tadaconvnextv2_base_ssv2_16f", 64, dict(depths=[3, 3, 27, 3], hidden_sizes=[128, 256, 512, 1024],
                                              num_labels=174, parameters=145_455_982)),
])
def test_full_size_released_keys_convert_without_a_missing_or_unexpected_key(reference_dir, name, head_dim, expected):
    original = full_size_state_dict(reference_dir / "tadaconv_v2" / f"{name}_state_dict_keys.tsv")
    kwargs = infer_config_kwargs(original)
    assert {key: kwargs[key] for key in ("depths", "hidden_sizes", "num_labels")} == {
        key: expected[key] for key in ("depths", "hidden_sizes", "num_labels")}
    assert (kwargs["route_reduction"], kwargs["route_kernel_sizes"], kwargs["bias_calibration"]) == (2, [3, 3], True)
    model = TadaConvNextV2ForVideoClassification(TadaConvNextV2Config(**kwargs, route_head_dim=head_dim))
    assert sum(parameter.numel() for parameter in model.parameters()) == expected["parameters"]
    converted = convert_original_state_dict(original, model.state_dict())  # raises on anything left over
    assert len(converted) == len(original) == len(model.state_dict())
    model.load_state_dict(converted)


def randomized_pair(num_classes=5, **config_overrides):
    """The authors' formulation with every weight non-trivial (zero-initialised parts randomised), and our model
    converted from it."""
    torch.manual_seed(3)
    original = OriginalTadaConvNextV2([1, 2, 1, 1], [16, 32, 64, 128], num_classes=num_classes, head_dim=8)
    with torch.no_grad():
        for parameter in original.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.2)
    config = TadaConvNextV2Config(depths=[1, 2, 1, 1], hidden_sizes=[16, 32, 64, 128], route_head_dim=8,
                                  num_labels=num_classes, classifier_dropout=0.0, **config_overrides)
    ours = TadaConvNextV2ForVideoClassification(config)
    ours.load_state_dict(convert_original_state_dict(original.state_dict(), ours.state_dict()))
    return original, ours


@pytest.mark.parametrize("num_frames", [1, 3, 5, 8])
def test_gradients_are_the_authors_formulations_for_any_frame_count(num_frames):
    """Training mode, every input and weight gradient: the one-convolution-and-a-multiply evaluation gives the
    authors' grouped convolution's gradients; the frame count comes from the input alone."""
    original, ours = randomized_pair()
    assert_training_gradients_match(original, ours, torch.randn(2, num_frames, 3, 64, 64),
                                    convert_original_state_dict)


def test_stochastic_depth_drops_whole_clips():
    config = TadaConvNextV2Config(depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128], route_head_dim=8,
                                  drop_path_rate=0.9, layer_scale_init_value=1.0, num_labels=2)
    layer = TadaConvNextV2ForVideoClassification(config).tada_convnext_v2.encoder.stages[3].layers[0].train()
    frames = torch.randn(8 * 3, 128, 2, 2).contiguous(memory_format=torch.channels_last)  # 8 clips of 3 frames
    changed = (layer(frames, 3) - frames).flatten(1).abs().amax(1).view(8, 3) > 0
    assert (changed.all(dim=1) | ~changed.any(dim=1)).all()  # per clip: every frame kept or every frame dropped
    assert 0 < changed[:, 0].sum() < 8  # with this seed, some clips keep the branch and some drop it


def test_a_saved_folder_runs_in_a_pipeline_where_hf_video_cannot_be_imported(reference_dir, tmp_path):
    checkpoint_path, config_path, _ = golden_files(reference_dir)
    folder = tmp_path / "converted"
    convert_tada_convnext_v2_checkpoint(checkpoint_path, folder, original_config=config_path)
    assert_pipeline_runs_without_hf_video(folder, tmp_path,
                                          {"modeling_tada_convnext_v2.py", "configuration_tada_convnext_v2.py"})


def test_bad_input_is_named():
    model = TadaConvNextV2ForVideoClassification(TadaConvNextV2Config(
        depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128], route_head_dim=8, num_labels=2)).eval()
    with pytest.raises(ValueError, match=r"too small.*at least 32x32"):
        model(torch.zeros(1, 4, 3, 16, 16))
    with pytest.raises(ValueError, match=r"permute\(0, 2, 1, 3, 4\)"):
        model(torch.zeros(1, 3, 4, 32, 32))
    with pytest.raises(ValueError, match="floating point"):
        model(torch.zeros(1, 4, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match="whole number of attention heads"):
        TadaConvNextV2Config(hidden_sizes=[96, 192, 384, 768], route_head_dim=64)


def test_configuration_files_that_cannot_be_read_as_meant_are_named(reference_dir, tmp_path):
    """Base files that loop, `_BASE_` (the common spelling, read as the authors' `_BASE`), a list where one file name
    belongs, invalid or non-UTF-8 YAML, in a file or in a checkpoint's stored cfg: each named, with the file."""
    checkpoint_path, config_path, _ = golden_files(reference_dir)
    flat = yaml.safe_load(config_path.read_text())
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(flat))
    (tmp_path / "spelled.yaml").write_text("_BASE_: base.yaml\nDATA:\n  NUM_INPUT_FRAMES: 8\n")
    merged = read_original_config(tmp_path / "spelled.yaml")
    assert merged["VIDEO"] == flat["VIDEO"] and merged["DATA"]["NUM_INPUT_FRAMES"] == 8
    (tmp_path / "a.yaml").write_text("_BASE: b.yaml\n")
    (tmp_path / "b.yaml").write_text("_BASE: a.yaml\n")
    cases = {"a.yaml": r"a.yaml <- .*b.yaml <- .*a.yaml: the base files name each other in a loop",
             "listed.yaml": (b"_BASE: [base.yaml, other.yaml]\n", r"_BASE is \['base.yaml', 'other.yaml'\]; expected "
                                                                  r"one file name"),
             "broken.yaml": (b"VIDEO: [unclosed\n", r"broken.yaml: not valid YAML \(.*line 2"),
             "latin1.yaml": ("DATA: {NAME: caf\u00e9}\n".encode("latin-1"), r"latin1.yaml: not UTF-8 text"),
             "typo.yaml": (b"_BASE_MODELS: base.yaml\n", r"typo.yaml: _BASE_MODELS is not a base key")}
    for name, case in cases.items():
        if isinstance(case, tuple):
            (tmp_path / name).write_bytes(case[0])
            case = case[1]
        with pytest.raises(ValueError, match=case):
            read_original_config(tmp_path / name)
    checkpoint = torch.load(checkpoint_path, weights_only=True)
    checkpoint["cfg"] = "VIDEO: {BACKBONE: [unclosed"
    torch.save(checkpoint, tmp_path / "stored.pyth")
    with pytest.raises(ValueError, match=r"stored.pyth \(its stored cfg\): not valid YAML"):
        convert_tada_convnext_v2_checkpoint(tmp_path / "stored.pyth", tmp_path / "out", route_head_dim=12)
