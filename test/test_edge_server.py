"""The edge's frame handling without a transport: hostile frames, accounting in exactly one
counter, overload (oldest dropped first), exceptions, bounded per-device state, batching."""
from __future__ import annotations

import glob
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from agilenn_ros.runtime.bundle import load_bundle
from agilenn_ros.runtime.device_pipeline import DevicePipeline
from agilenn_ros.runtime.edge_pipeline import EdgePipeline
from agilenn_ros.runtime.edge_server import EdgeServer
from agilenn_ros.runtime.edge_stats import EdgeStats
from agilenn_ros.transport import msgtypes

FRAME, PREDICTION = "agilenn_ros/msg/FeatureFrame", "agilenn_ros/msg/Prediction"
REPO = Path(__file__).resolve().parents[1]


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def _add(self, message: str, **_: object) -> None:
        self.lines.append(message)

    warning = error = info = debug = _add


@pytest.fixture(scope="module")
def setup(cifar_bundle: Path):
    bundle = load_bundle(cifar_bundle)
    device = DevicePipeline(bundle)
    images = [cv2.imread(p)[:, :, ::-1] for p in sorted(glob.glob(str(REPO / "agilenn_ros/samples/cifar10/*/0000.jpg")))]
    return bundle, EdgePipeline(bundle, max_batch=8), [device.process(i) for i in images]


def frame(bundle, result, seq: int, device: str = "d0", **over: object) -> bytes:
    c, h, w = result.indices.shape
    fields: dict = dict(header={"stamp": (int(time.time()), 5), "frame_id": "cam"}, device_id=device, sequence=seq,
                        model_hash=bundle.model_hash_u32, channels=c, height=h, width=w, codec=result.codec_id,
                        payload=np.frombuffer(result.payload, np.uint8), local_logits=result.local_logits,
                        device_compute_us=7)
    fields.update(over)
    # no bound checks: a hostile publisher does not do them either
    return bytes(msgtypes.typestore().serialize_cdr(msgtypes.new_message(FRAME, **fields), FRAME))


def make_server(pipeline: EdgePipeline, **kw: object):
    out: list = []
    stats = EdgeStats(**{k: kw.pop(k) for k in ("max_devices", "max_sequence_gap") if k in kw})
    log = Log()
    server = EdgeServer(pipeline, stats, lambda cdr: out.append(msgtypes.deserialize(cdr, PREDICTION)), None,
                        time.time_ns, log, **kw)
    return server, stats, out, log


def drain(server: EdgeServer, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not server.idle():
        assert time.monotonic() < deadline, "edge worker did not drain its queue"
        time.sleep(0.01)


def test_predictions_match_the_pipeline_and_batch(setup) -> None:
    bundle, pipeline, results = setup
    server, stats, out, _ = make_server(pipeline)
    for seq, r in enumerate(results):
        server.on_sample(frame(bundle, r, seq))
    server.start()
    drain(server)
    server.stop()
    assert len(out) == len(results) == stats.predictions
    assert 1 <= stats.batches < len(results)  # queued frames went through the network together
    for pred, r in zip(sorted(out, key=lambda p: p.sequence), results):
        ref = pipeline.process(r.codec_id, r.payload, r.indices.shape, r.local_logits)
        assert pred.remote_used and pred.class_id == ref.class_id and pred.label == ref.label
        assert np.allclose(pred.scores, ref.scores, atol=1e-4)
        assert pred.header.frame_id == "cam" and pred.device_id == "d0" and pred.payload_bytes == len(r.payload)
    assert stats.accounted() == stats.frames == len(results)


def test_hostile_frames_each_in_one_counter(setup) -> None:
    bundle, pipeline, results = setup
    r = results[0]
    server, stats, out, log = make_server(pipeline)
    server.start()
    good = 0
    hostile = [
        frame(bundle, r, 0),                                                           # good
        frame(bundle, r, 1, header={"stamp": (1, 2), "frame_id": "f" * (8 << 20)}),   # 8 MiB frame_id
        frame(bundle, r, 0, device_id="other")[:40],                                   # truncated
        b"\x07\x07\x00\x00garbage",                                                    # not CDR
        frame(bundle, r, 2, model_hash=bundle.model_hash_u32 ^ 1),                     # another model
        frame(bundle, r, 3, local_logits=np.full(10, np.nan, np.float32)),              # NaN logits
        frame(bundle, r, 4, channels=60000, height=60000, width=60000),                 # huge shape: local only
        frame(bundle, r, 5, channels=0, height=0, width=0),                             # zero shape: local only
        frame(bundle, r, 6, codec=77),                                                  # unknown codec: local only
        frame(bundle, r, 7, payload=np.frombuffer(b"\x11" * 32768, np.uint8)),          # junk payload: local only
        frame(bundle, r, 8, codec=255),                                                 # CODEC_NONE: local only
        frame(bundle, r, 9, header={"stamp": (0, 0), "frame_id": "cam"}),               # zero stamp
        frame(bundle, r, 10, local_logits=np.ones(300, np.float32)),                    # over MAX_CLASSES
        frame(bundle, r, 0, device_id="x" * 33),                                        # device_id over 32
        frame(bundle, r, 12),                                                           # gap of one (11)
        frame(bundle, r, 0xFFFFFFFF, device_id="d1"),                                   # new device at 2^32-1
        frame(bundle, r, 0xFFFFFFFF),                                                   # jump to 2^32-1
        frame(bundle, r, 0),                                                            # device restart
        frame(bundle, r, 3, device_id="d2"),                                            # new device, 3 unseen
    ]
    for sample in hostile:
        server.on_sample(sample)
    drain(server)
    server.stop()
    good = sum(1 for p in out if p.remote_used)
    assert stats.frames == len(hostile) == stats.accounted()
    assert stats.rejected_field_bounds == 3 and stats.rejected_malformed == 2 and stats.rejected_model == 1
    assert stats.rejected_invalid == 1 and stats.errors_internal == 0 and stats.dropped_overload == 0
    assert stats.local_only == 5 and good == len(out) - 5 == 7
    assert stats.sequence_gaps == 1 and stats.sequence_jumps == 2 and stats.device_restarts == 1
    assert stats.unseen_before_first == 3
    summary = stats.summary()
    assert summary["age_unusable"] == 1 and abs(summary["age_ms_p50"]) < 60_000  # the zero stamp is left out
    assert max(len(line) for line in log.lines) < 400                             # nothing echoes the 8 MiB field
    assert all(len(p.header.frame_id) <= 256 for p in out)


def test_overload_drops_oldest_first_and_counts(setup) -> None:
    bundle, pipeline, results = setup
    server, stats, out, _ = make_server(pipeline, max_queue=16)
    for seq in range(40):   # workers not started yet: the queue overflows
        server.on_sample(frame(bundle, results[seq % len(results)], seq))
    assert stats.dropped_overload == 24
    server.start()
    drain(server)
    server.stop()
    assert sorted(p.sequence for p in out) == list(range(24, 40))
    assert stats.accounted() == stats.frames == 40 and stats.sequence_gaps == 0


def test_an_exception_costs_one_frame(setup, monkeypatch) -> None:
    bundle, pipeline, results = setup
    server, stats, out, log = make_server(pipeline, workers=1)
    real = pipeline.run_batch

    def flaky(frames):
        if any(f.local_logits[0] == 123.0 for f in frames):
            raise RuntimeError("boom")
        return real(frames)

    monkeypatch.setattr(pipeline, "run_batch", flaky)
    poisoned = results[1].local_logits.copy()
    poisoned[0] = 123.0
    for seq in range(6):
        server.on_sample(frame(bundle, results[seq], seq, local_logits=poisoned if seq == 2 else results[seq].local_logits))
    server.on_sample(None)  # type: ignore[arg-type]  # not even bytes
    server.start()
    drain(server)
    server.stop()
    assert sorted(p.sequence for p in out) == [0, 1, 3, 4, 5]
    assert stats.errors_internal == 2 and stats.rejected_malformed == 0
    assert stats.accounted() == stats.frames == 7
    assert any("boom" in line for line in log.lines)


def test_per_device_state_is_bounded() -> None:
    stats = EdgeStats(max_devices=4)
    for i in range(1000):
        stats.track_sequence(f"dev{i}", 0)
    assert len(stats.devices) == 4 and stats.devices_evicted == 996
    assert list(stats.devices) == ["dev996", "dev997", "dev998", "dev999"]
