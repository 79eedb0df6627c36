"""LoRA fine-tuning with peft, the recipe of docs/fine-tuning.md: the backbone frozen, the adapters and the head
trained, the adapter saved and loaded onto the base model again with the same logits, and merged into a plain
transformers folder with the same logits."""

import peft
import pytest
import torch
from transformers import AutoModelForVideoClassification

from hf_video import (TadaConvNextV2Config, TadaConvNextV2ForVideoClassification, TadaFormerConfig,
                      TadaFormerForVideoClassification)

# family -> (a tiny model, the layers LoRA adapts: the recipe's targets)
FAMILIES = {
    "tadaformer": (lambda: TadaFormerForVideoClassification(TadaFormerConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=32, patch_size=8,
        num_frames=4, num_labels=3, route_head_dim=8)), ["q_proj", "v_proj", "fc1", "fc2"]),
    "tada_convnext_v2": (lambda: TadaConvNextV2ForVideoClassification(TadaConvNextV2Config(
        depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128], route_head_dim=8, num_frames=4, image_size=32,
        num_labels=3)), ["pwconv1", "pwconv2"]),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_lora_trains_adapters_and_head_only_and_saves_and_loads_the_same_logits(family, tmp_path):
    build, targets = FAMILIES[family]
    torch.manual_seed(0)
    base = build()
    base.save_pretrained(tmp_path / "base")
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=targets, modules_to_save=["classifier"])
    model = peft.get_peft_model(AutoModelForVideoClassification.from_pretrained(tmp_path / "base"), config)
    trainable = {name for name, parameter in model.named_parameters() if parameter.requires_grad}
    assert trainable and all("lora_" in name or "classifier" in name for name in trainable)
    frozen_before = {name: parameter.detach().clone() for name, parameter in model.named_parameters()
                     if not parameter.requires_grad}

    clips, labels = torch.randn(4, 4, 3, 32, 32), torch.tensor([0, 1, 2, 0])
    with torch.no_grad():  # fresh adapters add nothing: the wrapped layers give the plain model's logits exactly
        assert torch.allclose(model.eval()(pixel_values=clips).logits, base.eval()(clips).logits, atol=1e-5)
    model.train()
    optimizer = torch.optim.AdamW([parameter for parameter in model.parameters() if parameter.requires_grad], lr=1e-2)
    with torch.no_grad():
        untrained = model(pixel_values=clips).logits
    for _ in range(3):
        loss = model(pixel_values=clips, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert all(torch.equal(parameter, frozen_before[name]) for name, parameter in model.named_parameters()
               if not parameter.requires_grad)
    model.eval()
    with torch.no_grad():
        trained = model(pixel_values=clips).logits
    # The adapters learnt (LoRA's B starts at zero) and change the logits.
    assert all(parameter.abs().sum() > 0 for name, parameter in model.named_parameters() if "lora_B" in name)
    assert not torch.allclose(trained, untrained)

    model.save_pretrained(tmp_path / "adapter")
    reloaded = peft.PeftModel.from_pretrained(AutoModelForVideoClassification.from_pretrained(tmp_path / "base"),
                                              tmp_path / "adapter").eval()
    with torch.no_grad():
        assert torch.allclose(reloaded(pixel_values=clips).logits, trained, atol=1e-5)
    merged = reloaded.merge_and_unload()
    merged.save_pretrained(tmp_path / "merged")
    plain = AutoModelForVideoClassification.from_pretrained(tmp_path / "merged")
    with torch.no_grad():
        assert torch.allclose(plain(pixel_values=clips).logits, trained, atol=1e-4)
