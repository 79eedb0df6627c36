"""Frame sampling pinned to hand-computed indices of the original recipe's DecodeVideoToTensor."""

import random

import pytest

from hf_video.clips.sampling import sample_interval_indices, sample_segment_indices


def test_16x4_at_30fps_steps_by_4_2_truncated():
    # 300 frames: span 64, max start 236, single test clip starts at 118; positions 118 + 4.2 k.
    assert sample_interval_indices(300, 30, 16, 4, clip_index=0) == [
        118, 122, 126, 130, 134, 139, 143, 147, 151, 155, 160, 164, 168, 172, 176, 181]


def test_minus_interval_ends_one_interval_earlier():
    # end = start + 64 - 4: step exactly 4.
    assert sample_interval_indices(300, 30, 16, 4, clip_index=0, minus_interval=True) == list(range(118, 179, 4))


def test_a_17_frame_video_repeats_its_last_frame():
    expected = [0, 4, 8, 12] + [16] * 12  # positions 0, 4.2, 8.4, 12.6, 16.8 (clamped to 16), ...
    assert sample_interval_indices(17, 30, 16, 4, clip_index=0) == expected
    assert sample_interval_indices(17, 30, 16, 4, rng=random.Random(3)) == expected  # max start 0: training too


def test_25fps_video_with_target_30fps():
    # span 16 * 4 * 25 / 30 = 53.33; 100 frames: start 23.33, end 75.67, step 3.4889.
    assert sample_interval_indices(100, 25, 16, 4, target_fps=30, clip_index=0) == [
        23, 26, 30, 33, 37, 40, 44, 47, 51, 54, 58, 61, 65, 68, 72, 75]


def test_three_test_clips_start_at_i_thirds_of_the_max_start():
    clips = [sample_interval_indices(300, 30, 16, 4, clip_index=i, num_clips=3) for i in range(3)]
    assert clips[0] == [0, 4, 8, 12, 16, 21, 25, 29, 33, 37, 42, 46, 50, 54, 58, 63]
    assert clips[1] == [78, 82, 87, 91, 95, 99, 103, 108, 112, 116, 120, 124, 129, 133, 137, 141]  # start 78.67
    assert clips[2] == [157, 161, 165, 169, 174, 178, 182, 186, 190, 195, 199, 203, 207, 211, 216, 220]


def test_training_start_is_uniform_over_the_whole_range():
    rng = random.Random(0)
    starts = [sample_interval_indices(300, 30, 16, 4, rng=rng)[0] for _ in range(2000)]
    assert min(starts) <= 5 and max(starts) >= 231 and max(starts) <= 236
    clip = sample_interval_indices(300, 30, 16, 4, rng=rng)
    assert all(b - a in (4, 5) for a, b in zip(clip, clip[1:]))  # positions 4.2 apart, truncated
    assert clip[-1] - clip[0] in (62, 63)


def test_segment_mode():
    # 10 frames in 4 segments of 2.5: middles 1.25, 3.75, 6.25, 8.75.
    assert sample_segment_indices(10, 4, clip_index=0) == [1, 4, 6, 9]
    # second of two test clips: the end of each segment 2.5, 5, 7.5, 10 -> round half to even, clamp.
    assert sample_segment_indices(10, 4, clip_index=1, num_clips=2) == [2, 5, 8, 9]
    # 3 frames, 8 segments: frames repeat.
    assert sample_segment_indices(3, 8, clip_index=0) == [0, 1, 1, 1, 2, 2, 2, 2]
    rng = random.Random(1)
    for _ in range(200):
        clip = sample_segment_indices(10, 4, rng=rng)
        assert all(low <= i <= high for i, (low, high) in zip(clip, [(0, 3), (2, 5), (5, 8), (7, 9)]))


@pytest.mark.parametrize("call,message", [
    (lambda: sample_interval_indices(0, 30, 16, 4), "num_video_frames=0"),
    (lambda: sample_interval_indices(10, 0, 16, 4), "video_fps=0"),
    (lambda: sample_interval_indices(10, 30, 16, 4, clip_index=3, num_clips=3), "clip_index=3"),
    (lambda: sample_segment_indices(10, 0), "num_frames=0"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
