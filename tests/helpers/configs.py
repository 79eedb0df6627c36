"""The small TAda configuration the tests build models from."""

# Depth 50 with narrow widths: the architecture of the original implementation's golden outputs, quick on CPU.
TINY_ARCHITECTURE = dict(depth=50, stem_width=8, hidden_sizes=[32, 64, 128, 256])


def tiny_config_kwargs(**overrides) -> dict:
    """TadaResNetConfig arguments of the tiny model (5 labels, 4 frames of 32x32), with `overrides`."""
    return {**TINY_ARCHITECTURE, "num_labels": 5, "num_frames": 4, "image_size": 32, **overrides}
