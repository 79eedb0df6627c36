import pytest
from transformers import AutoConfig

from hf_video import TadaResNetConfig


def test_defaults_are_tada2d_r50_for_the_hmdb51_recipe():
    config = TadaResNetConfig()
    assert config.model_type == "tada_resnet"
    assert config.depth == 50 and config.depths == (3, 4, 6, 3) and config.layer_type == "bottleneck"
    assert config.stem_width == 64 and config.hidden_sizes == [256, 512, 1024, 2048]
    assert config.route_kernel_sizes == [3, 3] and config.route_reduction == 4
    assert config.temporal_pool_kernel_size == 3 and config.stem_kernel_size == 7
    assert config.batch_norm_eps == 1e-5 and config.batch_norm_momentum == 0.1
    assert config.classifier_dropout == 0.5 and config.temporal_adaptive is True
    assert (config.num_frames, config.image_size) == (16, 112)


@pytest.mark.parametrize("depth,blocks,widths", [
    (18, (2, 2, 2, 2), [64, 128, 256, 512]),
    (34, (3, 4, 6, 3), [64, 128, 256, 512]),
    (101, (3, 4, 23, 3), [256, 512, 1024, 2048]),
    (152, (3, 8, 36, 3), [256, 512, 1024, 2048]),
])
def test_depths(depth, blocks, widths):
    config = TadaResNetConfig(depth=depth)
    assert config.depths == blocks and config.hidden_sizes == widths


@pytest.mark.parametrize("kwargs,field,hint", [
    ({"depth": 42}, "depth", "18, 34, 50, 101, 152"),
    ({"route_reduction": 3}, "route_reduction", "divide"),
    ({"temporal_pool_kernel_size": 2}, "temporal_pool_kernel_size", "odd"),
    ({"route_kernel_sizes": [3, 4]}, "route_kernel_sizes", "odd"),
    ({"route_kernel_sizes": [3]}, "route_kernel_sizes", "two"),
    ({"stem_kernel_size": 6}, "stem_kernel_size", "odd"),
    ({"hidden_sizes": [256, 512, 1024]}, "hidden_sizes", "four"),
    ({"hidden_sizes": [254, 512, 1024, 2048]}, "hidden_sizes", "multiple of 4"),
    ({"batch_norm_eps": 0}, "batch_norm_eps", "positive"),
    ({"batch_norm_momentum": 1.5}, "batch_norm_momentum", "(0, 1]"),
    ({"classifier_dropout": 1.0}, "classifier_dropout", "[0, 1)"),
    ({"num_frames": 0}, "num_frames", "positive integer"),
    ({"temporal_adaptive": "yes"}, "temporal_adaptive", "True or False"),
])
def test_invalid_values_name_the_field_and_what_is_allowed(kwargs, field, hint):
    with pytest.raises(ValueError) as error:
        TadaResNetConfig(**kwargs)
    assert field in str(error.value) and hint in str(error.value)


def test_round_trip_and_auto_config(tmp_path):
    config = TadaResNetConfig(depth=18, num_labels=3, temporal_adaptive=False, num_frames=8, image_size=224)
    config.save_pretrained(tmp_path)
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, TadaResNetConfig)
    for field in ("depth", "hidden_sizes", "temporal_adaptive", "num_frames", "image_size", "id2label"):
        assert getattr(loaded, field) == getattr(config, field)
    assert loaded.layer_type == "basic" and loaded.num_labels == 3
    assert isinstance(AutoConfig.for_model("tada_resnet"), TadaResNetConfig)
