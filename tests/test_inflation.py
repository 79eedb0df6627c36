"""Inflating 2D ImageNet ResNets (torchvision and transformers layouts) into TAda ResNet3D."""

import pytest
import torch
import torchvision
from transformers import ResNetConfig, ResNetModel

from hf_video import TadaResNetConfig, TadaResNetForVideoClassification
from hf_video.models.tada_resnet.inflate_tada_resnet_from_2d import inflate_resnet_2d


def randomised(module: torch.nn.Module) -> torch.nn.Module:
    """Non-trivial BatchNorm affine and statistics, so that a misplaced tensor changes the outputs."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, torch.nn.BatchNorm2d):
                layer.weight.uniform_(0.5, 1.5, generator=generator)
                layer.bias.normal_(0, 0.1, generator=generator)
                layer.running_mean.normal_(0, 0.1, generator=generator)
                layer.running_var.uniform_(0.5, 1.5, generator=generator)
    return module.eval()


def tada2d_as_torchvision(resnet: torchvision.models.ResNet) -> torchvision.models.ResNet:
    """The same 2D network with TAda2D's downsampling: no max-pool, the first block of layer1 strided."""
    resnet.maxpool = torch.nn.Identity()
    resnet.layer1[0].conv2.stride = (2, 2)
    resnet.layer1[0].downsample[0].stride = (2, 2)
    return resnet


def test_torchvision_resnet50_lands_in_place_and_computes_per_frame_2d():
    resnet = randomised(torchvision.models.resnet50())
    model = inflate_resnet_2d(resnet.state_dict(), num_labels=7, num_frames=3, image_size=64).eval()
    assert (model.config.depth, model.config.stem_width, model.config.hidden_sizes) == (50, 64, [256, 512, 1024, 2048])
    ours = model.state_dict()
    assert torch.equal(ours["tada_resnet.embedder.convolution.weight"], resnet.conv1.weight)
    assert torch.equal(ours["tada_resnet.encoder.stages.2.layers.5.tada.convolution.weight"],
                       resnet.layer3[5].conv2.weight)
    assert torch.equal(ours["tada_resnet.encoder.stages.0.layers.0.shortcut.normalization.running_var"],
                       resnet.layer1[0].downsample[1].running_var)
    assert torch.equal(ours["tada_resnet.encoder.stages.3.layers.2.expand.normalization.bias"],
                       resnet.layer4[2].bn3.bias)

    clip = torch.randn(2, 3, 3, 64, 64)  # (B, T, C, H, W)
    reference = tada2d_as_torchvision(resnet)
    with torch.no_grad():
        frame_features = torch.flatten(reference.avgpool(torch.nn.Sequential(*list(reference.children())[:-2])(
            clip.flatten(0, 1))), 1)
        pooled = model.tada_resnet(clip).pooler_output
    # TAda2D frame by frame, pooled over frames as the head does
    assert torch.allclose(pooled, frame_features.view(2, 3, -1).mean(1), atol=1e-5, rtol=1e-4)


def test_transformers_resnet_inflates_like_its_temporal_adaptive_false_twin():
    config_2d = ResNetConfig(embedding_size=8, hidden_sizes=[32, 64, 128, 256], depths=[3, 4, 6, 3],
                             layer_type="bottleneck")
    resnet = randomised(ResNetModel(config_2d))
    kwargs = dict(num_labels=4, num_frames=4, image_size=32)
    tada = inflate_resnet_2d(resnet.state_dict(), **kwargs).eval()
    assert torch.equal(tada.state_dict()["tada_resnet.encoder.stages.1.layers.3.tada.convolution.weight"],
                       resnet.encoder.stages[1].layers[3].layer[1].convolution.weight)
    twin = TadaResNetForVideoClassification(TadaResNetConfig(**{**tada.config.to_dict(), "temporal_adaptive": False}))
    twin_state = {key: value for key, value in tada.state_dict().items() if key in twin.state_dict()}
    twin.load_state_dict(twin_state)
    twin.eval()
    clip = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(tada(clip).logits, twin(clip).logits, atol=1e-5)
        assert tada.tada_resnet(clip).last_hidden_state.abs().sum() > 0


def test_basic_block_resnets_and_foreign_state_dicts_are_refused():
    with pytest.raises(ValueError, match="match no ResNet-50/101/152"):
        inflate_resnet_2d(torchvision.models.resnet18().state_dict(), num_labels=3)
    with pytest.raises(ValueError, match="not a 2D ResNet state dict"):
        inflate_resnet_2d({"weight": torch.zeros(3)}, num_labels=3)


def test_inflates_from_a_saved_state_dict_file_and_a_transformers_folder(tmp_path):
    resnet = randomised(ResNetModel(ResNetConfig(embedding_size=8, hidden_sizes=[32, 64, 128, 256],
                                                 depths=[3, 4, 23, 3], layer_type="bottleneck")))
    torch.save(resnet.state_dict(), tmp_path / "resnet.pth")
    resnet.save_pretrained(tmp_path / "resnet")
    from_file = inflate_resnet_2d(tmp_path / "resnet.pth", num_labels=2)
    from_folder = inflate_resnet_2d(str(tmp_path / "resnet"), num_labels=2)
    assert from_file.config.depth == from_folder.config.depth == 101
    key = "tada_resnet.encoder.stages.2.layers.22.expand.normalization.running_mean"
    assert torch.equal(from_file.state_dict()[key], from_folder.state_dict()[key])
    source = resnet.encoder.stages[2].layers[22].layer[2].normalization.running_mean
    assert torch.equal(from_file.state_dict()[key], source)
    from safetensors.torch import save_file

    save_file(resnet.state_dict(), str(tmp_path / "resnet.safetensors"))
    assert torch.equal(inflate_resnet_2d(tmp_path / "resnet.safetensors", num_labels=2).state_dict()[key], source)


def test_files_that_hold_no_resnet_are_named(tmp_path):
    torch.save({}, tmp_path / "empty.pth")
    (tmp_path / "cut.pth").write_bytes(b"PK\x03\x04")
    (tmp_path / "model.ckpt").write_bytes(b"")
    for source, message in ((tmp_path / "empty.pth", "empty.pth: holds no weights"),
                            (tmp_path / "cut.pth", "cut.pth cannot be read as a state dict.*truncated or damaged"),
                            (tmp_path / "missing.pth", "missing.pth: no such file"),
                            (tmp_path / "model.ckpt", r"model.ckpt: a \.ckpt file is not read here"),
                            (tmp_path / "no" / "such" / "folder", "folder: no such folder")):
        with pytest.raises(ValueError, match=message):
            inflate_resnet_2d(source, num_labels=2)
