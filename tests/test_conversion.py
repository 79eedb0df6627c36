"""The converter: original checkpoints -> complete transformers folders, exactly; config inference; labels; CLI."""

import csv
import json
import os
import pathlib
import re
import stat
import subprocess
import sys
import textwrap

import pytest
import torch
from huggingface_hub import ModelCard
from safetensors import safe_open
from transformers import AutoModelForVideoClassification, AutoVideoProcessor

from hf_video import TadaResNetConfig, TadaResNetForVideoClassification, TadaVideoProcessor
from hf_video.models.tada_resnet.convert_tada_resnet_original_to_hf import (
    convert_tada_resnet_checkpoint,
    convert_original_state_dict,
    infer_config_kwargs,
    load_original_state_dict,
)
from hf_video.models.label_sets import named_label_set, read_id2label_file

CONVERTER = "hf_video.models.tada_resnet.convert_tada_resnet_original_to_hf"
LAYOUTS = ["tada2d_public_tadaconv_format.pyth", "tada2d_public_essmc2_format.pth"]


def golden(reference_dir):
    with safe_open(reference_dir / "tada_original" / "tada2d_public_io.safetensors", "pt") as file:
        return file.metadata(), {key: file.get_tensor(key) for key in file.keys()}


@pytest.mark.parametrize("checkpoint_name", LAYOUTS)
def test_converted_folder_reproduces_the_original(reference_dir, tmp_path, checkpoint_name):
    meta, io = golden(reference_dir)
    output_dir = tmp_path / "converted"
    convert_tada_resnet_checkpoint(reference_dir / "tada_original" / checkpoint_name, output_dir,
                                   num_frames=int(meta["num_frames"]), image_size=int(meta["image_size"]))
    assert {"config.json", "model.safetensors", "video_preprocessor_config.json", "README.md",
            "modeling_tada_resnet.py", "configuration_tada_resnet.py"} <= {p.name for p in output_dir.iterdir()}

    model = AutoModelForVideoClassification.from_pretrained(output_dir)
    config = model.config
    widths = [int(width) for width in meta["num_filters"].strip("[]").split(",")]
    assert (config.depth, config.stem_width, list(config.hidden_sizes), config.num_labels) == (
        int(meta["depth"]), widths[0], widths[1:], int(meta["num_classes"]))
    assert (config.route_reduction, list(config.route_kernel_sizes)) == (int(meta["route_func_r"]), [3, 3])
    pixel_values = io["input"].permute(0, 2, 1, 3, 4)  # original (B, C, T, H, W) -> ours (B, T, C, H, W)
    with torch.no_grad():
        outputs = model(pixel_values, output_hidden_states=True)
        features = model.tada_resnet(pixel_values).last_hidden_state
    assert (features - io["backbone_features"]).abs().max() <= 1e-5
    assert (outputs.logits - io["logits"]).abs().max() <= 1e-5

    processor = AutoVideoProcessor.from_pretrained(output_dir)
    assert isinstance(processor, TadaVideoProcessor)
    assert (processor.num_frames, processor.image_size) == (int(meta["num_frames"]), int(meta["image_size"]))
    card = ModelCard.load(output_dir / "README.md")
    assert card.data.pipeline_tag == "video-classification" and checkpoint_name in card.text


def test_converted_folder_loads_as_remote_code_without_the_package(reference_dir, tmp_path):
    meta, io = golden(reference_dir)
    output_dir = tmp_path / "converted"
    convert_tada_resnet_checkpoint(reference_dir / "tada_original" / LAYOUTS[0], output_dir)
    torch.save(io["input"].permute(0, 2, 1, 3, 4), tmp_path / "input.pt")
    script = textwrap.dedent(f"""
        import sys
        sys.modules["hf_video"] = None  # the package is not importable: only the folder's code can serve
        import torch
        from transformers import AutoModelForVideoClassification
        model = AutoModelForVideoClassification.from_pretrained({str(output_dir)!r}, trust_remote_code=True)
        with torch.no_grad():
            torch.save(model(torch.load({str(tmp_path / "input.pt")!r})).logits, {str(tmp_path / "logits.pt")!r})
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (torch.load(tmp_path / "logits.pt") - io["logits"]).abs().max() <= 1e-5


def test_full_size_released_keys_convert_into_a_400_class_resnet50(reference_dir):
    with open(reference_dir / "tada_original" / "tada2d_r50_k400_state_dict_keys.tsv", newline="") as table:
        rows = list(csv.reader(table, delimiter="\t"))  # key, shape; no header
    assert len(rows) == 560
    generator = torch.Generator().manual_seed(0)
    original = {}
    for key, shape in ((row[0], row[1]) for row in rows):
        dims = [int(size) for size in shape.strip("()[] ").replace(",", " ").split()]
        original[key] = torch.randn(dims, generator=generator) if dims else torch.tensor(3)
    kwargs = infer_config_kwargs(original)
    assert kwargs == dict(depth=50, stem_width=64, stem_kernel_size=7, hidden_sizes=[256, 512, 1024, 2048],
                          num_labels=400, temporal_adaptive=True, route_reduction=4, route_kernel_sizes=[3, 3])
    model = TadaResNetForVideoClassification(TadaResNetConfig(**kwargs))
    converted = convert_original_state_dict(original, model.state_dict())  # raises on anything left over
    assert len(converted) == len(original) == len(model.state_dict())
    model.load_state_dict(converted)
    assert sum(p.numel() for p in model.parameters()) == 27_485_472
    assert torch.equal(model.classifier.weight, original["head.out.weight"])
    tada = model.tada_resnet.encoder.stages[3].layers[2].tada.convolution.weight
    assert torch.equal(tada, original["backbone.conv5.res_3.conv_branch.b.weight"][0, 0])


class _RunsOnLoad:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


def test_checkpoints_that_need_unpickling_are_refused_not_executed(reference_dir, tmp_path):
    checkpoint = torch.load(reference_dir / "tada_original" / LAYOUTS[0], weights_only=True)
    marker = tmp_path / "code_ran"
    checkpoint["cfg"] = _RunsOnLoad(marker)
    torch.save(checkpoint, tmp_path / "unsafe.pyth")
    with pytest.raises(ValueError, match=r"unsafe\.pyth holds objects other than tensors.*refused"):
        load_original_state_dict(tmp_path / "unsafe.pyth")
    assert not marker.exists()


@pytest.mark.slow  # a separate process
def test_cli_converts_with_a_label_file_and_refuses_to_overwrite(reference_dir, tmp_path):
    labels = {"approach": "0", "catch": "1", "drop": "2", "lift": "3", "push": "4"}  # SSv2 style: label -> id
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    command = [sys.executable, "-m", CONVERTER, "--checkpoint_path", str(reference_dir / "tada_original" / LAYOUTS[1]),
               "--output_dir", str(tmp_path / "out"), "--id2label", str(tmp_path / "labels.json"),
               "--num_frames", "8", "--image_size", "64", "--sample_mode", "segment"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "TAda2D ResNet-50 (stage widths [32, 64, 128, 256]), 5 classes" in result.stdout
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["id2label"] == {"0": "approach", "1": "catch", "2": "drop", "3": "lift", "4": "push"}
    processor = json.loads((tmp_path / "out" / "video_preprocessor_config.json").read_text())
    assert (processor["num_frames"], processor["sample_mode"], processor["image_size"]) == (8, "segment", 64)

    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode != 0 and "exists and is not empty" in again.stderr


def test_label_count_mismatch_fails_before_writing_anything(reference_dir, tmp_path):
    with pytest.raises(ValueError, match="51 label names given .* head has 5 classes"):
        convert_tada_resnet_checkpoint(reference_dir / "tada_original" / LAYOUTS[0], tmp_path / "out",
                                    label_names=named_label_set("hmdb51"), label_origin="label set hmdb51")
    assert list(tmp_path.iterdir()) == []


def test_label_sets_and_label_files(tmp_path):
    kinetics = named_label_set("kinetics400")
    assert len(kinetics) == 400 and kinetics == sorted(kinetics) and kinetics[0] == "abseiling"
    ours, essmc2 = named_label_set("hmdb51"), named_label_set("hmdb51-essmc2")
    assert sorted(ours) == sorted(essmc2) and len(ours) == 51
    assert ours.index("climb") < ours.index("climb_stairs") and essmc2.index("climb_stairs") < essmc2.index("climb")
    assert essmc2.index("kick_ball") < essmc2.index("kick") and essmc2.index("sword_exercise") < essmc2.index("sword")
    (tmp_path / "ids.json").write_text(json.dumps({"1": "b", "0": "a"}))
    assert read_id2label_file(tmp_path / "ids.json") == ["a", "b"]
    (tmp_path / "gap.json").write_text(json.dumps({"0": "a", "2": "c"}))
    with pytest.raises(ValueError, match=r"gap\.json: ids must be the integers 0\.\.1"):
        read_id2label_file(tmp_path / "gap.json")
    with pytest.raises(ValueError, match="label set 'ucf101' is not known"):
        named_label_set("ucf101")


def test_empty_truncated_and_foreign_files_are_named_with_what_was_expected(reference_dir, tmp_path):
    original = (reference_dir / "tada_original" / LAYOUTS[0]).read_bytes()
    cases = {"empty.pyth": (b"", r"empty \(0 bytes\), not an original TAda checkpoint"),
             "truncated.pyth": (original[: len(original) // 2],
                                r"cannot be read as an original TAda checkpoint.*truncated or damaged"),
             "notes.pyth": (b"these are my notes, not weights\n", r"is not an original TAda checkpoint")}
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=re.escape(str(tmp_path / name)) + ".*" + message):
            load_original_state_dict(tmp_path / name)


def test_output_folder_follows_the_umask_and_sigterm_leaves_nothing_behind(reference_dir, tmp_path):
    checkpoint = reference_dir / "tada_original" / LAYOUTS[0]
    old_mask = os.umask(0o022)
    try:
        convert_tada_resnet_checkpoint(checkpoint, tmp_path / "out")
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755  # not mkdtemp's 0700

    # SIGTERM arrives while the folder is being written (after the weights, before the processor's config).
    script = textwrap.dedent(f"""
        import os, signal
        from transformers import PreTrainedModel
        from hf_video import convert_tada_resnet_checkpoint

        save = PreTrainedModel.save_pretrained
        def save_then_get_terminated(self, *args, **kwargs):
            save(self, *args, **kwargs)
            os.kill(os.getpid(), signal.SIGTERM)
        PreTrainedModel.save_pretrained = save_then_get_terminated
        convert_tada_resnet_checkpoint({str(checkpoint)!r}, {str(tmp_path / "interrupted" / "out")!r})
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 143, result.stderr[-2000:]
    assert list((tmp_path / "interrupted").iterdir()) == []  # no hidden staging folder, no half-written output


def test_changed_bytes_inside_the_checkpoints_zip_are_caught_by_their_crc(reference_dir, tmp_path):
    """About 1,000 zeroed bytes inside a tensor load as wrong weights without an error; the zip's CRC-32 says so."""
    data = bytearray((reference_dir / "tada_original" / LAYOUTS[0]).read_bytes())
    middle = len(data) // 2
    data[middle:middle + 1000] = bytes(1000)
    (tmp_path / "zeroed.pyth").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "zeroed.pyth")) + r" is damaged: its member .* "
                       r"does not match its CRC-32"):
        convert_tada_resnet_checkpoint(tmp_path / "zeroed.pyth", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_one_weight_saved_with_and_without_the_ddp_prefix_is_refused(reference_dir, tmp_path):
    checkpoint = torch.load(reference_dir / "tada_original" / LAYOUTS[0], weights_only=True)
    state = checkpoint["model_state"]
    key = next(key for key in state if key.endswith("bias"))
    state["module." + key] = state[key] + 1
    torch.save(checkpoint, tmp_path / "both.pyth")
    with pytest.raises(ValueError, match=rf"both.pyth holds both '{re.escape(key)}' and 'module\.{re.escape(key)}' "
                                         r"with different values"):
        load_original_state_dict(tmp_path / "both.pyth")
    state.pop("module." + key)
    state[key + "_count"] = 3  # a value that is not a tensor
    torch.save(checkpoint, tmp_path / "int.pyth")
    with pytest.raises(ValueError, match=rf"int.pyth: the state dict's '{re.escape(key)}_count' is a int"):
        load_original_state_dict(tmp_path / "int.pyth")


def test_a_fifo_is_refused_not_waited_on_and_torchs_unsafe_advice_is_not_passed_on(reference_dir, tmp_path):
    os.mkfifo(tmp_path / "pipe.pyth")
    with pytest.raises(ValueError, match=r"pipe.pyth is not a regular file \(a FIFO"):
        load_original_state_dict(tmp_path / "pipe.pyth")  # torch.load would block forever
    checkpoint = torch.load(reference_dir / "tada_original" / LAYOUTS[0], weights_only=True)
    checkpoint["cfg"] = _RunsOnLoad(tmp_path / "marker")
    torch.save(checkpoint, tmp_path / "unsafe.pyth")
    with pytest.raises(ValueError) as caught:
        load_original_state_dict(tmp_path / "unsafe.pyth")
    message = str(caught.value)
    assert "GLOBAL getattr" in message and "weights_only=False" not in message and "safe_globals" not in message


def test_repeated_label_names_are_refused(tmp_path):
    (tmp_path / "labels.json").write_text(json.dumps({str(index): name for index, name in
                                                      enumerate(["a", "b", "c", "a", "d", "e", "f"])}))
    with pytest.raises(ValueError, match=r"labels.json: label names must differ.*'a' \(ids 0, 3\)"):
        read_id2label_file(tmp_path / "labels.json")


def test_an_output_folder_that_links_to_an_empty_folder_receives_the_model(reference_dir, tmp_path):
    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "target")
    convert_tada_resnet_checkpoint(reference_dir / "tada_original" / LAYOUTS[0], tmp_path / "link")
    assert (tmp_path / "link").is_symlink() and (tmp_path / "target" / "config.json").is_file()


FAMILY_CONVERTERS = ["hf_video.models.tada_resnet.convert_tada_resnet_original_to_hf",
                     "hf_video.models.tada_convnext_v2.convert_tada_convnext_v2_original_to_hf",
                     "hf_video.models.tadaformer.convert_tadaformer_original_to_hf"]


@pytest.mark.parametrize("module", FAMILY_CONVERTERS)
def test_the_three_converters_take_the_same_command_line(module, capsys):
    import importlib

    from hf_video.models.original_conversion import FamilyConversion

    converter = importlib.import_module(module)
    assert isinstance(converter.CONVERSION, FamilyConversion)  # one skeleton, the family's parts
    with pytest.raises(SystemExit):
        converter.main(["--help"])
    shown = capsys.readouterr().out
    for option in ("--checkpoint_path", "--output_dir", "--original_config", "--released", "--ema", "--label_set",
                   "--id2label", "--num_frames", "--image_size", "--sample_mode", "--sample_interval"):
        assert option in shown, (module, option)


def test_the_resnet_converter_reads_the_authors_config_and_their_ema_weights(reference_dir, tmp_path):
    """TAda2D takes --original_config (its `_BASE_` followed, frames, crop and sampling from it) and --ema, as the V2
    families do."""
    from hf_video.models.tada_resnet.convert_tada_resnet_original_to_hf import main

    checkpoint = torch.load(reference_dir / "tada_original" / LAYOUTS[0], weights_only=True)
    checkpoint["model_ema_state"] = {key: tensor.clone() for key, tensor in checkpoint["model_state"].items()}
    checkpoint["model_ema_state"]["head.out.bias"] += 1.0
    torch.save(checkpoint, tmp_path / "with_ema.pyth")
    (tmp_path / "tada2d_base.yaml").write_text(textwrap.dedent("""\
        VIDEO:
          BACKBONE:
            META_ARCH: ResNet3D
            DEPTH: 50
            BRANCH: {NAME: TAda2DBlock, ROUTE_FUNC_K: [3, 3], POOL_K: [3, 1, 1]}
        """))
    (tmp_path / "tada2d_run.yaml").write_text(textwrap.dedent("""\
        _BASE_: tada2d_base.yaml
        DATA: {NUM_INPUT_FRAMES: 8, SAMPLING_RATE: 8, TRAIN_CROP_SIZE: 64, SAMPLING_MODE: interval_based}
        """))
    main(["--checkpoint_path", str(tmp_path / "with_ema.pyth"), "--output_dir", str(tmp_path / "ema"), "--ema",
          "--original_config", str(tmp_path / "tada2d_run.yaml")])
    main(["--checkpoint_path", str(tmp_path / "with_ema.pyth"), "--output_dir", str(tmp_path / "plain"),
          "--original_config", str(tmp_path / "tada2d_run.yaml")])
    ema, plain = (TadaResNetForVideoClassification.from_pretrained(tmp_path / name) for name in ("ema", "plain"))
    assert (ema.config.num_frames, ema.config.image_size) == (8, 64)
    assert torch.equal(ema.classifier.bias, plain.classifier.bias + 1.0)
    settings = AutoVideoProcessor.from_pretrained(tmp_path / "ema").clip_settings()
    assert (settings.num_frames, settings.sample_interval, settings.sample_mode, settings.image_size) == (
        8, 8, "interval", 64)


def test_a_config_of_another_family_or_an_option_against_the_shapes_is_refused(reference_dir, tmp_path):
    checkpoint = reference_dir / "tada_original" / LAYOUTS[0]
    (tmp_path / "v2.yaml").write_text("VIDEO: {BACKBONE: {META_ARCH: ConvNeXt, BRANCH: {NAME: TAdaConvNeXtV2Block}}}\n")
    with pytest.raises(ValueError, match=r"v2\.yaml describes a ConvNeXt with TAdaConvNeXtV2Block blocks, not a TAda "
                                         r"ResNet3D \(TAda2D\) \(ResNet3D with TAda2DBlock\)"):
        convert_tada_resnet_checkpoint(checkpoint, tmp_path / "out", original_config=tmp_path / "v2.yaml")
    with pytest.raises(ValueError, match=r"^depth=101 was asked for, but the checkpoint's tensors show 50"):
        convert_tada_resnet_checkpoint(checkpoint, tmp_path / "out", depth=101)
    with pytest.raises(ValueError, match=r"not a released TAda ResNet3D \(TAda2D\) checkpoint"):
        convert_tada_resnet_checkpoint(checkpoint, tmp_path / "out", released="tadaformer-b16-k400-16f")
    assert not (tmp_path / "out").exists()


def test_the_former_name_of_the_resnet_converter_still_converts(reference_dir, tmp_path):
    from hf_video import convert_original_checkpoint

    with pytest.warns(FutureWarning, match="convert_tada_resnet_checkpoint"):
        model = convert_original_checkpoint(reference_dir / "tada_original" / LAYOUTS[0], tmp_path / "out",
                                            num_frames=8)
    assert model.config.num_frames == 8 and (tmp_path / "out" / "model.safetensors").is_file()
