"""The model card of a fine-tuned model: dataset, recipe, results, with Hub metadata (transformers' own card does
not know the video-classification task: no results, no pipeline_tag)."""

from huggingface_hub import EvalResult, ModelCardData

from ..models.tada_resnet.checkpoint_cards import CARD_TAGS, CITATION


def finetuned_model_card(model_name: str, dataset_name: str, dataset_id: str, base_model: str | None,
                         recipe: dict, results: dict) -> str:
    """Markdown with YAML metadata. `recipe`: settings to list (name -> value). `results`: the multi-view test
    metrics (video_top1, video_top5, clip_top1, clip_top5, num_videos, views)."""
    card_data = ModelCardData(
        library_name="transformers",
        pipeline_tag="video-classification",
        license="apache-2.0",
        datasets=[dataset_id],
        base_model=base_model,
        tags=CARD_TAGS,
        model_name=model_name,
        eval_results=[
            EvalResult(task_type="video-classification", dataset_type=dataset_id, dataset_name=dataset_name,
                       metric_type="accuracy", metric_value=round(100 * results[key], 2),
                       metric_name=f"{label} ({results['views']} views)")
            for key, label in (("video_top1", "video-level top-1"), ("video_top5", "video-level top-5"))
        ],
    )
    recipe_lines = "\n".join(f"| {name} | {value} |" for name, value in recipe.items())
    return f"""---
{card_data.to_yaml()}
---

# {model_name}

A TAda ResNet3D (TAda2D, TAdaConv, ICLR 2022) fine-tuned on {dataset_name} with hf_video's
`examples/finetune_hmdb51.py` (transformers Trainer){f", starting from `{base_model}`" if base_model else
", trained from scratch"}.

## Results on the test split

| metric | value |
|---|---|
| video-level top-1 | {100 * results['video_top1']:.2f} |
| video-level top-5 | {100 * results['video_top5']:.2f} |
| clip-level top-1 | {100 * results['clip_top1']:.2f} |
| clip-level top-5 | {100 * results['clip_top5']:.2f} |

{results['num_videos']} test videos, {results['views']} views each (temporal x spatial), softmax averaged per video.

## Training recipe

| setting | value |
|---|---|
{recipe_lines}

## Use

```python
import hf_video  # registers the model and its video processor
from transformers import pipeline

print(pipeline("video-classification", model="{model_name}")("video.mp4"))
```

Intended for action recognition on clips like {dataset_name}'s; its labels are that dataset's classes only, and
accuracy falls on footage unlike it.

## Citation

```bibtex
{CITATION}
```
"""
