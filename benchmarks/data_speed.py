"""Data speed: clips per second of one loader process, for hf_video's transforms and for the decoding they rest on.

    python benchmarks/data_speed.py                  # 48 HMDB51-like videos, both backends, 5 repetitions

On HMDB51-like videos (`hmdb51_like.py`: 320x240 MPEG-4 AVI with B-frames, 30 fps, frame counts drawn from the
real HMDB51 list), one clip per video per repetition, the same clips for every candidate, interleaved:

- `train_transform/<backend>`: `VideoClipTransform(train=True)` as a DataLoader worker runs it on a prepared row
  (with the packet list the builder stores) - index sampling (16 frames, interval 4), decoding, random resized crop
  to 112^2, flip, normalisation;
- `train_loader_side/<backend>`: the loader's half with `augment_on_device=True` - the same decoding, the random
  box cut out of the uint8 frames (resize, normalisation and flip then run on the training device);
- `straightforward_loader/pyav`: what a plain loader that returns the right frames does - PyAV decoding every frame
  from the start up to the last wanted one, then `torchvision.transforms.v2` random resized crop, flip and
  normalisation on the float clip;
- `bare_decode/<backend>`: decoding the same frame indices and nothing else, given the frame timestamps for free,
  with the backend's own API - issue 14's yardstick. PyAV: seek to the keyframe before the first frame, decode to
  the last without decoding unwanted B-frames (nothing refers to them), convert the wanted frames with
  `to_ndarray(format="rgb24")`; decord: decode forward from the first frame, converting the wanted ones, because its
  seeks are wrong on such files;
- `bare_decode_kept_converter/pyav`: the same with one colour converter kept for every frame, on one thread, as
  hf_video's reader converts (`to_ndarray` builds a converter per frame, which starts a thread per core): the
  fastest correct decode we know, the floor for the loader;
- `bare_decode_all_frames/pyav`: `bare_decode/pyav` without skipping B-frames (every frame from the keyframe on);
- `decord_baseline`: decord as mmaction2 uses it, open a `VideoReader` and `get_batch(indices)`; its frames are
  compared with the correct ones, and the share of clips that come back wrong is reported;
- `eval_transform/<backend>`: `VideoClipTransform(train=False)` with the multi-view test views (one row per video).

Torch runs one thread, as in a DataLoader worker.
"""

import random
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from benchmark_common import (  # noqa: E402
    argument_parser, paired_ratio, print_table, run_interleaved, summarize, verdict, write_json)
from hmdb51_like import hmdb51_like_videos  # noqa: E402

from hf_video.clips.clip_settings import ClipSettings  # noqa: E402
from hf_video.clips.clip_transform import VideoClipTransform  # noqa: E402
from hf_video.clips.sampling import clip_indices  # noqa: E402
from hf_video.clips.video_io import VIDEO_BACKENDS, probe_video, read_frames  # noqa: E402

TARGET_OVER_BARE_DECODE = 0.85  # training transform / bare decode of the fastest backend, at least
TARGET_LOADER_SIDE_OVER_BARE_DECODE = 0.95  # loader half of the device-side augmentation / bare decode, at least
TARGET_OVER_STRAIGHTFORWARD = 1.7  # training transform / straightforward loader, at least
TARGET_OVER_DECORD_BASELINE = 2.0  # training transform / mmaction2-style decord, at least


def parse_arguments(argv=None):
    parser = argument_parser(__doc__)
    parser.add_argument("--work_dir", default="benchmarks/work", help="where the generated videos are kept")
    parser.add_argument("--num_videos", type=int, default=48)
    parser.add_argument("--gop_size", type=int, default=12, help="keyframe interval of the generated videos")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--backends", default=",".join(VIDEO_BACKENDS))
    parser.add_argument("--num_frames", type=int, default=16)
    parser.add_argument("--sample_interval", type=int, default=4)
    parser.add_argument("--image_size", type=int, default=112)
    parser.add_argument("--eval_temporal_crops", type=int, default=1)
    parser.add_argument("--eval_spatial_crops", type=int, default=3)
    parser.add_argument("--profile", action="store_true",
                        help="also profile one pass of train_transform/pyav and list where a clip's time goes")
    parser.add_argument("--output", default="benchmarks/results/data_speed.json")
    return parser.parse_args(argv)


def stream_timestamps(videos) -> dict:
    """path -> (frame timestamps in display order, B-frame reorder delay), read outside the timed loops so that
    the bare decodes get them for free."""
    import av

    found = {}
    for video in videos:
        with av.open(video["video"]) as container:
            packets = [(packet.pts, packet.dts) for packet in container.demux(video=0)
                       if packet.pts is not None and packet.size]
        # The generated files' timestamps are in display order (PyAV writes them): sorting them is the bare way.
        reorder_delay = max((pts - dts for pts, dts in packets if dts is not None), default=0)
        found[video["video"]] = sorted(pts for pts, _ in packets), max(reorder_delay, 0)
    return found


def bare_decode_pyav(path: str, indices: list, timestamps: tuple, skip_unwanted_b_frames: bool,
                     converter=None) -> list:
    """Seek to the keyframe before the first frame, decode to the last, convert the wanted frames to RGB; with
    `skip_unwanted_b_frames`, frames that nothing refers to are not decoded unless wanted (what hf_video does).
    `converter`: a `VideoReformatter` to convert with, on one thread; None: `to_ndarray(format="rgb24")`."""
    import av

    def rgb(frame):
        if converter is None:
            return frame.to_ndarray(format="rgb24")
        return converter.reformat(frame, format="rgb24", threads=1).to_ndarray()

    pts, reorder_delay = timestamps
    wanted = {pts[index] for index in indices}
    first, last = min(wanted), max(wanted)
    frames = []
    with av.open(path) as container:
        stream = container.streams.video[0]
        codec = stream.codec_context
        container.seek(max(first - reorder_delay, pts[0]), stream=stream, backward=True, any_frame=False)
        for packet in container.demux(stream):
            if skip_unwanted_b_frames:
                codec.skip_frame = "DEFAULT" if packet.pts is None or packet.pts in wanted else "NONREF"
            for frame in codec.decode(packet):
                if frame.pts in wanted:
                    frames.append(rgb(frame))
                if frame.pts is not None and frame.pts >= last:
                    return frames
    return frames


def straightforward_loader(path: str, indices: list, augment) -> torch.Tensor:
    """Decode every frame from the start to the last wanted one, keep the wanted ones, then augment the float clip
    with torchvision (`augment`: a `transforms.v2` pipeline)."""
    import av

    wanted, frames = set(indices), {}
    with av.open(path) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                frames[index] = frame.to_ndarray(format="rgb24")
            if index >= max(indices):
                break
    clip = torch.from_numpy(np.stack([frames[index] for index in indices])).permute(0, 3, 1, 2)
    return augment(clip.float().div_(255))


def straightforward_augmentation(settings: ClipSettings):
    from torchvision.transforms import v2

    return v2.Compose([
        v2.RandomResizedCrop(settings.image_size, scale=settings.crop_scale, ratio=settings.crop_ratio,
                             antialias=settings.antialias),
        v2.RandomHorizontalFlip(settings.flip_probability),
        v2.Normalize(settings.mean, settings.std),
    ])


def bare_decode_decord(path: str, indices: list) -> list:
    import decord

    reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1)
    wanted, frames = set(indices), []
    for index in range(max(indices) + 1):
        frame = reader.next()
        if index in wanted:
            frames.append(frame.asnumpy())
    return frames


def decord_baseline(path: str, indices: list) -> np.ndarray:
    import decord

    return decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1).get_batch(indices).asnumpy()


def wrong_baseline_clips(videos, indices) -> int:
    """Clips where mmaction2-style decord returns other pixels than the frames at those indices (PyAV, no seek)."""
    wrong = 0
    for video, clip in zip(videos, indices):
        expected = read_frames(video["video"], clip, "pyav").numpy().astype(np.int16)
        got = decord_baseline(video["video"], clip).astype(np.int16)
        wrong += int(np.abs(expected - got).mean(axis=(1, 2, 3)).max() > 2)
    return wrong


def profile_pass(run, num_clips: int, top: int = 12) -> list:
    """[(function, self milliseconds per clip)] of one profiled pass, the `top` costliest and the rest summed."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(run)
    stats = pstats.Stats(profiler).stats
    self_ms = sorted(((pstats.func_std_string(function), numbers[2] * 1000 / num_clips)
                      for function, numbers in stats.items()), key=lambda item: -item[1])
    return self_ms[:top] + [("(everything else)", sum(ms for _, ms in self_ms[top:]))]


def main(argv=None):
    args = parse_arguments(argv)
    torch.set_num_threads(1)
    backends = args.backends.split(",")
    videos = hmdb51_like_videos(args.work_dir, args.num_videos, gop_size=args.gop_size)
    train_settings = ClipSettings(num_frames=args.num_frames, sample_interval=args.sample_interval,
                                  image_size=args.image_size)
    eval_settings = ClipSettings(num_frames=args.num_frames, sample_interval=args.sample_interval,
                                 image_size=args.image_size, temporal_crops=args.eval_temporal_crops,
                                 spatial_crops=args.eval_spatial_crops)
    # The clip of video i is drawn with seed i, by the transform and here alike: every candidate decodes the same.
    indices = []
    for seed, video in enumerate(videos):
        random.seed(seed)
        indices.append(clip_indices(train_settings, video["num_frames"], video["fps"]))
    timestamps = stream_timestamps(videos)
    packets = {video["video"]: probe_video(video["video"]).packets for video in videos}  # as the builder stores them

    def over_videos(read_one):
        def run():
            for seed, (video, clip) in enumerate(zip(videos, indices)):
                random.seed(seed)
                read_one(video, clip)
        return run

    candidates = {}
    for backend in backends:
        train = VideoClipTransform(train_settings, train=True, video_backend=backend)
        evaluate = VideoClipTransform(eval_settings, train=False, video_backend=backend)
        loader_side = VideoClipTransform(train_settings, train=True, video_backend=backend, augment_on_device=True)
        candidates[f"train_transform/{backend}"] = over_videos(
            lambda video, clip, train=train: train.read_train_clip(video["video"], video["num_frames"], video["fps"],
                                                                   packets=packets[video["video"]]))
        candidates[f"train_loader_side/{backend}"] = over_videos(
            lambda video, clip, loader_side=loader_side: loader_side.read_train_crop(
                video["video"], video["num_frames"], video["fps"], packets=packets[video["video"]]))
        if backend == "pyav":
            augment = straightforward_augmentation(train_settings)
            candidates["straightforward_loader/pyav"] = over_videos(
                lambda video, clip: straightforward_loader(video["video"], clip, augment))
            candidates["bare_decode/pyav"] = over_videos(
                lambda video, clip: bare_decode_pyav(video["video"], clip, timestamps[video["video"]], True))
            from av.video.reformatter import VideoReformatter

            converter = VideoReformatter()
            candidates["bare_decode_kept_converter/pyav"] = over_videos(
                lambda video, clip: bare_decode_pyav(video["video"], clip, timestamps[video["video"]], True,
                                                     converter))
            candidates["bare_decode_all_frames/pyav"] = over_videos(
                lambda video, clip: bare_decode_pyav(video["video"], clip, timestamps[video["video"]], False))
        else:
            candidates[f"bare_decode/{backend}"] = over_videos(
                lambda video, clip: bare_decode_decord(video["video"], clip))
        candidates[f"eval_transform/{backend}"] = over_videos(
            lambda video, clip, evaluate=evaluate: evaluate.read_eval_views(video["video"], video["num_frames"],
                                                                            video["fps"], packets[video["video"]]))
    if "decord" in backends:
        candidates["decord_baseline"] = over_videos(lambda video, clip: decord_baseline(video["video"], clip))

    seconds = run_interleaved(candidates, args.repetitions, warmup=1)
    results = {"settings": vars(args), "videos": len(videos), "frames_per_video": [v["num_frames"] for v in videos],
               "timings": {}}
    rows = []
    for name, samples in seconds.items():
        summary = summarize(samples)
        summary["clips_per_second"] = len(videos) / summary["median"]
        results["timings"][name] = summary
        rows.append([name, f"{summary['clips_per_second']:.1f}", f"{len(videos) / summary['max']:.1f}",
                     f"{len(videos) / summary['min']:.1f}"])
    if "decord" in backends:
        results["decord_baseline_wrong_clips"] = wrong_baseline_clips(videos, indices)

    def rate(name):
        return results["timings"][name]["clips_per_second"]

    def speed_ratio(faster, slower):  # clips/s ratio, repetition by repetition: time(slower) / time(faster)
        return paired_ratio(seconds[slower], seconds[faster])

    fastest = max(backends, key=lambda backend: rate(f"train_transform/{backend}"))
    fastest_bare = max((f"bare_decode/{backend}" for backend in backends), key=rate)
    results["ratios"] = {f"train_transform/{backend} / bare_decode/{backend}": speed_ratio(
        f"train_transform/{backend}", f"bare_decode/{backend}") for backend in backends}
    results["ratios"].setdefault(f"train_transform/{fastest} / {fastest_bare}", speed_ratio(
        f"train_transform/{fastest}", fastest_bare))
    target_entry = results["ratios"][f"train_transform/{fastest} / {fastest_bare}"]
    target_entry["verdict"] = verdict(target_entry["value"], TARGET_OVER_BARE_DECODE, False)
    for backend in backends:
        entry = results["ratios"][f"train_loader_side/{backend} / bare_decode/{backend}"] = speed_ratio(
            f"train_loader_side/{backend}", f"bare_decode/{backend}")
        entry["verdict"] = verdict(entry["value"], TARGET_LOADER_SIDE_OVER_BARE_DECODE, False)
    if "pyav" in backends:
        entry = results["ratios"]["train_transform/pyav / straightforward_loader/pyav"] = speed_ratio(
            "train_transform/pyav", "straightforward_loader/pyav")
        entry["verdict"] = verdict(entry["value"], TARGET_OVER_STRAIGHTFORWARD, False)
    if "pyav" in backends:
        results["ratios"]["train_transform/pyav / bare_decode_all_frames/pyav"] = speed_ratio(
            "train_transform/pyav", "bare_decode_all_frames/pyav")
        for half in ("train_transform", "train_loader_side"):  # against the floor: what the float work costs
            results["ratios"][f"{half}/pyav / bare_decode_kept_converter/pyav"] = speed_ratio(
                f"{half}/pyav", "bare_decode_kept_converter/pyav")
    if "decord" in backends:
        entry = speed_ratio(f"train_transform/{fastest}", "decord_baseline")
        entry["verdict"] = verdict(entry["value"], TARGET_OVER_DECORD_BASELINE, False)
        results["ratios"][f"train_transform/{fastest} / decord_baseline"] = entry
        results["ratios"][f"{fastest_bare} / decord_baseline"] = speed_ratio(fastest_bare, "decord_baseline")
    if args.profile and "pyav" in backends:
        results["profile_ms_per_clip"] = profile_pass(candidates["train_transform/pyav"], len(videos))

    frames = results["frames_per_video"]
    print(f"{len(videos)} HMDB51-like videos (320x240, {min(frames)}-{max(frames)} frames, median "
          f"{int(np.median(frames))}), clips of {args.num_frames} x interval {args.sample_interval} at "
          f"{args.image_size}^2; eval views {args.eval_temporal_crops} x {args.eval_spatial_crops}; "
          f"{args.repetitions} interleaved repetitions, 1 thread\n")
    print_table(["candidate", "clips/s (median)", "slowest rep", "fastest rep"], rows)
    print()
    print_table(["speed ratio (per repetition)", "median", "min", "max", "target"],
                [[name, *(f"{value[key]:.2f}" for key in ("value", "min", "max")), value.get("verdict", "")]
                 for name, value in results["ratios"].items()])
    if "decord_baseline_wrong_clips" in results:
        print(f"\ndecord_baseline returned wrong frames in {results['decord_baseline_wrong_clips']} of "
              f"{len(videos)} clips")
    if "profile_ms_per_clip" in results:
        print("\nWhere a train_transform/pyav clip's time goes (cProfile, one pass, self time per function):")
        print_table(["function", "ms per clip"], [[name, f"{ms:.2f}"] for name, ms in results["profile_ms_per_clip"]])
    write_json(args.output, results)


if __name__ == "__main__":
    main()
