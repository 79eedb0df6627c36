"""TAdaConv2d as one convolution of the calibrated input == the original's per-frame weights + grouped conv."""

import pytest
import torch
import torch.nn.functional as F

from hf_video.models.tada_ops import temporal_average_pool
from hf_video.models.tada_resnet.modeling_tada_resnet import TadaConv2d, TadaResNetRouteFunction


def grouped_reference(x, alpha, weight, stride):
    """The original formulation, written out: x (B, C, T, H, W), alpha (B, C, T), weight (Cout, Cin, k, k);
    builds alpha_bt * W for every sample and frame and runs one grouped convolution with B*T groups."""
    b, c, t, h, w = x.shape
    out_channels, _, k, _ = weight.shape
    frames = x.permute(0, 2, 1, 3, 4).reshape(1, b * t * c, h, w)
    per_frame_weights = alpha.permute(0, 2, 1)[:, :, None, :, None, None] * weight  # (B, T, Cout, Cin, k, k)
    out = F.conv2d(frames, per_frame_weights.reshape(b * t * out_channels, c, k, k), stride=stride,
                   padding=k // 2, groups=b * t)
    return out.view(b, t, out_channels, *out.shape[-2:]).permute(0, 2, 1, 3, 4)


@pytest.mark.parametrize("stride", [1, 2])
def test_tada_conv_matches_grouped_reference_forward_and_gradients(stride):
    b, c, t, h, w, out_channels = 2, 6, 5, 11, 10, 7
    x = torch.randn(b, c, t, h, w, dtype=torch.float64).float().requires_grad_()
    alpha = (1 + 0.5 * torch.randn(b, c, t)).requires_grad_()
    conv = TadaConv2d(c, out_channels, kernel_size=3, stride=stride)
    torch.nn.init.normal_(conv.weight)

    ours_frames = conv(x.transpose(1, 2).reshape(b * t, c, h, w), alpha.transpose(1, 2).reshape(b * t, c))
    ours = ours_frames.view(b, t, out_channels, *ours_frames.shape[-2:]).transpose(1, 2)
    reference = grouped_reference(x, alpha, conv.weight, stride)
    assert ours.shape == reference.shape
    assert (ours - reference).abs().max() <= 1e-5

    upstream = torch.randn_like(ours)
    grads_ours = torch.autograd.grad(ours, (x, alpha, conv.weight), upstream)
    grads_reference = torch.autograd.grad(reference, (x, alpha, conv.weight), upstream)
    for ours_grad, reference_grad in zip(grads_ours, grads_reference):
        assert (ours_grad - reference_grad).abs().max() <= 1e-5 * max(1.0, reference_grad.abs().max().item())


def test_temporal_average_pool_is_the_originals_avgpool3d():
    b, c, t, h, w = 2, 3, 6, 4, 5
    x = torch.randn(b, c, t, h, w)
    for kernel in (1, 3, 5):
        reference = F.avg_pool3d(x, (kernel, 1, 1), stride=1, padding=(kernel // 2, 0, 0), count_include_pad=True)
        ours = temporal_average_pool(x.transpose(1, 2).reshape(b * t, c, h, w), t, kernel)
        assert torch.allclose(ours.view(b, t, c, h, w).transpose(1, 2), reference, atol=1e-6)


def test_route_function_matches_a_conv3d_reference():
    """The original route function on (B, C, T, H, W) with Conv3d / BatchNorm3d, using the same weights: the same
    calibration, and the same gradients for the input and every weight (ours runs the convolutions as matrix
    products and writes the spatial mean's backward by hand)."""
    b, c, t, h, w, reduction = 2, 8, 6, 5, 4, 4
    route = TadaResNetRouteFunction(c, reduction, [3, 5]).train()
    for parameter in route.parameters():
        torch.nn.init.normal_(parameter)
    x = torch.randn(b, c, t, h, w)
    upstream = torch.randn(b, c, t)

    def reference(clip):
        g = F.conv3d(clip.mean(dim=(2, 3, 4), keepdim=True), route.global_projection.weight[..., None, None],
                     route.global_projection.bias)
        hidden = F.conv3d(clip.mean(dim=(3, 4), keepdim=True) + g, route.reduce.weight[..., None, None],
                          route.reduce.bias, padding=(1, 0, 0))
        hidden = F.relu(F.batch_norm(hidden, None, None, route.normalization.weight, route.normalization.bias,
                                     training=True, eps=1e-5))
        return (F.conv3d(hidden, route.expand.weight[..., None, None], padding=(2, 0, 0)) + 1).view(b, c, t)

    def ours(clip):
        return route(clip.transpose(1, 2).reshape(b * t, c, h, w), t).view(b, t, c).transpose(1, 2)

    results = []
    for function in (ours, reference):
        clip = x.clone().requires_grad_()
        route.zero_grad(set_to_none=True)
        output = function(clip)
        output.backward(upstream)
        results.append([output.detach(), clip.grad, *(parameter.grad for parameter in route.parameters())])
    for got, want in zip(*results):
        assert torch.allclose(got, want, atol=1e-5 * max(1.0, want.abs().max().item())), (got - want).abs().max()


def test_temporal_average_pool_gradients_are_the_originals():
    """Its backward is written by hand (the pool is its own adjoint): compare with avg_pool3d's autograd, down to
    clips of one frame (zero-padded explicitly: avg_pool3d refuses clips shorter than its kernel, padding aside)."""
    b, c, h, w = 2, 3, 4, 5
    for t, kernel in ((6, 3), (6, 5), (3, 3), (5, 5), (4, 1), (1, 3), (2, 5)):
        x = torch.randn(b, c, t, h, w, requires_grad=True)
        upstream = torch.randn(b, c, t, h, w)
        padded = F.pad(x, (0, 0, 0, 0, kernel // 2, kernel // 2))
        F.avg_pool3d(padded, (kernel, 1, 1), stride=1).backward(upstream)
        frames = x.detach().transpose(1, 2).reshape(b * t, c, h, w).requires_grad_()
        temporal_average_pool(frames, t, kernel).backward(upstream.transpose(1, 2).reshape(b * t, c, h, w))
        ours = frames.grad.view(b, t, c, h, w).transpose(1, 2)
        assert torch.allclose(ours, x.grad, atol=1e-6), (t, kernel)


def _randomized(model):
    """Every parameter and BatchNorm statistic non-trivial (the zero-initialised TAda paths switched on)."""
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
            if tensor.is_floating_point():
                noise = torch.randn(tensor.shape, generator=generator) * 0.2
                tensor.copy_(noise.abs() + 0.5 if name.endswith("running_var") else noise)
    return model.eval()


def tiny_model(family):
    from hf_video import (TadaConvNextV2Config, TadaConvNextV2ForVideoClassification, TadaFormerConfig,
                          TadaFormerForVideoClassification, TadaResNetConfig, TadaResNetForVideoClassification)
    from helpers.configs import tiny_config_kwargs

    torch.manual_seed(0)
    if family == "tadaformer":
        return TadaFormerForVideoClassification(TadaFormerConfig(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=32,
            patch_size=8, num_frames=4, num_labels=3, route_head_dim=8))
    if family == "tada_convnext_v2":
        return TadaConvNextV2ForVideoClassification(TadaConvNextV2Config(
            depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128], route_head_dim=8, num_frames=4, image_size=32,
            num_labels=3))
    return TadaResNetForVideoClassification(TadaResNetConfig(**tiny_config_kwargs(num_labels=3)))


@pytest.mark.parametrize("family", ["tada_resnet", "tada_convnext_v2", "tadaformer"])
def test_torch_compile_takes_every_family_whole_for_training_and_inference(family):
    """No graph break, in a training step's forward and without autograd (the paths that write in place, and the
    pool's `out=` a slice, which Dynamo cannot take, step aside when compiling)."""
    import torch._dynamo

    model = tiny_model(family)
    clips = torch.randn(2, 4, 3, 32, 32)
    for training in (True, False):
        model.train(training)
        torch._dynamo.reset()
        with torch.set_grad_enabled(training):
            explanation = torch._dynamo.explain(model)(clips)
        assert explanation.graph_break_count == 0, (training, [str(reason) for reason in explanation.break_reasons])
    torch._dynamo.reset()


@pytest.mark.parametrize("family", ["tada_convnext_v2", "tadaformer"])
@pytest.mark.parametrize("dtype", [None, torch.bfloat16])
def test_inference_without_autograd_computes_in_place_what_autograd_computes(family, dtype):
    """Without autograd the V2 families write some results into tensors they have just made (calibration, SiLU,
    layer scale, residual sum); the logits are those of the same eval-mode model with autograd on, also under bf16
    autocast, where an fp32 result must not be written back into a bf16 tensor."""
    model = _randomized(tiny_model(family))
    clips = torch.randn(2, 4, 3, 32, 32)
    with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        with_autograd = model(clips).logits
        with torch.inference_mode():
            without = model(clips).logits
    assert without.dtype == with_autograd.dtype
    assert torch.equal(without, with_autograd.detach())
