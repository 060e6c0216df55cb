# agilenn_ros: the README's commands. `make setup` is idempotent and fast once done.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.setup-$(shell cat pyproject.toml setup.py Makefile | sha256sum | cut -c1-12)
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm

.PHONY: setup test demo firmware-report profile jpeg-report int8-report bench bench-quick apt clean help

help:
	@echo "make setup            create .venv with everything installed (idempotent)"
	@echo "make test             setup, then the whole test suite"
	@echo "make demo             setup, then the device -> DDS -> edge pipeline on sample images"
	@echo "make firmware-report  cross-compile the firmware core, run it in QEMU, write results/firmware.json"
	@echo "make profile          where the firmware core's instructions go (per stage, per function, QEMU)"
	@echo "make jpeg-report      libjpeg-turbo's encoder (fetched with apt-get source) measured in QEMU, results/jpeg_m7.json"
	@echo "make int8-report      float vs firmware integer path on the CIFAR-10 test set (results/int8_agreement.json)"
	@echo "make bench            the side-by-side benchmark (results/, BENCHMARKS.md)"

setup: $(STAMP)

$(STAMP):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check "torch==2.13.0"
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[train,dds,dev]"
	@$(MAKE) --no-print-directory apt
	@rm -f $(VENV)/.setup-*
	@touch $@

# Debian packages for the firmware's cross build and QEMU runs, where apt is available.
apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null) \
	    || echo "warning: could not install$$missing; firmware cross-build and QEMU tests will be skipped"; \
	else echo "note: not root or no apt-get; install$$missing yourself for the firmware report"; fi

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider test

demo: setup
	$(BIN)/agilenn demo

firmware-report: setup
	$(MAKE) -C firmware_microros report BUNDLE=$(abspath models/cifar10) PYTHON=$(abspath $(BIN)/python) \
	  OUT=$(abspath results/firmware.json)

profile: setup
	$(MAKE) -C firmware_microros profile BUNDLE=$(abspath models/cifar10) PYTHON=$(abspath $(BIN)/python)

CIFAR10 ?= $(abspath ../shared/data/cifar10)

# The edge-only baseline's device cost, measured (needs network once: apt-get source).
jpeg-report: setup
	$(MAKE) -C firmware_microros jpeg-report PYTHON=$(abspath $(BIN)/python) JPEG_DATA=$(CIFAR10) \
	  JPEG_OUT=$(abspath results/jpeg_m7.json)

int8-report: setup
	$(BIN)/python -m agilenn_ros.export.int8_report models/cifar10 --data $(CIFAR10)/test.tar.gz \
	  --calib $(CIFAR10)/train.tar.gz --variants all_int8 --json results/int8_agreement.json

bench: setup
	@$(MAKE) --no-print-directory jpeg-report || echo "warning: make jpeg-report failed (no network for apt-get source?); the bench reads the committed results/jpeg_m7.json"
	$(BIN)/agilenn bench --json results/bench.json --markdown BENCHMARKS.md --plots results/bench_plots

bench-quick: setup
	$(BIN)/agilenn bench --quick --json results/bench-quick.json

clean:
	rm -rf build install log .pytest_cache results/tmp
