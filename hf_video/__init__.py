"""hf_video: video classification models for the HuggingFace stack.

Importing the package registers the TAda ResNet3D classes with transformers' Auto* factories, so that
`AutoConfig`, `AutoModel` and `AutoModelForVideoClassification` resolve `model_type="tada_resnet"`.
Data modules (`hf_video.data`) import their decoders lazily: the model works where no decoder is installed.
"""

from transformers import AutoConfig, AutoModel, AutoModelForVideoClassification
from transformers.utils import is_torchvision_available

from .models.tada_resnet import (
    TadaResNetConfig,
    TadaResNetForVideoClassification,
    TadaResNetModel,
    TadaResNetPreTrainedModel,
)
from .models.tada_resnet.convert_tada_resnet_original_to_hf import convert_original_checkpoint
from .models.tada_resnet.inflate_tada_resnet_from_2d import inflate_resnet_2d

__version__ = "0.1.0"

AutoConfig.register(TadaResNetConfig.model_type, TadaResNetConfig, exist_ok=True)
AutoModel.register(TadaResNetConfig, TadaResNetModel, exist_ok=True)
AutoModelForVideoClassification.register(TadaResNetConfig, TadaResNetForVideoClassification, exist_ok=True)

# transformers' video processors need torchvision; without it the model still works, the processor does not.
if is_torchvision_available():
    from transformers import AutoVideoProcessor

    from transformers import PreTrainedConfig

    from .clips.video_processing_tada import TadaResNetVideoProcessor, TadaVideoProcessor

    AutoVideoProcessor.register(TadaResNetConfig, TadaVideoProcessor, exist_ok=True)

    class _RenamedVideoProcessors(PreTrainedConfig):
        """No model's: AutoVideoProcessor finds a processor named in a saved folder (`video_processor_type`) among
        the registered ones, and one registry entry per configuration holds one class; this one holds the family
        processor's name before its rename, so that folders saved under it load without trust_remote_code."""

        model_type = "tada_renamed_video_processors"

    AutoVideoProcessor.register(_RenamedVideoProcessors, TadaResNetVideoProcessor, exist_ok=True)

    from .pipeline import install as _install_checked_pipeline

    _install_checked_pipeline()
else:
    TadaVideoProcessor = TadaResNetVideoProcessor = None

__all__ = [
    "TadaResNetConfig",
    "TadaResNetForVideoClassification",
    "TadaResNetModel",
    "TadaResNetPreTrainedModel",
    "TadaResNetVideoProcessor",
    "TadaVideoProcessor",
    "convert_original_checkpoint",
    "inflate_resnet_2d",
]
