"""Inflating 2D ConvNeXts (transformers and timm layouts, saved locally) into TAdaConvNeXtV2: on a clip of one
repeated image, the inflated model gives the 2D model's features, since every TAda part starts as identity."""

import re

import pytest
import torch
from safetensors.torch import save_file
from timm.models.convnext import ConvNeXt
from transformers import ConvNextConfig, ConvNextForImageClassification

from hf_video.models.tada_convnext_v2.inflate_tada_convnext_v2_from_2d import inflate_convnext_2d

DEPTHS, WIDTHS = [1, 2, 1, 1], [16, 32, 64, 128]


def randomised(model: torch.nn.Module) -> torch.nn.Module:
    """Layer scales, norms and biases away from their initial values, so that a misplaced tensor shows."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.1)
    return model.eval()


def repeated_image_clip(image: torch.Tensor, num_frames: int) -> torch.Tensor:
    return image[:, None].expand(-1, num_frames, -1, -1, -1).contiguous()


@pytest.mark.parametrize("num_frames", [1, 4, 7])
def test_transformers_convnext_folder_inflates_to_its_features_on_a_still_clip(tmp_path, num_frames):
    convnext = randomised(ConvNextForImageClassification(ConvNextConfig(
        depths=DEPTHS, hidden_sizes=WIDTHS, num_labels=10, layer_scale_init_value=0.5)))
    convnext.save_pretrained(tmp_path / "convnext-2d")
    model = inflate_convnext_2d(tmp_path / "convnext-2d", num_labels=3, hidden_act="gelu").eval()
    assert (model.config.depths, model.config.hidden_sizes, model.config.route_head_dim) == (DEPTHS, WIDTHS, 8)
    image = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = convnext.convnext(image).pooler_output
        features = model.tada_convnext_v2(repeated_image_clip(image, num_frames)).pooler_output
    assert (features - expected).abs().max() <= 1e-5
    assert torch.equal(model.state_dict()["tada_convnext_v2.encoder.stages.1.layers.1.dwconv.weight"],
                       convnext.state_dict()["convnext.encoder.stages.1.layers.1.dwconv.weight"])


@pytest.mark.parametrize("saved_as", ["model", "safetensors", "pth"])
def test_timm_convnext_inflates_to_its_features_on_a_still_clip(tmp_path, saved_as):
    convnext = randomised(ConvNeXt(depths=DEPTHS, dims=WIDTHS, num_classes=10, ls_init_value=0.5))
    source = convnext
    if saved_as == "safetensors":
        source = tmp_path / "convnext.safetensors"
        save_file({key: value.contiguous() for key, value in convnext.state_dict().items()}, source)
    elif saved_as == "pth":
        source = tmp_path / "convnext.pth"
        torch.save({"state_dict": convnext.state_dict()}, source)
    model = inflate_convnext_2d(source, num_labels=3, hidden_act="gelu", num_frames=8).eval()
    image = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = convnext.forward_head(convnext.forward_features(image), pre_logits=True)
        features = model.tada_convnext_v2(repeated_image_clip(image, 8)).pooler_output
    assert (features - expected).abs().max() <= 1e-5


def test_the_authors_activation_is_the_default_and_close_to_the_2d_features():
    """QuickGELU (the authors' choice, our default) approximates GELU: close to the 2D features, not equal."""
    convnext = randomised(ConvNeXt(depths=DEPTHS, dims=WIDTHS, num_classes=10, ls_init_value=0.5))
    model = inflate_convnext_2d(convnext, num_labels=3).eval()
    assert model.config.hidden_act == "quick_gelu"
    image = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = convnext.forward_head(convnext.forward_features(image), pre_logits=True)
        features = model.tada_convnext_v2(repeated_image_clip(image, 4)).pooler_output
    difference = (features - expected).abs().max()
    assert 1e-5 < difference < 0.1 * expected.abs().max()


def test_a_state_dict_that_is_no_convnext_is_named(tmp_path):
    with pytest.raises(ValueError, match="not a 2D ConvNeXt state dict"):
        inflate_convnext_2d({"conv1.weight": torch.zeros(64, 3, 7, 7)})
    with pytest.raises(ValueError, match="no such folder"):
        inflate_convnext_2d(str(tmp_path / "missing" / "folder"))
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="truncated.pth"):
        inflate_convnext_2d(truncated)


def test_a_truncated_safetensors_file_is_named(tmp_path):
    convnext = randomised(ConvNeXt(depths=DEPTHS, dims=WIDTHS, num_classes=10, ls_init_value=0.5))
    source = tmp_path / "convnext.safetensors"
    save_file({key: value.contiguous() for key, value in convnext.state_dict().items()}, source)
    source.write_bytes(source.read_bytes()[:-1000])
    with pytest.raises(ValueError, match=re.escape(str(source)) + r": not a complete safetensors file.*truncated"):
        inflate_convnext_2d(source, num_labels=3)
