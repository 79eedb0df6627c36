"""See what the model sees: a Gradio page for any model folder or Hub id (`pip install 'tada-video[demo]'`).

    python -m hf_video.demo --model outputs/tada_demo
    python -m hf_video.demo --model outputs/tada_demo --compare outputs/tada_demo_2d   # a second model beside it

Drop or record a video, or pick an example (the synthetic motion set's time-reversed twins: grow and shrink look
alike frame by frame). The page shows the top-5 classes, the frames the model saw (after the crop, with their
indices and times), and the top classes' scores along the video (windows as long as the model's clip) with the
model's own clip marked. Bad input (not a video, too long, a decode error) shows its message on the page.
`app.py` at the repository's root runs it as a Hugging Face Space.
"""

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .extras import require

EXAMPLE_MOTIONS = ("grow", "shrink", "move_right", "move_left")


@dataclass
class LoadedModel:
    name: str
    model: object
    settings: object  # ClipSettings of the model's video processor


def load(name: str, hub_kwargs: dict | None = None) -> LoadedModel:
    from .predict import load_model_and_settings

    model, settings = load_model_and_settings(name, hub_kwargs or {})
    return LoadedModel(name, model, settings)


def clip_span_seconds(settings) -> float:
    """How long a clip the model takes lasts, in seconds of the video (segment sampling: none; then 2 s windows)."""
    if settings.sample_mode == "segment":
        return 2.0
    return settings.num_frames * settings.sample_interval / settings.target_fps


def classify(loaded: LoadedModel, path: str, max_seconds: float) -> dict:
    """What the page shows for one model: top-5 {label: score} of the model's own clip (its views' mean softmax),
    the frames it saw with captions, the windows' rows along the video, the model's clip span, and the seconds it
    took."""
    import torch

    from .clips.clip_transform import VideoClipTransform
    from .clips.segments import frame_times
    from .clips.video_io import stream_info
    from .clips.views import eval_frame_indices
    from .predict import VideoWindows, predict_rows

    started = time.perf_counter()
    info = stream_info(path)
    duration = info.num_frames / info.fps
    if duration > max_seconds:
        raise ValueError(f"the video lasts {duration:.0f} s; this page takes videos up to {max_seconds:.0f} s.")
    settings = loaded.settings
    transform = VideoClipTransform(settings, train=False)
    views = transform.read_eval_views(path, info.num_frames, info.fps, info.packets)
    views = views if views.dim() == 5 else views.unsqueeze(0)
    with torch.inference_mode():
        probabilities = loaded.model(views).logits.float().softmax(-1).mean(0)
    scores, labels = probabilities.topk(min(5, probabilities.numel()))
    names = loaded.model.config.id2label
    top = {names[int(label)]: float(score) for score, label in zip(scores, labels)}
    indices = eval_frame_indices(settings, info.num_frames, info.fps)[:settings.num_frames]
    times = frame_times(info.packets, info.num_frames, info.fps, info.time_base)
    mean, std = torch.tensor(settings.mean).view(3, 1, 1), torch.tensor(settings.std).view(3, 1, 1)
    frames = [((frame * std + mean).clamp(0, 1) * 255).byte().permute(1, 2, 0).numpy() for frame in views[0]]
    gallery = [(frame, f"frame {index} · {times[index]:.2f} s") for frame, index in zip(frames, indices)]
    span = clip_span_seconds(settings)
    item = VideoWindows([(path, None, None, None)], settings, "pyav", span, span / 2, None)[0]
    if item["error"]:
        raise ValueError(item["error"])
    rows = predict_rows(loaded.model, item, 5, 8, torch.device("cpu"), None)
    clip = (times[indices[0]], times[indices[-1]] + 1 / info.fps)
    return {"top": top, "gallery": gallery, "rows": rows, "clip": clip,
            "seconds": time.perf_counter() - started}


def scores_plot(rows: list, clip: tuple, path: str) -> str:
    from .predict import plot_scores

    return plot_scores(rows, path, mark=clip)


def build_demo(models: list, examples: list | None = None, max_seconds: float = 60.0):
    """The Gradio page for `models` (one or two LoadedModel), with `examples` (video paths)."""
    require("demo", "gradio")
    import gradio as gr

    def run(video):
        if not video:
            return [gr.update(value="**Drop a video first.**")] + [None] * (3 * len(models))
        outputs, notes = [], []
        for loaded in models:
            try:
                result = classify(loaded, video, max_seconds)
            except Exception as error:  # the page names what went wrong and shows nothing stale
                return [gr.update(value=f"**{Path(video).name}: {error}**")] + [None] * (3 * len(models))
            with tempfile.NamedTemporaryFile(suffix=".png", delete=False) as file:
                plot = scores_plot(result["rows"], result["clip"], file.name)
            outputs += [result["top"], result["gallery"], plot]
            notes.append(f"{display_name(loaded.name)}: {result['seconds']:.2f} s")
        return [gr.update(value="Classified in " + "; ".join(notes) + ".")] + outputs

    with gr.Blocks(title="hf_video: see what the model sees") as demo:
        gr.Markdown("# See what the model sees\nDrop or record a video, or pick an example: the top classes, the "
                    "frames the model saw, and its scores along the video.")
        with gr.Row():
            video = gr.Video(label="Video", sources=["upload", "webcam"], elem_id="video-input")
            with gr.Column():
                button = gr.Button("Classify", variant="primary", elem_id="classify")
                status = gr.Markdown(elem_id="status")
        result_components = []
        with gr.Row():
            for index, loaded in enumerate(models):
                with gr.Column():
                    gr.Markdown(f"### {display_name(loaded.name)}")
                    result_components += [
                        gr.Label(num_top_classes=5, label="Top classes", elem_id=f"top-{index}"),
                        gr.Gallery(label="The frames it saw", columns=8, rows=1, height=200,
                                   elem_id=f"frames-{index}"),
                        gr.Image(label="Scores along the video", type="filepath", elem_id=f"scores-{index}"),
                    ]
        if examples:
            gr.Examples(examples=[[path] for path in examples], inputs=[video])
        button.click(run, inputs=[video], outputs=[status, *result_components])
        video.change(lambda _: [None] * (3 * len(models)), inputs=[video], outputs=result_components)
    return demo


def display_name(name: str) -> str:
    """A Hub id as it is; a local folder by its own name."""
    return Path(name).name if os.path.isdir(name) else name


def example_videos(folder) -> list:
    """The synthetic motion set's twins, written once into `folder` as WebM (browsers play it; MPEG-4 AVI they do
    not)."""
    from .data.synthetic import write_motion_video

    # Twins share a seed: shrink is grow played backwards, move_left is move_right.
    return [str(path) if path.exists() else str(write_motion_video(path, motion, seed=index // 2,
                                                                   video_format="vp9_webm"))
            for index, motion in enumerate(EXAMPLE_MOTIONS) for path in [Path(folder) / f"{motion}.webm"]]


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m hf_video.demo", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=os.environ.get("HF_VIDEO_MODEL"), help="a model folder or Hub id "
                        "(default: $HF_VIDEO_MODEL)")
    parser.add_argument("--compare", help="a second model folder or Hub id, shown beside the first")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve other machines")
    parser.add_argument("--max_seconds", type=float, default=60.0, help="the longest video the page takes")
    parser.add_argument("--no_examples", action="store_true", help="leave the example videos out")
    parser.add_argument("--trust_remote_code", action="store_true")
    arguments = parser.parse_args(argv)
    if not arguments.model:
        parser.error("give --model (a model folder or Hub id), or set HF_VIDEO_MODEL")
    return arguments


def main(argv=None):
    arguments = parse_arguments(argv)
    hub_kwargs = {"trust_remote_code": arguments.trust_remote_code}
    models = [load(name, hub_kwargs) for name in (arguments.model, arguments.compare) if name]
    examples = None if arguments.no_examples else example_videos(Path(tempfile.gettempdir()) / "hf_video_examples")
    build_demo(models, examples, arguments.max_seconds).launch(server_name=arguments.host,
                                                               server_port=arguments.port)


if __name__ == "__main__":
    main()
