"""Prepare speed: how long the HMDB51 builder takes to prepare a full 6,765-video tree, cold and from its cache.

    python benchmarks/prepare_speed.py                 # num_proc=2, 2 cold runs, 5 cached reloads

The tree (`hmdb51_like.full_hmdb51_tree`) has every real HMDB51 file name (brackets, `!`, `&` and all) and every
real frame count, at 320x240, with split files in the official format; it is written once into the work folder.
A cold run prepares into an empty cache folder: the builder reads the split files, probes every video (decoding
it to count its frames) and writes the Arrow files. A cached reload is `load_hmdb51` again on the same cache.
"""

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from benchmark_common import argument_parser, print_table, summarize, verdict, write_json  # noqa: E402
from hmdb51_like import full_hmdb51_tree  # noqa: E402

TARGET_COLD_SECONDS = 60  # with num_proc=2, at most
TARGET_CACHED_SECONDS = 2  # at most


def parse_arguments(argv=None):
    parser = argument_parser(__doc__)
    parser.add_argument("--work_dir", default="benchmarks/work", help="where the generated tree is kept")
    parser.add_argument("--num_proc", type=int, default=2)
    parser.add_argument("--num_classes", type=int, default=51, help="fewer classes for a quick check")
    parser.add_argument("--size", default="320x240", help="frame size WIDTHxHEIGHT of the generated videos")
    parser.add_argument("--cold_runs", type=int, default=2)
    parser.add_argument("--cached_runs", type=int, default=5)
    parser.add_argument("--output", default="benchmarks/results/prepare_speed.json")
    return parser.parse_args(argv)


def timed_load(data_dir, cache_dir, num_proc, class_names):
    from hf_video.data.hmdb51 import load_hmdb51

    start = time.perf_counter()
    dataset = load_hmdb51(str(data_dir), split=1, cache_dir=str(cache_dir), num_proc=num_proc,
                          class_names=class_names)
    seconds = time.perf_counter() - start
    return seconds, {split: dataset[split].num_rows for split in dataset}


def main(argv=None):
    args = parse_arguments(argv)
    import datasets

    datasets.disable_progress_bars()
    width, height = (int(side) for side in args.size.split("x"))
    tree = full_hmdb51_tree(args.work_dir, width, height, args.num_proc, args.num_classes)
    num_videos = sum(1 for _ in (tree / "videos").glob("*/*"))
    class_names = sorted(folder.name for folder in (tree / "videos").iterdir())
    cold, cached, rows = [], [], None
    for _ in range(args.cold_runs):
        cache_dir = Path(tempfile.mkdtemp(prefix="hmdb51_cache_"))
        try:
            seconds, rows = timed_load(tree, cache_dir, args.num_proc, class_names)
            cold.append(seconds)
            if len(cold) == args.cold_runs:  # reload from the last cold run's cache
                cached = [timed_load(tree, cache_dir, args.num_proc, class_names)[0] for _ in range(args.cached_runs)]
        finally:
            shutil.rmtree(cache_dir, ignore_errors=True)

    results = {"settings": vars(args), "videos_in_tree": num_videos, "rows": rows,
               "cold_seconds": summarize(cold), "cached_seconds": summarize(cached)}
    results["verdicts"] = {
        "cold": verdict(results["cold_seconds"]["median"], TARGET_COLD_SECONDS, True),
        "cached": verdict(results["cached_seconds"]["median"], TARGET_CACHED_SECONDS, True),
    }
    print(f"HMDB51 tree of {num_videos} videos (real names and frame counts, {args.size}), split 1 -> {rows} rows, "
          f"num_proc={args.num_proc}\n")
    print_table(["run", "median s", "min s", "max s", "runs", "target"], [
        [name, f"{summary['median']:.2f}", f"{summary['min']:.2f}", f"{summary['max']:.2f}",
         len(summary["samples"]), results["verdicts"][name]]
        for name, summary in (("cold", results["cold_seconds"]), ("cached", results["cached_seconds"]))])
    write_json(args.output, results)


if __name__ == "__main__":
    main()
