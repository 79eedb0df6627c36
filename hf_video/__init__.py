"""hf_video: video classification models for the HuggingFace stack.

Importing the package registers the TAda ResNet3D, TAdaConvNeXtV2 and TAdaFormer classes with transformers' Auto*
factories, so that `AutoConfig`, `AutoModel` and `AutoModelForVideoClassification` resolve `model_type="tada_resnet"`,
`"tada_convnext_v2"` and `"tadaformer"`.
Data modules (`hf_video.data`) import their decoders lazily: the model works where no decoder is installed.
"""

from transformers import AutoConfig, AutoModel, AutoModelForVideoClassification
from transformers.utils import is_torchvision_available

from .models.tada_convnext_v2 import (
    TadaConvNextV2Config,
    TadaConvNextV2ForVideoClassification,
    TadaConvNextV2Model,
    TadaConvNextV2PreTrainedModel,
)
from .models.tada_resnet import (
    TadaResNetConfig,
    TadaResNetForVideoClassification,
    TadaResNetModel,
    TadaResNetPreTrainedModel,
)
from .models.tadaformer import (
    TadaFormerConfig,
    TadaFormerForVideoClassification,
    TadaFormerModel,
    TadaFormerPreTrainedModel,
)

__version__ = "0.1.0"

# The converters and inflations, imported when first used: `import hf_video` registers the models and their
# processor, nothing heavier (no checkpoint readers, YAML configurations or model cards).
_LAZY = {
    "convert_original_checkpoint": ".models.tada_resnet.convert_tada_resnet_original_to_hf",
    "convert_tada_resnet_checkpoint": ".models.tada_resnet.convert_tada_resnet_original_to_hf",
    "convert_tada_convnext_v2_checkpoint": ".models.tada_convnext_v2.convert_tada_convnext_v2_original_to_hf",
    "convert_tadaformer_checkpoint": ".models.tadaformer.convert_tadaformer_original_to_hf",
    "inflate_resnet_2d": ".models.tada_resnet.inflate_tada_resnet_from_2d",
    "inflate_convnext_2d": ".models.tada_convnext_v2.inflate_tada_convnext_v2_from_2d",
}


def __getattr__(name):
    if name == "inflate_clip":  # CLIP's image encoder into TAdaFormer: the classifier's own constructor
        return TadaFormerForVideoClassification.from_clip
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


for _config, _model, _classifier in (
        (TadaResNetConfig, TadaResNetModel, TadaResNetForVideoClassification),
        (TadaConvNextV2Config, TadaConvNextV2Model, TadaConvNextV2ForVideoClassification),
        (TadaFormerConfig, TadaFormerModel, TadaFormerForVideoClassification)):
    AutoConfig.register(_config.model_type, _config, exist_ok=True)
    AutoModel.register(_config, _model, exist_ok=True)
    AutoModelForVideoClassification.register(_config, _classifier, exist_ok=True)

# transformers' video processors need torchvision; without it the model still works, the processor does not.
if is_torchvision_available():
    from transformers import AutoVideoProcessor

    from .clips.video_processing_tada import TadaResNetVideoProcessor, TadaVideoProcessor

    # AutoVideoProcessor finds the class a saved folder names (`video_processor_type`) among the registered ones, one
    # per configuration: the ResNet family's entry is the processor under its name before the family grew (the same
    # class, a subclass without anything of its own), so that folders saved under either name load.
    AutoVideoProcessor.register(TadaResNetConfig, TadaResNetVideoProcessor, exist_ok=True)
    AutoVideoProcessor.register(TadaConvNextV2Config, TadaVideoProcessor, exist_ok=True)
    AutoVideoProcessor.register(TadaFormerConfig, TadaVideoProcessor, exist_ok=True)

    # transformers' video-classification pipeline, with its `top_k` and empty inputs checked (hf_video/pipeline.py
    # says why upstream's class is not left as it is).
    from .pipeline import install as _install_checked_pipeline

    _install_checked_pipeline()
else:
    TadaVideoProcessor = TadaResNetVideoProcessor = None

__all__ = [
    "TadaConvNextV2Config",
    "TadaConvNextV2ForVideoClassification",
    "TadaConvNextV2Model",
    "TadaConvNextV2PreTrainedModel",
    "TadaFormerConfig",
    "TadaFormerForVideoClassification",
    "TadaFormerModel",
    "TadaFormerPreTrainedModel",
    "TadaResNetConfig",
    "TadaResNetForVideoClassification",
    "TadaResNetModel",
    "TadaResNetPreTrainedModel",
    "TadaResNetVideoProcessor",
    "TadaVideoProcessor",
    "convert_original_checkpoint",
    "convert_tada_resnet_checkpoint",
    "convert_tada_convnext_v2_checkpoint",
    "convert_tadaformer_checkpoint",
    "inflate_clip",
    "inflate_convnext_2d",
    "inflate_resnet_2d",
]
