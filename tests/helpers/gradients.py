"""One training step of an authors' formulation and of our model from the same weights: their logits, input
gradients and every weight gradient must agree (the converters map the authors' names to ours)."""

import torch


def assert_training_gradients_match(original, ours, pixel_values, convert_original_state_dict) -> None:
    """Both models in training mode on `pixel_values` (B, T, C, H, W), a fixed weighting of the logits
    backpropagated; `convert_original_state_dict` maps the authors' gradients onto our parameter names."""
    results = []
    for model in (original, ours):
        model.train()
        inputs = pixel_values.clone().requires_grad_()
        output = model(inputs)
        logits = output if isinstance(output, torch.Tensor) else output.logits
        (logits * torch.linspace(-1, 1, logits.numel()).view_as(logits)).sum().backward()
        results.append((logits.detach(), inputs.grad, {name: p.grad for name, p in model.named_parameters()}))
    (original_logits, original_input_grad, original_grads), (logits, input_grad, grads) = results
    assert (logits - original_logits).abs().max() <= 1e-4
    assert torch.allclose(input_grad, original_input_grad, atol=1e-5, rtol=1e-4)
    ours_by_original = convert_original_state_dict(original_grads, dict(ours.named_parameters()))
    for name, gradient in ours_by_original.items():
        assert torch.allclose(grads[name], gradient, atol=1e-5, rtol=1e-3), name
