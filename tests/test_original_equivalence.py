"""Our TadaResNet reproduces the original TAda2D implementation's outputs (golden vectors in the reference data)."""

import pytest
import torch
from safetensors import safe_open

from hf_video import TadaResNetConfig, TadaResNetForVideoClassification
from hf_video.models.tada_resnet.convert_tada_resnet_original_to_hf import (
    convert_original_state_dict,
    load_original_state_dict,
)
from helpers.configs import TINY_ARCHITECTURE


def golden_model_and_io(reference_dir, checkpoint_name):
    with safe_open(reference_dir / "tada_original" / "tada2d_public_io.safetensors", "pt") as golden:
        meta = golden.metadata()
        io = {key: golden.get_tensor(key) for key in golden.keys()}
    widths = [int(w) for w in meta["num_filters"].strip("[]").split(",")]
    config = TadaResNetConfig(
        depth=int(meta["depth"]), stem_width=widths[0], hidden_sizes=widths[1:], num_labels=int(meta["num_classes"]),
        route_reduction=int(meta["route_func_r"]), batch_norm_eps=float(meta["bn_eps"]),
        batch_norm_momentum=float(meta["bn_momentum"]), num_frames=int(meta["num_frames"]),
        image_size=int(meta["image_size"]),
    )
    model = TadaResNetForVideoClassification(config)
    original = load_original_state_dict(reference_dir / "tada_original" / checkpoint_name)
    model.load_state_dict(convert_original_state_dict(original, model.state_dict()))
    return model.eval(), io


@pytest.mark.parametrize("checkpoint_name", ["tada2d_public_tadaconv_format.pyth", "tada2d_public_essmc2_format.pth"])
def test_outputs_match_the_original_implementation(reference_dir, checkpoint_name):
    model, io = golden_model_and_io(reference_dir, checkpoint_name)
    pixel_values = io["input"].permute(0, 2, 1, 3, 4)  # original (B, C, T, H, W) -> ours (B, T, C, H, W)
    with torch.no_grad():
        backbone = model.tada_resnet(pixel_values)
        logits = model(pixel_values).logits
    assert (backbone.last_hidden_state - io["backbone_features"]).abs().max() <= 1e-5
    assert (backbone.pooler_output - io["pooled"]).abs().max() <= 1e-5
    assert (logits - io["logits"]).abs().max() <= 1e-5
    assert (logits.softmax(-1) - io["probs"]).abs().max() <= 1e-5


def test_a_mismatching_configuration_is_reported_not_half_loaded(reference_dir):
    original = load_original_state_dict(reference_dir / "tada_original" / "tada2d_public_tadaconv_format.pyth")
    model = TadaResNetForVideoClassification(TadaResNetConfig(**TINY_ARCHITECTURE, num_labels=7))
    with pytest.raises(ValueError, match=r"shapes disagree.*head\.out\.weight"):
        convert_original_state_dict(original, model.state_dict())
    plain = TadaResNetForVideoClassification(TadaResNetConfig(**TINY_ARCHITECTURE, num_labels=5,
                                                              temporal_adaptive=False))
    with pytest.raises(ValueError, match=r"no place in the model.*b_rf"):
        convert_original_state_dict(original, plain.state_dict())
