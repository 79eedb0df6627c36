"""Auto* registration, save_pretrained / from_pretrained, remote code, label-set changes."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModel, AutoModelForVideoClassification

from hf_video import TadaResNetConfig, TadaResNetForVideoClassification, TadaResNetModel

# Processes, real training runs or whole batteries: left out of `make test-fast`, run by `make test`.
pytestmark = pytest.mark.slow

LABELS = {0: "fade_in", 1: "fade_out", 2: "turn_left"}


def trained_looking_model(tiny_config_kwargs):
    """A model whose every weight and statistic is non-trivial, so a load that drops anything shows."""
    model = TadaResNetForVideoClassification(TadaResNetConfig(**{**tiny_config_kwargs, "num_labels": 3},
                                                              id2label=LABELS))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    model.train()
    for _ in range(2):
        model(torch.randn(2, 4, 3, 32, 32))
    return model.eval()


def test_auto_classes_resolve_tada_resnet(tiny_config_kwargs):
    config = AutoConfig.for_model("tada_resnet", **tiny_config_kwargs)
    assert isinstance(config, TadaResNetConfig)
    assert type(AutoModel.from_config(config)) is TadaResNetModel
    assert type(AutoModelForVideoClassification.from_config(config)) is TadaResNetForVideoClassification


def test_save_and_reload_through_auto_gives_identical_logits(tiny_config_kwargs, tmp_path):
    model = trained_looking_model(tiny_config_kwargs)
    model.save_pretrained(tmp_path)
    files = set(os.listdir(tmp_path))
    assert {"config.json", "model.safetensors", "configuration_tada_resnet.py", "modeling_tada_resnet.py"} <= files
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "tada_resnet"
    assert config["auto_map"]["AutoModelForVideoClassification"] == (
        "modeling_tada_resnet.TadaResNetForVideoClassification")

    loaded = AutoModelForVideoClassification.from_pretrained(tmp_path)
    assert type(loaded) is TadaResNetForVideoClassification and not loaded.training
    assert loaded.config.id2label == LABELS
    x = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x).logits, model(x).logits)
    for name, buffer in model.named_buffers():
        assert torch.equal(buffer, loaded.get_buffer(name)), name

    backbone = AutoModel.from_pretrained(tmp_path)  # the base model from a classifier checkpoint
    with torch.no_grad():
        assert torch.equal(backbone(x).pooler_output, model.tada_resnet(x).pooler_output)

    bf16 = AutoModelForVideoClassification.from_pretrained(tmp_path, dtype=torch.bfloat16)
    assert bf16.dtype == torch.bfloat16


def test_remote_code_loads_where_hf_video_cannot_be_imported(tiny_config_kwargs, tmp_path):
    model = trained_looking_model(tiny_config_kwargs)
    checkpoint = tmp_path / "checkpoint"
    model.save_pretrained(checkpoint)
    x = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        expected = model(x).logits
    save_file({"input": x, "logits": expected}, tmp_path / "io.safetensors")

    script = textwrap.dedent(f"""
        import sys
        sys.modules["hf_video"] = None  # any `import hf_video` now fails
        import torch
        from safetensors.torch import load_file
        from transformers import AutoModelForVideoClassification
        try:
            import hf_video
        except ImportError:
            pass
        else:
            raise SystemExit("hf_video is importable")
        model = AutoModelForVideoClassification.from_pretrained({str(checkpoint)!r}, trust_remote_code=True)
        assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
        io = load_file({str(tmp_path / "io.safetensors")!r})
        with torch.no_grad():
            logits = model(io["input"]).logits
        assert torch.equal(logits, io["logits"]), (logits - io["logits"]).abs().max()
        print("REMOTE_OK", model.config.id2label[2])
    """)
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "REMOTE_OK turn_left" in result.stdout


def test_new_label_set_on_load(tiny_config_kwargs, tmp_path):
    model = trained_looking_model(tiny_config_kwargs)
    model.save_pretrained(tmp_path)
    new_labels = {i: f"class_{i}" for i in range(7)}
    loaded = AutoModelForVideoClassification.from_pretrained(
        tmp_path, num_labels=7, id2label=new_labels, label2id={v: k for k, v in new_labels.items()},
        ignore_mismatched_sizes=True,
    )
    assert loaded.classifier.weight.shape == (7, 256) and loaded.config.id2label[6] == "class_6"
    x = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded.tada_resnet(x).pooler_output, model.tada_resnet(x).pooler_output)
    assert loaded(x).logits.shape == (2, 7)


def test_missing_tada_weights_start_as_the_original_does(tiny_config_kwargs, tmp_path):
    """Loading a per-frame 2D checkpoint into a TAda model initialises only the route functions and temporal-pool
    BatchNorms, with the original's zeros: the loaded model computes exactly what the 2D checkpoint does."""
    plain = TadaResNetForVideoClassification(TadaResNetConfig(**tiny_config_kwargs, temporal_adaptive=False)).eval()
    plain.save_pretrained(tmp_path)
    tada = TadaResNetForVideoClassification.from_pretrained(tmp_path, temporal_adaptive=True)
    assert tada.config.temporal_adaptive
    block = tada.tada_resnet.encoder.stages[1].layers[0]
    assert torch.count_nonzero(block.tada.route.expand.weight) == 0
    assert torch.count_nonzero(block.tada.temporal_pool_normalization.weight) == 0
    assert block.tada.route.reduce.weight.std() > 0
    x = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(tada(x).logits, plain(x).logits, atol=1e-5)


def test_the_model_works_where_torchvision_is_missing():
    """The GPU machines may lack torchvision (and have no decoders or datasets): the model must not need them."""
    script = textwrap.dedent("""
        import sys
        for name in ("torchvision", "av", "decord", "datasets"):
            sys.modules[name] = None  # importing any of them now fails
        import torch, hf_video
        assert hf_video.TadaVideoProcessor is None
        config = hf_video.TadaResNetConfig(depth=18, num_labels=3, num_frames=2, image_size=32)
        print(tuple(hf_video.TadaResNetForVideoClassification(config)(torch.randn(1, 2, 3, 32, 32)).logits.shape))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "(1, 3)"
