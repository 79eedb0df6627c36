"""Cards of the released checkpoints: kept in model_cards/, identical to what the converter writes, valid metadata."""

from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from hf_video.cards import released_checkpoint_card
from hf_video.models.released_checkpoints import RELEASED_CHECKPOINTS
from hf_video.models.tada_resnet.convert_tada_resnet_original_to_hf import convert_tada_resnet_checkpoint

CARDS = Path(__file__).resolve().parents[1] / "model_cards"


@pytest.mark.parametrize("name", sorted(RELEASED_CHECKPOINTS))
def test_released_cards_are_current_and_parse(name):
    text = (CARDS / f"{name}.md").read_text(encoding="utf-8")
    assert text == released_checkpoint_card(RELEASED_CHECKPOINTS[name]), (
        "model_cards/ is stale: python -m hf_video.cards model_cards")
    card = ModelCard(text)
    checkpoint = RELEASED_CHECKPOINTS[name]
    assert card.data.pipeline_tag == "video-classification" and card.data.library_name == "transformers"
    assert card.data.license == "apache-2.0" and card.data.datasets == [checkpoint.dataset_id]
    top1, *top5 = card.data.eval_results  # the authors publish no top-5 for TAdaConvNeXtV2 and TAdaFormer
    assert top1.metric_value == pytest.approx(float(checkpoint.top1.split("-")[0]) / 100)  # fractions
    assert [result.metric_value for result in top5] == ([] if checkpoint.top5 is None else
                                                        [pytest.approx(checkpoint.top5 / 100)])
    for section in ("## Results reported by the authors", "## Converting it from the original file",
                    "## Loading and predicting", "## Intended use and limits", "## Citation"):
        assert section in card.text
    assert f"--released {name}" in card.text and checkpoint.views in card.text
    # The PyPI package named hf-video is another project: the cards say which to install.
    assert "pip install tada-video" in card.text and "pip install hf_video" not in card.text
    assert "pip install hf-video" not in card.text


def test_converter_writes_the_released_card_and_checks_the_class_count(reference_dir, tmp_path):
    with pytest.raises(ValueError, match=r"tada2d-r50-k400-8x8 has 400 classes; .* has 5: is it the right file"):
        convert_tada_resnet_checkpoint(reference_dir / "tada_original" / "tada2d_public_tadaconv_format.pyth",
                                    tmp_path / "out", released="tada2d-r50-k400-8x8")
    assert not (tmp_path / "out").exists()
