"""Classify a generated clip with TAda ResNet3D and print the top-k labels.

The save / load / predict path in seconds. With no `--model_name_or_path` it builds a
*fresh, untrained* TAda ResNet-50 with the 51 HMDB51 labels, saves it with `save_pretrained`, reloads it through
`AutoModelForVideoClassification`, and classifies a synthetic clip (a bright disc crossing a grey background):
the whole save / load / predict path runs, but an untrained model's labels and scores mean nothing.
"""

import argparse

import numpy as np
import torch
from transformers import AutoModelForVideoClassification

from hf_video import TadaResNetConfig, TadaResNetForVideoClassification
from hf_video.clips import RECIPE
from hf_video.data import HMDB51_CLASSES


def moving_disc_clip(num_frames: int, size: int) -> np.ndarray:
    """A uint8 (T, H, W, C) clip: a bright disc moving left to right on a grey background."""
    ys, xs = np.mgrid[0:size, 0:size]
    frames = np.full((num_frames, size, size, 3), 96, dtype=np.uint8)
    radius = size / 8
    for t in range(num_frames):
        centre_x = radius + (size - 2 * radius) * t / max(num_frames - 1, 1)
        inside = (xs - centre_x) ** 2 + (ys - size / 2) ** 2 <= radius**2
        frames[t][inside] = (230, 200, 60)
    return frames


def to_pixel_values(frames: np.ndarray) -> torch.Tensor:
    """uint8 (T, H, W, C) -> normalised float (1, T, C, H, W), the layout transformers video models take."""
    clip = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255)
    mean, std = torch.tensor(RECIPE.mean).view(-1, 1, 1), torch.tensor(RECIPE.std).view(-1, 1, 1)
    return ((clip - mean) / std).unsqueeze(0)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_name_or_path", default=None,
                        help="a saved model folder or Hub id; default: a fresh, untrained TAda R50 (HMDB51 labels)")
    parser.add_argument("--depth", type=int, default=50, help="depth of the fresh model (18, 34, 50, 101, 152)")
    parser.add_argument("--num_frames", type=int, default=None, help="clip length (default: the model's)")
    parser.add_argument("--image_size", type=int, default=None, help="frame side (default: the model's)")
    parser.add_argument("--top_k", type=int, default=5)
    parser.add_argument("--output_dir", default="outputs/tada_resnet_fresh",
                        help="where the fresh model is saved before it is reloaded")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    source = args.model_name_or_path
    if source is None:
        config = TadaResNetConfig(depth=args.depth, id2label=dict(enumerate(HMDB51_CLASSES)))
        TadaResNetForVideoClassification(config).save_pretrained(args.output_dir)
        print(f"Saved a fresh (untrained) TAda ResNet-{args.depth} to {args.output_dir}")
        source = args.output_dir
    model = AutoModelForVideoClassification.from_pretrained(source)
    num_frames = args.num_frames or model.config.num_frames
    image_size = args.image_size or model.config.image_size

    pixel_values = to_pixel_values(moving_disc_clip(num_frames, image_size))
    with torch.no_grad():
        probabilities = model(pixel_values).logits.softmax(dim=-1)[0]
    top = probabilities.topk(min(args.top_k, probabilities.numel()))
    print(f"Top-{len(top.indices)} for a generated {num_frames}x{image_size}x{image_size} clip "
          f"({type(model).__name__} from {source}):")
    for score, index in zip(top.values.tolist(), top.indices.tolist()):
        print(f"  {model.config.id2label[index]:<16} {score:.4f}")


if __name__ == "__main__":
    main()
