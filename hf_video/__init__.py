"""hf_video: video classification models for the HuggingFace stack.

Importing the package registers the TAda ResNet3D classes with transformers' Auto* factories, so that
`AutoConfig`, `AutoModel` and `AutoModelForVideoClassification` resolve `model_type="tada_resnet"`.
Data modules (`hf_video.data`) import their decoders lazily: the model works where no decoder is installed.
"""

from transformers import AutoConfig, AutoModel, AutoModelForVideoClassification

from .models.tada_resnet import (
    TadaResNetConfig,
    TadaResNetForVideoClassification,
    TadaResNetModel,
    TadaResNetPreTrainedModel,
)

__version__ = "0.1.0"

AutoConfig.register(TadaResNetConfig.model_type, TadaResNetConfig, exist_ok=True)
AutoModel.register(TadaResNetConfig, TadaResNetModel, exist_ok=True)
AutoModelForVideoClassification.register(TadaResNetConfig, TadaResNetForVideoClassification, exist_ok=True)

__all__ = [
    "TadaResNetConfig",
    "TadaResNetForVideoClassification",
    "TadaResNetModel",
    "TadaResNetPreTrainedModel",
]
