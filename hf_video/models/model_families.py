"""The TAda model families, decided once and carried as values: each knows its model_type, name, paper, citation,
card tag, converter module, and how to describe a configuration of it in one line.

    family_of(model.config).architecture(model.config)   # "TAda2D ResNet-50 (stage widths [256, 512, 1024, 2048])"
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelFamily:
    """What a card says of a model family: its name, paper, citation and converter, decided once per family."""

    model_type: str  # the configuration's model_type
    name: str
    paper: str
    converter: str  # the module that converts the authors' checkpoints
    citation: str
    tag: str
    describe: Callable  # config -> a one-line description of the architecture

    def architecture(self, config) -> str:
        return self.describe(config)


TADA_RESNET = ModelFamily(
    model_type="tada_resnet", name="TAda ResNet3D (TAda2D)", paper="TAdaConv, ICLR 2022",
    converter="hf_video.models.tada_resnet.convert_tada_resnet_original_to_hf", tag="tada2d",
    describe=lambda config: f"TAda2D ResNet-{config.depth} (stage widths {list(config.hidden_sizes)})",
    citation="""\
@inproceedings{huang2022tada,
  title={{TAda}! Temporally-Adaptive Convolutions for Video Understanding},
  author={Huang, Ziyuan and Zhang, Shiwei and Pan, Liang and Qing, Zhiwu and Tang, Mingqian and Liu, Ziwei and
          Ang Jr, Marcelo H},
  booktitle={International Conference on Learning Representations (ICLR)},
  year={2022}
}""")
TADA_CONVNEXT_V2 = ModelFamily(
    model_type="tada_convnext_v2", name="TAdaConvNeXtV2",
    paper="TAdaConvV2, \"Temporally-Adaptive Models for Efficient Video Understanding\"",
    converter="hf_video.models.tada_convnext_v2.convert_tada_convnext_v2_original_to_hf", tag="tadaconvnextv2",
    describe=lambda config: f"TAdaConvNeXtV2 (depths {list(config.depths)}, widths {list(config.hidden_sizes)})",
    citation="""\
@article{huang2023tadaconvv2,
  title={Temporally-Adaptive Models for Efficient Video Understanding},
  author={Huang, Ziyuan and Zhang, Shiwei and Pan, Liang and Qing, Zhiwu and Zhang, Yingya and Liu, Ziwei and
          Ang Jr, Marcelo H},
  journal={arXiv preprint arXiv:2308.05787},
  year={2023}
}""")
TADAFORMER = ModelFamily(
    model_type="tadaformer", name="TAdaFormer", paper=TADA_CONVNEXT_V2.paper,
    converter="hf_video.models.tadaformer.convert_tadaformer_original_to_hf", tag="tadaformer",
    describe=lambda config: (f"TAdaFormer ({config.num_hidden_layers} layers of width {config.hidden_size}, patch "
                             f"{config.patch_size}, tubelet {config.tubelet_size}"
                             f"{', temporally enhanced' if config.temporal_enhance else ''}"
                             f"{', two TAda blocks per layer' if config.double_tada else ''})"),
    citation=TADA_CONVNEXT_V2.citation)
MODEL_FAMILIES = {family.model_type: family for family in (TADA_RESNET, TADA_CONVNEXT_V2, TADAFORMER)}


def family_of(config) -> ModelFamily:
    return MODEL_FAMILIES[config.model_type]
