import math

import pytest
import torch
import torch.nn.functional as F
from transformers import Trainer, TrainingArguments
from transformers.modeling_layers import GradientCheckpointingLayer

from hf_video import TadaResNetConfig, TadaResNetForVideoClassification, TadaResNetModel
from hf_video.models.tada_resnet.modeling_tada_resnet import TadaConv2d, TadaResNetTadaUnit, TadaResNetRouteFunction


def clip(batch=2, frames=4, size=32):
    return torch.randn(batch, frames, 3, size, size)


def test_parameter_counts_match_the_original():
    model = TadaResNetForVideoClassification(TadaResNetConfig(depth=50, num_labels=51))
    assert sum(p.numel() for p in model.parameters()) == 26_770_371
    assert sum(p.numel() for p in model.tada_resnet.parameters()) == 26_665_872
    model = TadaResNetForVideoClassification(TadaResNetConfig(depth=50, num_labels=400))
    assert sum(p.numel() for p in model.parameters()) == 27_485_472


def test_r50_spatial_sizes_and_output_layout():
    model = TadaResNetModel(TadaResNetConfig()).eval()
    with torch.no_grad():
        output = model(clip(batch=1, frames=2, size=112), output_hidden_states=True)
    sizes = [tuple(h.shape) for h in output.hidden_states]
    # stem 56 (no max-pool), then every stage halves: 28, 14, 7, 4; time never downsampled.
    assert sizes == [(1, 64, 2, 56, 56), (1, 256, 2, 28, 28), (1, 512, 2, 14, 14), (1, 1024, 2, 7, 7),
                     (1, 2048, 2, 4, 4)]
    assert output.last_hidden_state.shape == (1, 2048, 2, 4, 4)
    assert torch.allclose(output.pooler_output, output.last_hidden_state.mean(dim=(2, 3, 4)), atol=1e-6)


@pytest.mark.parametrize("depth", [18, 34, 101, 152])
def test_every_depth_builds_and_runs(depth):
    widths = [16, 32, 64, 128] if depth < 50 else [32, 64, 128, 256]
    config = TadaResNetConfig(depth=depth, stem_width=8, hidden_sizes=widths, num_labels=3)
    model = TadaResNetForVideoClassification(config)
    assert sum(len(stage.layers) for stage in model.tada_resnet.encoder.stages) == sum(config.depths)
    logits = model(clip(frames=3), labels=torch.tensor([0, 2])).logits
    assert logits.shape == (2, 3)


def test_fresh_model_is_its_per_frame_2d_twin(tiny_config_kwargs):
    """At initialisation alpha == 1 and the temporal branch is off, so TAda equals the temporal_adaptive=False
    network with the same weights, in training and in eval mode."""
    tada = TadaResNetForVideoClassification(TadaResNetConfig(**tiny_config_kwargs, classifier_dropout=0.0))
    plain = TadaResNetForVideoClassification(
        TadaResNetConfig(**tiny_config_kwargs, classifier_dropout=0.0, temporal_adaptive=False))
    missing, unexpected = plain.load_state_dict(tada.state_dict(), strict=False)
    assert missing == [] and all(".route." in k or "temporal_pool_normalization" in k for k in unexpected)
    x = clip()
    for mode in (True, False):
        tada.train(mode), plain.train(mode)
        assert torch.allclose(tada(x).logits, plain(x).logits, atol=1e-5)

    tada.train()
    calibrations = []
    for module in tada.modules():
        if isinstance(module, TadaResNetRouteFunction):
            module.register_forward_hook(lambda m, args, out: calibrations.append(out))
    tada(x)
    assert len(calibrations) == 16 and all(torch.equal(a, torch.ones_like(a)) for a in calibrations)


def test_initialisation_follows_the_original():
    model = TadaResNetForVideoClassification(TadaResNetConfig(depth=50, num_labels=51))
    block = model.tada_resnet.encoder.stages[3].layers[1]
    # Conv: kaiming-normal, fan_out, relu -> std sqrt(2 / fan_out)
    weight = block.reduce.convolution.weight  # (512, 2048, 1, 1)
    assert math.isclose(weight.std().item(), math.sqrt(2 / 512), rel_tol=0.03)
    assert abs(weight.mean().item()) < 0.1 * weight.std().item()
    # TAdaConv2d: kaiming-uniform(a=sqrt 5) of the original's 6-D tensor: uniform within 1/sqrt(Cout*Cin*9)
    tada_weight = block.tada.convolution.weight
    bound = 1 / math.sqrt(tada_weight.numel())
    assert tada_weight.abs().max() <= bound and tada_weight.abs().max() > 0.95 * bound
    route = block.tada.route
    assert torch.count_nonzero(route.expand.weight) == 0
    assert torch.count_nonzero(route.reduce.bias) == 0 and torch.count_nonzero(route.global_projection.bias) == 0
    assert route.reduce.weight.std() > 0
    assert torch.count_nonzero(block.tada.temporal_pool_normalization.weight) == 0
    for norm in (block.tada.normalization, block.expand.normalization, route.normalization):
        assert torch.equal(norm.weight, torch.ones_like(norm.weight))
        assert torch.count_nonzero(norm.bias) == 0
    head = model.classifier
    assert head.weight.abs().max() <= 1 / math.sqrt(2048) and head.weight.std() > 0


def test_losses_follow_problem_type(tiny_config_kwargs):
    x = clip()
    model = TadaResNetForVideoClassification(TadaResNetConfig(**tiny_config_kwargs)).eval()
    labels = torch.tensor([1, 4])
    output = model(x, labels=labels)
    assert torch.allclose(output.loss, F.cross_entropy(output.logits, labels))
    assert model.config.problem_type == "single_label_classification"

    model = TadaResNetForVideoClassification(
        TadaResNetConfig(**tiny_config_kwargs, problem_type="multi_label_classification")).eval()
    multi_hot = torch.tensor([[1.0, 0, 1, 0, 0], [0, 0, 0, 1, 1]])
    output = model(x, labels=multi_hot)
    assert torch.allclose(output.loss, F.binary_cross_entropy_with_logits(output.logits, multi_hot))

    regression = {**tiny_config_kwargs, "num_labels": 1}
    model = TadaResNetForVideoClassification(TadaResNetConfig(**regression)).eval()
    targets = torch.tensor([0.5, -1.0])
    output = model(x, labels=targets)
    assert torch.allclose(output.loss, F.mse_loss(output.logits.squeeze(), targets))


def test_trainer_does_not_pass_loss_kwargs(tiny_config_kwargs, tmp_path):
    """Otherwise the Trainer multiplies the (already averaged) loss by the number of processes."""
    model = TadaResNetForVideoClassification(TadaResNetConfig(**tiny_config_kwargs))
    trainer = Trainer(model=model, args=TrainingArguments(output_dir=str(tmp_path), use_cpu=True))
    assert trainer.model_accepts_loss_kwargs is False


def test_outputs_tuple_and_hidden_states(tiny_config_kwargs):
    model = TadaResNetForVideoClassification(TadaResNetConfig(**tiny_config_kwargs)).eval()
    x = clip()
    output = model(x, output_hidden_states=True)
    assert len(output.hidden_states) == 5
    assert [h.shape[1] for h in output.hidden_states] == [8, 32, 64, 128, 256]
    as_tuple = model(x, labels=torch.tensor([0, 1]), return_dict=False, output_attentions=False)  # generic kwargs too
    assert isinstance(as_tuple, tuple) and torch.allclose(as_tuple[1], output.logits)


def test_wrong_input_layout_is_a_clear_error(tiny_config_kwargs):
    model = TadaResNetModel(TadaResNetConfig(**tiny_config_kwargs))
    with pytest.raises(ValueError, match=r"\(batch, num_frames, 3, height, width\).*permute"):
        model(torch.randn(2, 3, 4, 32, 32))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.bool])
def test_pixel_values_that_are_not_floating_point_are_refused_not_cast(tiny_config_kwargs, dtype):
    model = TadaResNetForVideoClassification(TadaResNetConfig(**tiny_config_kwargs)).eval()
    with pytest.raises(ValueError, match=rf"floating point.*got {dtype} \(1, 4, 3, 32, 32\).*video processor"):
        model(torch.zeros(1, 4, 3, 32, 32, dtype=dtype))


@pytest.mark.parametrize("shape, message", [
    ((0, 4, 3, 32, 32), r"\(0, 4, 3, 32, 32\) holds no clip"),
    ((1, 0, 3, 32, 32), r"\(1, 0, 3, 32, 32\) holds no frame"),
    ((1, 4, 3, 16, 32), r"\(1, 4, 3, 16, 32\): frames of 16x32 are too small.*halves them 5 times.*32x32"),
])
def test_empty_batches_and_tiny_frames_name_the_shape(tiny_config_kwargs, shape, message):
    model = TadaResNetForVideoClassification(TadaResNetConfig(**tiny_config_kwargs)).eval()
    with pytest.raises(ValueError, match=message):
        model(torch.zeros(shape))


def test_a_training_batch_of_one_frame_is_named_not_left_to_batch_norm(tiny_config_kwargs):
    model = TadaResNetForVideoClassification(TadaResNetConfig(**tiny_config_kwargs))
    with pytest.raises(ValueError, match=r"\(1, 1, 3, 32, 32\): training needs more than one frame"):
        model(torch.zeros(1, 1, 3, 32, 32))
    assert model.eval()(torch.zeros(1, 1, 3, 32, 32)).logits.shape == (1, 5)  # fine for inference


def _enable_checkpointing(model):
    enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
    enable()


@pytest.mark.parametrize("use_reentrant", [False, True])
def test_activation_checkpointing_gives_same_gradients_and_updates_statistics_once(tiny_config_kwargs, use_reentrant):
    config = TadaResNetConfig(**tiny_config_kwargs, classifier_dropout=0.0)
    reference = TadaResNetForVideoClassification(config).train()
    for module in reference.modules():  # switch the temporal branch on so every path is exercised
        if isinstance(module, TadaResNetTadaUnit):
            torch.nn.init.normal_(module.temporal_pool_normalization.weight)
            torch.nn.init.normal_(module.route.expand.weight, std=0.1)
    checkpointed = TadaResNetForVideoClassification(config).train()
    checkpointed.load_state_dict(reference.state_dict())
    enable = getattr(checkpointed, "activation_checkpointing_enable", None)
    kwargs = {"use_reentrant": use_reentrant}
    if enable is not None:
        enable(activation_checkpointing_kwargs=kwargs)
    else:
        checkpointed.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    blocks = [module for module in checkpointed.modules() if isinstance(module, GradientCheckpointingLayer)]
    assert len(blocks) == 16 and all(block.gradient_checkpointing for block in blocks)

    x, labels = clip().requires_grad_(use_reentrant), torch.tensor([1, 3])
    reference(x, labels=labels).loss.backward()
    checkpointed(x, labels=labels).loss.backward()

    for (name, p_ref), (_, p_ckpt) in zip(reference.named_parameters(), checkpointed.named_parameters()):
        assert torch.allclose(p_ref.grad, p_ckpt.grad, atol=1e-5, rtol=1e-4), name
    buffers = dict(checkpointed.named_buffers())
    for name, buffer in reference.named_buffers():
        if name.endswith("num_batches_tracked"):
            assert buffer.item() == 1 and buffers[name].item() == 1, name
        else:
            assert torch.allclose(buffer, buffers[name], atol=1e-6), name


def test_every_n_layers_checkpoints_every_nth_block(tiny_config_kwargs):
    """A checkpointed block runs again during backward; `every_n_layers=4` checkpoints blocks 0, 4, 8 and 12."""
    model = TadaResNetForVideoClassification(TadaResNetConfig(**tiny_config_kwargs)).train()
    enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
    enable(every_n_layers=4)
    blocks = [module for module in model.modules() if isinstance(module, GradientCheckpointingLayer)]
    runs = [0] * len(blocks)
    for index, block in enumerate(blocks):
        block.tada.register_forward_hook(lambda *_, index=index: runs.__setitem__(index, runs[index] + 1))
    model(clip(), labels=torch.tensor([1, 3])).loss.backward()
    assert runs == [2 if index % 4 == 0 else 1 for index in range(len(blocks))]


def test_gradients_reach_every_hidden_state(tiny_config_kwargs):
    """What saliency maps and Grad-CAM need: the hidden states are the tensors the network goes on from."""
    model = TadaResNetForVideoClassification(TadaResNetConfig(**tiny_config_kwargs)).eval()
    outputs = model(clip(), output_hidden_states=True)
    for hidden_state in outputs.hidden_states:
        hidden_state.retain_grad()
    outputs.logits[:, 0].sum().backward()
    assert len(outputs.hidden_states) == 5
    assert all(hidden_state.grad is not None and hidden_state.grad.abs().sum() > 0
               for hidden_state in outputs.hidden_states)
    backbone = model.tada_resnet(clip())
    backbone.last_hidden_state.retain_grad()
    backbone.pooler_output.sum().backward()
    assert backbone.last_hidden_state.grad is not None


def test_runs_in_bfloat16_on_cpu(tiny_config_kwargs):
    model = TadaResNetForVideoClassification(TadaResNetConfig(**tiny_config_kwargs)).eval()
    x = clip()
    with torch.no_grad():
        reference = model(x).logits
        model.to(torch.bfloat16)
        low_precision = model(x).logits  # float32 input is cast to the model's dtype
    assert low_precision.dtype == torch.bfloat16
    assert torch.allclose(low_precision.float(), reference, atol=0.05 * reference.abs().max().item() + 1e-3)

    model.train()
    output = model(x, labels=torch.tensor([0, 1]))
    output.loss.backward()
    assert torch.isfinite(output.loss)
    assert all(p.grad is not None and p.grad.dtype == torch.bfloat16 for p in model.parameters())


def test_tada_conv_module_repr():
    assert "kernel_size=3, stride=2" in repr(TadaConv2d(4, 8, 3, 2))
