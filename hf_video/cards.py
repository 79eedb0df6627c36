"""Every model card hf_video writes: the released checkpoints of the TAda families (TAda2D, TAdaConvNeXtV2,
TAdaFormer), any other converted original checkpoint, and models fine-tuned with
`examples/run_video_classification.py`.
Cards carry Hub metadata (`ModelCardData`): transformers' own card does not know the video-classification task (no
results, no pipeline_tag).

`python -m hf_video.cards model_cards/` rewrites the cards kept in `model_cards/` (a test checks that they match
what this module writes, so they cannot drift from the converter's).
"""

import sys
from pathlib import Path

from huggingface_hub import EvalResult, ModelCardData

from .models.model_families import TADA_RESNET, TADAFORMER, ModelFamily, family_of
from .models.released_checkpoints import RELEASED_CHECKPOINTS, SSV2_LABELS, ReleasedCheckpoint

CARD_TAGS = ["video-classification", "tadaconv", "hf_video", "custom_code"]


def _front_matter(model_name: str, family: ModelFamily, **metadata) -> str:
    """The card's YAML header: what every hf_video card declares, plus `metadata` (ModelCardData fields)."""
    card_data = ModelCardData(library_name="transformers", pipeline_tag="video-classification", license="apache-2.0",
                              tags=[*CARD_TAGS[:2], family.tag, *CARD_TAGS[2:]], model_name=model_name, **metadata)
    return f"---\n{card_data.to_yaml()}\n---\n"


def released_checkpoint_card(checkpoint: ReleasedCheckpoint) -> str:
    """The card of a released checkpoint converted with our converter."""
    family = checkpoint.family
    temporal, spatial = checkpoint.temporal_and_spatial_views
    # As fractions, as every accuracy hf_video reports (the authors' MODEL_ZOO gives percentages).
    top1_value = round(float(checkpoint.top1.split("-")[0]) / 100, 4)
    reported = [("top-1", top1_value)] + ([("top-5", round(checkpoint.top5 / 100, 4))]
                                          if checkpoint.top5 is not None else [])
    front_matter = _front_matter(
        checkpoint.name, family,
        datasets=[checkpoint.dataset_id],
        eval_results=[
            EvalResult(task_type="video-classification", dataset_type=checkpoint.dataset_id,
                       dataset_name=checkpoint.dataset, metric_type="accuracy", metric_value=value,
                       metric_name=f"{name} accuracy ({checkpoint.views} views, reported by the authors)")
            for name, value in reported
        ],
    )
    sampling = (f"{checkpoint.num_frames} frames, one every {checkpoint.sample_interval} (at 30 fps)"
                if checkpoint.sample_mode == "interval" else
                f"{checkpoint.num_frames} frames, one from each of {checkpoint.num_frames} equal segments")
    if family is TADA_RESNET:
        architecture = "TAda2D ResNet-50, temporally-adaptive 3x3 convolutions, 224 x 224 input."
    elif family is TADAFORMER:
        architecture = (f"{checkpoint.architecture}, CLIP's image encoder with a TAda block (temporally-adaptive "
                        "depthwise 3x3 convolution) in every layer, 224 x 224 input; initialised by the authors from "
                        "CLIP.")
    else:
        architecture = (f"{checkpoint.architecture}, temporally-adaptive depthwise 7x7 convolutions, 224 x 224 input; "
                        f"initialised by the authors from {checkpoint.pretraining}.")
    top5 = "" if checkpoint.top5 is None else f" {checkpoint.top5 / 100:.3f} |"
    return front_matter + f"""
# {checkpoint.name}

{checkpoint.architecture} ({family.paper}) trained on {checkpoint.dataset} by the original authors, converted to a
transformers model by hf_video from the checkpoint released in the TAdaConv repository
(alibaba-mmai-research/TAdaConv, MODEL_ZOO). The conversion is exact: converted models reproduce the original
implementation's outputs to 1e-5 (hf_video's tests check this on golden outputs of the original code).

- Architecture: {architecture}
- Clip: {sampling}.

## Results reported by the authors

| dataset | top-1 |{" top-5 |" if top5 else ""} evaluation views (temporal x spatial) |
|---|---|---|{"---|" if top5 else ""}
| {checkpoint.dataset} | {_fraction_text(checkpoint.top1)} |{top5} {checkpoint.views} |

These are the authors' figures, not measured by us. The video processor saved with the model takes a single centre
view; a processor with `temporal_crops={temporal}, spatial_crops={spatial}` gives the {checkpoint.views} views, and the
model then answers once per video with the mean of their softmax.

## Converting it from the original file

Download the checkpoint from the TAdaConv MODEL_ZOO (Google Drive or Baidu), then:

```bash
{checkpoint.convert_command()}
```

{"The SSv2 label names come from the dataset's official `something-something-v2-labels.json` (template -> id)."
 if checkpoint.label_option == SSV2_LABELS else
 "The label names are the 400 Kinetics classes in the standard alphabetical order."}

## Loading and predicting

{_usage(checkpoint.name)}
## Intended use and limits

Action recognition on short clips like those of {checkpoint.dataset}, and a starting point for fine-tuning on
other video datasets. Its labels are {checkpoint.dataset}'s classes and nothing else; accuracy falls on footage
unlike the training data (viewpoint, length, domain). The training data's biases carry over.

## Licence

Apache-2.0, the licence of the authors' code and checkpoints (alibaba-mmai-research/TAdaConv).

## Citation

```bibtex
{family.citation}
```
"""


def _usage(name: str) -> str:
    """How to run the model with nothing but transformers, torch, torchvision and av (its code ships with it)."""
    return f"""```python
# pip install transformers torch torchvision av
from transformers import AutoModelForVideoClassification, pipeline

classifier = pipeline("video-classification", model="{name}", trust_remote_code=True)
print(classifier("video.mp4"))
model = AutoModelForVideoClassification.from_pretrained("{name}", trust_remote_code=True)
```

The model, its video processor (decoding, sampling and cropping as the recipe evaluates) and the modules they use
ship in this repository as code, which `trust_remote_code=True` runs: read it first. With hf_video installed
(`pip install tada-video`; the `hf-video` name on PyPI is an unrelated project) and imported, `trust_remote_code` is
not needed.
"""


def converted_checkpoint_card(name: str, source_file: str, config, label_origin: str) -> str:
    """The card the converters write for an original checkpoint that is not one of the released ones."""
    family = family_of(config)
    return _front_matter(name, family) + f"""
# {name}

A {family.architecture(config)} ({family.paper}) converted to a transformers model by hf_video from the
original checkpoint `{source_file}`, exactly (every original tensor mapped, none left over).

- {config.num_labels} labels ({label_origin}); {config.num_frames} frames at {config.image_size} x
  {config.image_size}.
- The accuracy of this checkpoint is not known to the converter: evaluate it before relying on it.

{_usage(name)}
## Citation

```bibtex
{family.citation}
```
"""


def finetuned_model_card(model_name: str, config, dataset_name: str, dataset_id: str, base_model: str | None,
                         recipe: dict, results: dict | None, eval_split: str = "test") -> str:
    """The card of a model fine-tuned by `examples/run_video_classification.py`. `recipe`: settings to list
    (name -> value). `results`: the multi-view evaluation metrics on the `eval_split` split (video_accuracy,
    video_top5_accuracy, clip_accuracy, clip_top5_accuracy as fractions, num_videos, views), or None when the run did
    not evaluate. `dataset_id` names the dataset in the results' metadata; no Hub dataset is claimed."""
    eval_results = [] if results is None else [
        EvalResult(task_type="video-classification", dataset_type=dataset_id, dataset_name=dataset_name,
                   metric_type="accuracy", metric_value=round(results[key], 4),
                   metric_name=f"{label} ({results['views']} views)")
        for key, label in (("video_accuracy", "video-level top-1 accuracy"),
                           ("video_top5_accuracy", "video-level top-5 accuracy"))
    ]
    family = family_of(config)
    front_matter = _front_matter(model_name, family, base_model=base_model, eval_results=eval_results or None)
    recipe_lines = "\n".join(f"| {name} | {value} |" for name, value in recipe.items())
    return front_matter + f"""
# {model_name}

A {family.architecture(config)} ({family.paper}) fine-tuned on {dataset_name} with hf_video's
`examples/run_video_classification.py` (transformers Trainer){f", starting from `{base_model}`" if base_model else
", trained from scratch"}.

## Results on the {eval_split} split

{_results_text(results, eval_split)}

## Training recipe

| setting | value |
|---|---|
{recipe_lines}

## Use

{_usage(model_name)}
The pipeline prepares a video as the saved video processor says: one view, the centre crop of the centred clip. The
results above average several views per video; a processor saved with
`TadaVideoProcessor(temporal_crops=..., spatial_crops=...)` gives them, and the model then answers once per
video with the mean of the views' softmax.

Intended for action recognition on clips like {dataset_name}'s; its labels are that dataset's classes only, and
accuracy falls on footage unlike it.

## Framework versions

{_framework_versions()}

## Citation

```bibtex
{family.citation}
```
"""


def _results_text(results: dict | None, eval_split: str) -> str:
    if results is None:
        return "Not evaluated: the run was made without `--do_predict`."
    return f"""| metric | value |
|---|---|
| video-level top-1 accuracy | {results['video_accuracy']:.4f} |
| video-level top-5 accuracy | {results['video_top5_accuracy']:.4f} |
| clip-level top-1 accuracy | {results['clip_accuracy']:.4f} |
| clip-level top-5 accuracy | {results['clip_top5_accuracy']:.4f} |

{results['num_videos']} {eval_split} videos, {results['views']} views each (temporal x spatial), softmax averaged per
video."""


def _fraction_text(percent: str) -> str:
    """The authors' percentage (or range of them, "64.0-64.2") as a fraction: "0.640-0.642"."""
    return "-".join(f"{float(part) / 100:.3f}" for part in percent.split("-"))


def _framework_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    lines = []
    for package in ("tada-video", "transformers", "torch", "datasets", "accelerate"):
        try:
            lines.append(f"- {package} {version(package)}")
        except PackageNotFoundError:
            continue
    return "\n".join(lines)


def write_released_cards(folder) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for checkpoint in RELEASED_CHECKPOINTS.values():
        path = folder / f"{checkpoint.name}.md"
        path.write_text(released_checkpoint_card(checkpoint), encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_released_cards(sys.argv[1] if len(sys.argv) > 1 else "model_cards"):
        print(written)
