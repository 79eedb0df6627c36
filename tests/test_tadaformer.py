"""TAdaFormer: exact to the authors' code (their golden outputs with both attention implementations, their
formulation's gradients), convertible from their checkpoints, built from transformers' CLIP, usable as remote code."""

import csv
import json

import pytest
import torch
import yaml
from huggingface_hub import ModelCard
from safetensors.torch import load_file
from transformers import (AutoModel, AutoModelForVideoClassification, AutoVideoProcessor, CLIPConfig, CLIPModel,
                          CLIPVisionConfig, CLIPVisionModel)

from hf_video import (TadaFormerConfig, TadaFormerForVideoClassification, TadaVideoProcessor,
                      convert_tadaformer_checkpoint)
from hf_video.models.tadaformer.convert_tadaformer_original_to_hf import (
    convert_original_state_dict, infer_config_kwargs, main as convert_main)
from helpers.gradients import assert_training_gradients_match
from helpers.original_tadaformer import OriginalTadaFormer
from helpers.remote_code import assert_pipeline_runs_without_hf_video

GOLDEN = "tadaformer_public"
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]


def golden_files(reference_dir):
    folder = reference_dir / "tadaconv_v2"
    return (folder / f"{GOLDEN}_tadaconv_format.pyth", folder / f"{GOLDEN}_config.yaml",
            load_file(folder / f"{GOLDEN}_io.safetensors"))


def clips(io):
    return io["input"].transpose(1, 2)  # the authors' (B, C, T, H, W) -> ours (B, T, C, H, W)


def assert_matches_golden(model, io):
    model.eval()
    for implementation in ("eager", "sdpa"):
        model.set_attn_implementation(implementation)
        with torch.no_grad():
            logits = model(clips(io)).logits
            features = model.tadaformer(clips(io)).pooler_output
        assert (features - io["backbone_features"]).abs().max() <= 1e-5, implementation
        assert (logits - io["logits"]).abs().max() <= 1e-5, implementation
        assert (logits.softmax(-1) - io["probs"]).abs().max() <= 1e-5, implementation


def test_the_authors_formulation_here_reproduces_their_golden_outputs(reference_dir):
    """The oracle of the gradient test and the benchmark's baseline is what the authors' code computes."""
    checkpoint, _, io = golden_files(reference_dir)
    original = OriginalTadaFormer(256, 1, 4, 16, 64, num_classes=5, enhanced=True, double=True).eval()
    original.load_state_dict(torch.load(checkpoint, weights_only=True)["model_state"], strict=True)
    with torch.no_grad():
        assert (original(clips(io)) - io["logits"]).abs().max() <= 1e-5


@pytest.mark.parametrize("layout", ["tadaconv", "module_prefix"])
def test_converted_golden_matches_the_authors_logits_before_and_after_saving(reference_dir, tmp_path, layout):
    checkpoint_path, config_path, io = golden_files(reference_dir)
    if layout == "module_prefix":  # DistributedDataParallel's names
        state = torch.load(checkpoint_path, weights_only=True)["model_state"]
        checkpoint_path = tmp_path / "ckpt.pyth"
        torch.save({"epoch": 3, "model_state": {f"module.{key}": value for key, value in state.items()}},
                   checkpoint_path)
    output_dir = tmp_path / "converted"
    model = convert_tadaformer_checkpoint(checkpoint_path, output_dir, original_config=config_path)
    assert (model.config.temporal_enhance, model.config.double_tada, model.config.num_attention_heads) == (
        True, True, 4)
    assert_matches_golden(model, io)
    reloaded = AutoModelForVideoClassification.from_pretrained(output_dir)
    assert isinstance(reloaded, TadaFormerForVideoClassification)
    assert_matches_golden(reloaded, io)
    processor = AutoVideoProcessor.from_pretrained(output_dir)
    assert isinstance(processor, TadaVideoProcessor)
    assert (processor.num_frames, processor.image_size, processor.sample_mode) == (8, 64, "segment")
    assert processor.image_mean == CLIP_MEAN
    card = ModelCard.load(output_dir / "README.md")
    assert card.data.pipeline_tag == "video-classification" and "TAdaFormer" in card.text
    assert "tadaformer" in card.data.tags and "arXiv:2308.05787" in card.text


def test_what_no_shape_shows_is_asked_for_and_contradictions_are_refused(reference_dir, tmp_path):
    checkpoint_path, config_path, io = golden_files(reference_dir)
    with pytest.raises(ValueError, match=r"number of attention heads.*--original_config.*--num_attention_heads"):
        convert_tadaformer_checkpoint(checkpoint_path, tmp_path / "no_heads")
    assert not (tmp_path / "no_heads").exists()  # nothing half-written
    wrong = yaml.safe_load(config_path.read_text())
    wrong["VIDEO"]["BACKBONE"]["DOUBLE_TADA"] = False
    (tmp_path / "wrong.yaml").write_text(yaml.safe_dump(wrong))
    with pytest.raises(ValueError, match=r"double_tada=False.*show True"):
        convert_tadaformer_checkpoint(checkpoint_path, tmp_path / "out", original_config=tmp_path / "wrong.yaml")
    other = {"VIDEO": {"BACKBONE": {"META_ARCH": "ConvNeXt", "BRANCH": {"NAME": "TAdaConvNeXtV2Block"}}}}
    (tmp_path / "v2.yaml").write_text(yaml.safe_dump(other))
    with pytest.raises(ValueError, match="not a TAdaFormer"):
        convert_tadaformer_checkpoint(checkpoint_path, tmp_path / "out", original_config=tmp_path / "v2.yaml")
    with pytest.raises(ValueError, match="tadaformer-b16-k400-16f has 400 classes"):
        convert_tadaformer_checkpoint(checkpoint_path, tmp_path / "out", released="tadaformer-b16-k400-16f")
    # The command line: heads and frames given as options, the tubelet stride the authors' default.
    output_dir = tmp_path / "from_options"
    convert_main(["--checkpoint_path", str(checkpoint_path), "--output_dir", str(output_dir),
                  "--num_attention_heads", "4", "--num_frames", "8"])
    assert_matches_golden(AutoModelForVideoClassification.from_pretrained(output_dir), io)


def test_the_configuration_stored_in_a_checkpoint_is_read(reference_dir, tmp_path):
    """The authors' code saves `cfg.dump()` (YAML text) in its checkpoints: a converter needs nothing else."""
    checkpoint_path, config_path, io = golden_files(reference_dir)
    state = torch.load(checkpoint_path, weights_only=True)["model_state"]
    torch.save({"epoch": 1, "model_state": state, "cfg": config_path.read_text()}, tmp_path / "with_cfg.pyth")
    model = convert_tadaformer_checkpoint(tmp_path / "with_cfg.pyth", tmp_path / "out")
    assert model.config.num_attention_heads == 4 and model.config.num_frames == 8
    assert_matches_golden(model, io)


def meta_state_dict(path) -> dict:
    """The keys and shapes of a full-size model, as tensors without storage."""
    with open(path, newline="") as table:
        return {row["key"]: torch.empty(json.loads(row["shape"]), device="meta")
                for row in csv.DictReader(table, delimiter="\t")}


@pytest.mark.parametrize("name, heads, expected", [
    ("tadaformer_b16_k400_16f", 12, dict(hidden_size=768, num_hidden_layers=12, patch_size=16, num_labels=400,
                                         temporal_enhance=False, double_tada=False, parameters=104_195_728)),
    ("tadaformer_b16_ssv2_16f", 12, dict(hidden_size=768, num_hidden_layers=12, patch_size=16, num_labels=174,
                                         temporal_enhance=True, double_tada=True, parameters=135_086_766)),
    ("tadaformer_l14_k400_16f", 16, dict(hidden_size=1024, num_hidden_layers=24, patch_size=14, num_labels=400,
                                         temporal_enhance=False, double_tada=False, parameters=364_827_024)),
])
def test_full_size_released_keys_convert_without_a_missing_or_unexpected_key(reference_dir, name, heads, expected):
    original = meta_state_dict(reference_dir / "tadaconv_v2" / f"{name}_state_dict_keys.tsv")
    kwargs = infer_config_kwargs(original)
    assert {key: kwargs[key] for key in expected if key != "parameters"} == {
        key: value for key, value in expected.items() if key != "parameters"}
    assert (kwargs["image_size"], kwargs["tubelet_size"], kwargs["route_kernel_sizes"]) == (224, 3, [3, 3])
    with torch.device("meta"):
        model = TadaFormerForVideoClassification(TadaFormerConfig(**kwargs, num_attention_heads=heads))
    assert sum(parameter.numel() for parameter in model.parameters()) == expected["parameters"]
    converted = convert_original_state_dict(original, model.state_dict())  # raises on anything left over
    assert len(converted) == len(model.state_dict())


def randomized_pair(num_classes=5, **variants):
    """The authors' formulation with every weight non-trivial (zero-initialised parts randomised), and our model
    converted from it."""
    torch.manual_seed(3)
    original = OriginalTadaFormer(64, 2, 4, 8, 32, num_classes=num_classes, head_dim=16, **variants)
    with torch.no_grad():
        for parameter in original.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.2)
    config = TadaFormerConfig(**infer_config_kwargs(original.state_dict()), num_attention_heads=4, route_head_dim=16,
                              classifier_dropout=0.0)
    ours = TadaFormerForVideoClassification(config)
    ours.load_state_dict(convert_original_state_dict(original.state_dict(), ours.state_dict()))
    return original, ours


@pytest.mark.parametrize("num_frames, variants", [
    (1, {}), (4, {}), (7, dict(enhanced=True, double=True)), (8, dict(enhanced=True))])
def test_gradients_are_the_authors_formulations_for_any_frame_count(num_frames, variants):
    """Training mode (BatchNorms on batch statistics), every input and weight gradient: one depthwise convolution
    and a multiply-add give the authors' grouped convolution's gradients, the split q/k/v projections their packed
    one's; the frame count comes from the input alone."""
    original, ours = randomized_pair(**variants)
    assert_training_gradients_match(original, ours, torch.randn(2, num_frames, 3, 32, 32),
                                    convert_original_state_dict)
    for ours_norm, original_norm in ((ours.tadaformer.encoder.layers[0].tada.normalization,
                                      original.backbone.layers[0].tada.tadaconv.bn_a),):
        assert torch.allclose(ours_norm.running_var, original_norm.running_var, atol=1e-6)


@pytest.mark.parametrize("num_frames, variants", [
    (1, {}), (2, {}), (4, dict(double=True)), (7, dict(enhanced=True)), (16, {})])
def test_eval_mode_folds_the_batch_norms_and_pool_and_stays_the_authors_formulation(num_frames, variants):
    """In eval mode the TAda block's BatchNorms, temporal pool and calibration become three multiply-adds: with
    every weight and running statistic non-trivial, the logits and the input's gradient are the authors'."""
    original, ours = randomized_pair(**variants)
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for name, buffer in original.named_buffers():
            if name.endswith("running_mean"):
                buffer.copy_(torch.randn(buffer.shape, generator=generator))
            elif name.endswith("running_var"):
                buffer.copy_(torch.rand(buffer.shape, generator=generator) + 0.5)
    ours.load_state_dict(convert_original_state_dict(original.state_dict(), ours.state_dict()))
    original.eval(), ours.eval()
    pixel_values = torch.randn(2, num_frames, 3, 32, 32)
    inputs = [pixel_values.clone().requires_grad_(), pixel_values.clone().requires_grad_()]
    expected, logits = original(inputs[0]), ours(inputs[1]).logits
    scale = expected.abs().max()
    assert (logits - expected).abs().max() <= 1e-5 * max(scale, 1.0)
    (expected * torch.arange(5)).sum().backward()
    (logits * torch.arange(5)).sum().backward()
    assert torch.allclose(inputs[1].grad, inputs[0].grad, rtol=1e-4, atol=1e-5 * inputs[0].grad.abs().max())


@pytest.mark.parametrize("tubelet, stride", [(2, 2), (1, 1), (3, 1)])
def test_other_tubelets_match_the_authors_formulation(tubelet, stride):
    torch.manual_seed(1)
    original = OriginalTadaFormer(64, 1, 4, 8, 32, num_classes=5, head_dim=16, tubelet=tubelet,
                                  tubelet_stride=stride).eval()
    config = TadaFormerConfig(**infer_config_kwargs(original.state_dict()), num_attention_heads=4, route_head_dim=16,
                              tubelet_stride=stride)
    ours = TadaFormerForVideoClassification(config).eval()
    ours.load_state_dict(convert_original_state_dict(original.state_dict(), ours.state_dict()))
    pixel_values = torch.randn(2, 7, 3, 32, 32)
    with torch.no_grad():
        outputs = ours(pixel_values, output_hidden_states=True)
        assert (outputs.logits - original(pixel_values)).abs().max() <= 1e-5
    assert outputs.hidden_states[-1].shape[1] == config.num_output_frames(7)


def test_gradient_checkpointing_gives_the_same_step_and_updates_batch_norm_statistics_once():
    _, plain = randomized_pair(enhanced=True, double=True)
    _, checkpointed = randomized_pair(enhanced=True, double=True)
    checkpointed.gradient_checkpointing_enable()
    pixel_values = torch.randn(2, 4, 3, 32, 32)
    for model in (plain, checkpointed):
        model.train()
        model(pixel_values, labels=torch.tensor([0, 3])).loss.backward()
    for (name, parameter), other in zip(plain.named_parameters(), checkpointed.parameters()):
        assert torch.allclose(parameter.grad, other.grad, atol=1e-6, rtol=1e-5), name
    for (name, buffer), other in zip(plain.named_buffers(), checkpointed.buffers()):
        assert torch.equal(buffer, other), name  # running statistics and counts moved once


def tiny_clip_vision_config():
    return CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                            image_size=32, patch_size=8)


@pytest.mark.parametrize("checkpoint_kind", ["CLIPVisionModel", "CLIPModel"])
def test_from_clip_gives_clips_image_features_on_a_still_clip(tmp_path, checkpoint_kind):
    """CLIP's kernel at the tubelet's centre tap and TAda blocks that start as identity: on a clip of one repeated
    frame, every frame's tokens and the pooled output are CLIP's for that frame."""
    torch.manual_seed(0)
    if checkpoint_kind == "CLIPModel":
        clip_model = CLIPModel(CLIPConfig(vision_config=tiny_clip_vision_config().to_dict(),
                                          text_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                                           num_attention_heads=4), projection_dim=16))
        clip_model.save_pretrained(tmp_path / "clip")
        clip = clip_model.vision_model.eval()
    else:
        clip = CLIPVisionModel(tiny_clip_vision_config()).eval()
        clip.save_pretrained(tmp_path / "clip")
    model = TadaFormerForVideoClassification.from_clip(str(tmp_path / "clip"), num_labels=3, route_head_dim=8,
                                                       num_frames=8).eval()
    assert (model.config.hidden_size, model.config.num_hidden_layers, model.config.image_size) == (32, 2, 32)
    frame = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = clip(frame, output_hidden_states=True)
        outputs = model.tadaformer(frame[:, None].expand(2, 8, 3, 32, 32).contiguous())
    assert outputs.last_hidden_state.shape[1] == 4  # 8 frames, tubelet stride 2
    assert (outputs.pooler_output - expected.pooler_output).abs().max() <= 1e-5
    assert (outputs.last_hidden_state - expected.last_hidden_state[:, None]).abs().max() <= 1e-5
    # Training changes the TAda blocks: they are real parameters, not frozen identity.
    model.train()
    model(torch.randn(2, 8, 3, 32, 32), labels=torch.tensor([0, 2])).loss.backward()
    assert model.tadaformer.encoder.layers[0].tada.up.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r"fixes hidden_size=32 \(not 64\)"):
        TadaFormerForVideoClassification.from_clip(str(tmp_path / "clip"), hidden_size=64, route_head_dim=8)


def tiny_model():
    """One layer of width 32 on 32x32 frames in 8x8 patches, 2 labels."""
    return TadaFormerForVideoClassification(TadaFormerConfig(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=64, image_size=32,
        patch_size=8, route_head_dim=8, num_labels=2))


def test_other_frame_sizes_need_interpolated_position_embeddings():
    model = tiny_model().eval()
    with pytest.raises(ValueError, match=r"for 32x32 frames.*interpolate_pos_encoding=True"):
        model(torch.randn(1, 4, 3, 48, 48))
    with torch.no_grad():
        wider = model(torch.randn(1, 4, 3, 48, 64), interpolate_pos_encoding=True, output_hidden_states=True)
        same = torch.randn(1, 4, 3, 32, 32)
        assert torch.equal(model(same, interpolate_pos_encoding=True).logits, model(same).logits)
    assert wider.hidden_states[-1].shape == (1, 2, 1 + 6 * 8, 32)


def test_bad_input_is_named():
    model = tiny_model().eval()
    with pytest.raises(ValueError, match=r"permute\(0, 2, 1, 3, 4\)"):
        model(torch.zeros(1, 3, 4, 32, 32))
    with pytest.raises(ValueError, match="floating point"):
        model(torch.zeros(1, 4, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match="route width .* whole number of attention heads"):
        TadaFormerConfig(hidden_size=32, num_attention_heads=4, route_head_dim=64)
    with pytest.raises(ValueError, match="image_size=30 is not a whole number of patch_size=8"):
        TadaFormerConfig(image_size=30, patch_size=8)


def test_a_saved_folder_runs_in_a_pipeline_where_hf_video_cannot_be_imported(reference_dir, tmp_path):
    checkpoint_path, config_path, _ = golden_files(reference_dir)
    folder = tmp_path / "converted"
    convert_tadaformer_checkpoint(checkpoint_path, folder, original_config=config_path)
    assert_pipeline_runs_without_hf_video(folder, tmp_path, {"modeling_tadaformer.py", "configuration_tadaformer.py",
                                          "inflate_tadaformer_from_clip.py"})


def test_from_clip_refuses_a_checkpoint_missing_a_weight_and_takes_a_model_object(tmp_path):
    """A CLIP checkpoint without one of its weights would load with that weight random (transformers only reports
    it): refused, as inflate_convnext_2d refuses the same gap. A CLIPVisionModel object inflates like its folder."""
    from safetensors.torch import load_file, save_file

    torch.manual_seed(0)
    clip = CLIPVisionModel(tiny_clip_vision_config()).eval()
    clip.save_pretrained(tmp_path / "clip")
    weights = load_file(tmp_path / "clip" / "model.safetensors")
    dropped = next(key for key in weights if key.endswith("layers.1.mlp.fc1.weight"))
    save_file({key: value for key, value in weights.items() if key != dropped}, tmp_path / "clip" / "model.safetensors",
              metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"lacks 1 weight\(s\) of its vision model \(.*layers.1.mlp.fc1.weight\)"):
        TadaFormerForVideoClassification.from_clip(str(tmp_path / "clip"), num_labels=3, route_head_dim=8)
    from_object = TadaFormerForVideoClassification.from_clip(clip, num_labels=3, route_head_dim=8, num_frames=4)
    assert torch.equal(from_object.state_dict()["tadaformer.encoder.layers.1.mlp.fc1.weight"],
                       clip.state_dict()[dropped])
    with pytest.raises(ValueError, match=r"num_labels=-2: expected the number of classes"):
        TadaFormerConfig(num_labels=-2)


def test_frozen_embeddings_with_reentrant_checkpointing_train_through_enable_input_require_grads():
    """LoRA-style training: the embeddings frozen, activation checkpointing with the reentrant implementation. Only
    `enable_input_require_grads()` (which hooks `get_input_embeddings()`) lets gradients reach the layers."""
    model = tiny_model()
    assert model.get_input_embeddings() is model.tadaformer.embeddings.patch_embedding
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
    for parameter in model.tadaformer.embeddings.parameters():
        parameter.requires_grad_(False)
    model.enable_input_require_grads()
    model.train()
    model(torch.randn(2, 8, 3, 32, 32), labels=torch.tensor([0, 1])).loss.backward()
    layer = model.tadaformer.encoder.layers[0]
    assert layer.self_attn.q_proj.weight.grad is not None and layer.self_attn.q_proj.weight.grad.abs().sum() > 0


def test_the_attention_implementation_switches_at_run_time_and_weights_come_back_under_sdpa(tmp_path):
    model = tiny_model().eval()
    clip = torch.randn(1, 8, 3, 32, 32)
    model.set_attn_implementation("sdpa")
    assert model.config._attn_implementation == "sdpa"
    with torch.no_grad():
        sdpa = model(clip, output_attentions=True)
        model.set_attn_implementation("eager")
        assert model.config._attn_implementation == "eager"
        eager = model(clip, output_attentions=True)
    assert all(weights is not None and weights.shape == (1, 4, 4, 17, 17) for weights in sdpa.attentions)
    assert torch.allclose(sdpa.logits, eager.logits, atol=1e-5)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(sdpa.attentions, eager.attentions))


@pytest.mark.parametrize("family", ["tada_resnet", "tada_convnext_v2", "tadaformer"])
def test_every_saved_folder_maps_the_base_model_for_remote_code(tmp_path, family):
    import json

    from hf_video import (TadaConvNextV2Config, TadaConvNextV2ForVideoClassification, TadaResNetConfig,
                          TadaResNetForVideoClassification)
    from helpers.configs import tiny_config_kwargs

    model = {"tada_resnet": lambda: TadaResNetForVideoClassification(TadaResNetConfig(**tiny_config_kwargs())),
             "tada_convnext_v2": lambda: TadaConvNextV2ForVideoClassification(TadaConvNextV2Config(
                 depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128], route_head_dim=8, num_labels=2)),
             "tadaformer": tiny_model}[family]()
    model.save_pretrained(tmp_path / "folder")
    auto_map = json.loads((tmp_path / "folder" / "config.json").read_text())["auto_map"]
    assert {"AutoConfig", "AutoModel", "AutoModelForVideoClassification"} <= set(auto_map), auto_map
    base = AutoModel.from_pretrained(tmp_path / "folder", trust_remote_code=True)
    assert type(base).__name__.endswith("Model") and not type(base).__name__.endswith("Classification")
