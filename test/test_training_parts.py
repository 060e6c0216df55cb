"""Unit tests of training parts: the straight-through quantizer, the weight EMA, augmentation."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from agilenn_ros.config import ProfileError, profile_from_dict  # noqa: E402
from agilenn_ros.config import DataConfig  # noqa: E402
from agilenn_ros.training.augment import BatchPreparer  # noqa: E402
from agilenn_ros.training.ema import ModelEMA  # noqa: E402
from agilenn_ros.training.quantizer import SoftHardQuantizer, nearest_centroid  # noqa: E402


def test_nearest_centroid_matches_argmin_for_any_centroid_order() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(4, 5, 6, 7, generator=gen) * 6
    for _ in range(5):
        c = torch.rand(8, generator=gen) * 6
        expected = torch.argmin((x.unsqueeze(-1) - c).abs(), dim=-1)
        assert torch.equal(nearest_centroid(x, c), expected)
    # exactly on a midpoint: the smaller centroid wins; for ascending centroids (exported
    # bundles, the device's thresholds) that is the lower index, as argmin's first minimum
    c = torch.tensor([1.0, 3.0, 4.0])
    assert nearest_centroid(torch.tensor([2.0, 3.5]), c).tolist() == [0, 1]
    assert nearest_centroid(torch.tensor([2.0, 3.5]), c.flip(0)).tolist() == [2, 1]


def test_channels_last_input_gives_the_same_indices() -> None:
    x = torch.rand(2, 19, 16, 16) * 6
    q = SoftHardQuantizer(8)
    cl = x.contiguous(memory_format=torch.channels_last)
    assert torch.equal(q(cl)[1], q.indices(x))


def test_straight_through_gradients() -> None:
    q = SoftHardQuantizer(4)
    x = (torch.rand(3, 2, 5, 5) * 6).requires_grad_(True)
    value, idx = q(x)
    c = q.centroids().detach()
    assert torch.equal(value.detach(), c[idx])               # forward: the nearest centroid
    weights = torch.randn_like(x)
    (value * weights).sum().backward()
    assert torch.equal(x.grad, weights)                       # identity to the features
    # to each centroid: the summed upstream gradient of its elements, through 6 * sigmoid(raw)
    per_centroid = torch.stack([weights[idx == i].sum() for i in range(4)])
    sig = torch.sigmoid(q.raw.detach())
    assert torch.allclose(q.raw.grad, per_centroid * 6 * sig * (1 - sig), rtol=1e-5, atol=1e-5)


def test_soft_mode_keeps_the_hard_forward_value() -> None:
    q = SoftHardQuantizer(8, soft=True)
    x = torch.rand(2, 3, 4, 4) * 6
    value, idx = q(x)
    assert torch.allclose(value, q.centroids()[idx])


def test_ema_tracks_parameters_and_copies_integer_buffers() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    ema = ModelEMA(model, decay=0.9)
    with torch.no_grad():
        model[0].weight.fill_(1.0)
    model[1].num_batches_tracked.fill_(7)
    before = ema.module[0].weight.clone()
    ema.update(model)                       # warm-up: d = min(0.9, 2/11)
    d = 2 / 11
    assert torch.allclose(ema.module[0].weight, d * before + (1 - d) * 1.0)
    assert int(ema.module[1].num_batches_tracked) == 7
    for _ in range(200):
        ema.update(model)
    assert torch.allclose(ema.module[0].weight, torch.ones(2, 3), atol=1e-6)
    assert not any(p.requires_grad for p in ema.module.parameters())
    restored = ModelEMA(model, decay=0.9)
    restored.load_state_dict(ema.state_dict())
    assert restored.updates == ema.updates
    assert torch.equal(restored.module[0].weight, ema.module[0].weight)


@pytest.mark.parametrize("decay", [1.0, -0.1])
def test_ema_decay_out_of_range(decay: float) -> None:
    with pytest.raises(ValueError, match="decay"):
        ModelEMA(torch.nn.Linear(2, 2), decay)
    with pytest.raises(ProfileError, match="ema_decay"):
        profile_from_dict({"dataset": "cifar10", "train": {"ema_decay": decay}}, "bad")


def test_planned_epochs_fit_the_budget() -> None:
    from agilenn_ros.training.time_budget import planned_epochs
    assert planned_epochs(48, 1, 200.0, 100.0, 0.0) == 48            # no budget
    assert planned_epochs(48, 1, 200.0, 100.0, 5400.0) == 48         # 200 + 47 x 100 <= 5400
    assert planned_epochs(48, 1, 300.0, 200.0, 5400.0) == 26         # 1 + floor(5100 / 200)
    assert planned_epochs(26, 10, 5000.0, 200.0, 5400.0) == 12       # a later correction
    assert planned_epochs(26, 10, 9000.0, 200.0, 5400.0) == 10       # over budget: stop, keep what is done
    assert planned_epochs(5, 5, 9000.0, 200.0, 5400.0) == 5          # finished runs stay as planned


def test_a_cut_plan_grows_back_but_a_finished_one_stays(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from agilenn_ros.training.time_budget import replan_after_epoch
    log = tmp_path / "m.jsonl"
    # a slow first epoch cut 48 to 26; the next epochs are fast: back to the requested 48, not beyond
    assert replan_after_epoch(log, 26, 48, 2, 300.0, 100.0, 90.0) == 48
    assert replan_after_epoch(log, 48, 48, 3, 400.0, 100.0, 90.0) == 48
    assert replan_after_epoch(log, 30, 48, 10, 2000.0, 100.0, 90.0) == 44      # 10 + floor(3400 / 100)
    assert replan_after_epoch(log, 5, 48, 5, 300.0, 100.0, 90.0) == 5          # finished: annealed, not re-opened
    # session 9's run went 58 -> 59 -> 58 -> 59 ...: one epoch more is noise, one fewer must be cut
    assert replan_after_epoch(log, 43, 48, 10, 2000.0, 100.0, 90.0) == 43      # fits 44: stays at 43
    assert replan_after_epoch(log, 45, 48, 10, 2000.0, 100.0, 90.0) == 44      # fits 44: cut to 44
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["planned_epochs"], r["new_planned_epochs"]) for r in records] == [(26, 48), (30, 44), (45, 44)]


def test_time_budget_shortens_a_real_run(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import dataclasses
    import json

    from agilenn_ros.config import load_profile
    from agilenn_ros.training.train_agilenn import load_checkpoint, train_agilenn
    profile = load_profile("digits")
    # a budget far below one epoch: the first epoch is kept, the plan drops to it, the run ends
    profile = dataclasses.replace(profile, train=dataclasses.replace(profile.train, epochs=6, max_minutes=0.0001))
    train_agilenn(profile, "digits", tmp_path / "run")
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r.get("stage") == "agilenn"]
    cut = [r for r in records if r.get("stage") == "time-budget"]
    assert len(epochs) == 1 and len(cut) == 1
    assert (cut[0]["planned_epochs"], cut[0]["new_planned_epochs"]) == (6, 1)
    last = load_checkpoint(tmp_path / "run" / "last.pt")
    assert (last["requested_epochs"], last["planned_epochs"]) == (6, 1)
    # resuming the same plan does not train on; asking for more epochs does
    train_agilenn(profile, "digits", tmp_path / "run")
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == len(records)
    longer = dataclasses.replace(profile, train=dataclasses.replace(profile.train, epochs=7, max_minutes=0.0))
    train_agilenn(longer, "digits", tmp_path / "run")
    assert load_checkpoint(tmp_path / "run" / "last.pt")["epoch"] == 7


def test_baseline_time_budget(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import dataclasses
    import json

    from agilenn_ros.baseline_config import load_baseline_profile
    from agilenn_ros.training.baselines import train_baseline
    profile = load_baseline_profile("digits")
    profile = dataclasses.replace(profile, train=dataclasses.replace(profile.train, max_minutes=0.0001))
    train_baseline(profile, "local", "digits", tmp_path / "b", epochs=4)
    records = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in records] == ["baseline-local", "time-budget"]


def test_pooled_remote_halves_the_resolution_per_width_and_costs_like_the_resnet() -> None:
    from agilenn_ros.training.cost import device_cost
    from agilenn_ros.training.remote_predictor import PooledRemote, ResNetRemote
    pooled = PooledRemote(24, 10, (64, 256, 256)).eval()
    features = torch.randn(2, 24, 16, 16)
    assert pooled(features).shape == (2, 10)
    assert pooled.body(features).shape == (2, 256, 2, 2)
    pooled_macs = device_cost(pooled, features[:1])["macs"]
    resnet_macs = device_cost(ResNetRemote(24, 10, (48, 96, 192)).eval(), features[:1])["macs"]
    # conv MACs by hand: 16x16 (24->64), 8x8 (64->64, 64->256), 4x4 (256->256 twice), 2x2 (256->256)
    by_hand = 9 * (256 * 24 * 64 + 64 * 64 * 64 + 64 * 64 * 256 + 2 * 16 * 256 * 256 + 4 * 256 * 256) + 256 * 10
    assert pooled_macs == by_hand
    assert 0.8 < pooled_macs / resnet_macs < 1.0


def test_pooled_baseline_profile_is_checked_against_the_feature_size() -> None:
    from agilenn_ros.baseline_config import baseline_profile_from_dict
    net = {"fe_hidden": 4, "channels": 8, "family": "pooled", "widths": [8, 8, 8, 8, 8]}
    with pytest.raises(ProfileError, match="baseline profile bad: kinds.edge: a pooled remote with 5 widths needs features of at least 32x32"):
        baseline_profile_from_dict({"data": {"input_size": 96}, "kinds": {"edge": net}}, "bad")
    ok = baseline_profile_from_dict({"data": {"input_size": 96}, "kinds": {"edge": dict(net, widths=[8, 16])}}, "ok")
    assert ok.net("edge").family == "pooled"


def test_short_list_says_when_it_cuts() -> None:
    from agilenn_ros.training.checkpoints import short_list
    assert short_list(["cat", "dog"]) == "['cat', 'dog']"
    assert short_list([str(i) for i in range(8)]) == "['0', '1', '2', '3', '4', '5', ...] (8)"


def test_a_pooled_baseline_splits_into_device_and_edge_parts() -> None:
    from agilenn_ros.baseline_config import BaselineNet
    from agilenn_ros.training.baselines import BaselineNetwork
    net = BaselineNetwork(BaselineNet(fe_hidden=4, channels=8, family="pooled", widths=(8, 16)), 10).eval()
    images = torch.randn(2, 3, 96, 96)
    for cut in (0, 1, 2):
        split = net.edge_part(cut)(net.device_part(cut)(images))
        assert torch.allclose(split, net(images), atol=1e-6)


def test_cutout_fills_one_clipped_square_with_the_mean_colour() -> None:
    import numpy as np
    images = np.random.default_rng(1).integers(0, 256, size=(200, 32, 32, 3), dtype=np.uint8)
    original = images.copy()
    cfg = DataConfig(flip=False, pad_crop=0, cutout=8)
    out = BatchPreparer(cfg, seed=3).augment(images)
    assert np.array_equal(images, original)              # the input is never modified
    fill = np.round(np.asarray(cfg.mean) * 255).astype(np.uint8)
    changed = (out != original).any(-1)
    areas = []
    for i in range(len(out)):
        ys, xs = np.nonzero(changed[i])
        assert len(ys) > 0
        box = out[i, ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        assert (box == fill).all()                       # one solid rectangle of the mean colour
        height, width = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
        assert height <= 8 and width <= 8
        assert height == 8 or ys.min() == 0 or ys.max() == 31   # cut only by the border
        assert width == 8 or xs.min() == 0 or xs.max() == 31
        areas.append(height * width)
    assert 64 in areas and min(areas) < 64                # centres anywhere, so some squares are clipped
    assert BatchPreparer(DataConfig(flip=False, pad_crop=0), seed=3).augment(images) is images   # off: untouched


def test_cutout_as_large_as_the_image_warns_once() -> None:
    import warnings as w
    import numpy as np
    images = np.zeros((4, 32, 32, 3), dtype=np.uint8)
    prep = BatchPreparer(DataConfig(flip=False, pad_crop=0, cutout=40))
    with pytest.warns(UserWarning, match="cutout 40 is as large as the 32x32 source images"):
        prep.augment(images)
    with w.catch_warnings():
        w.simplefilter("error")
        prep.augment(images)                              # once per source size


def test_an_agilenn_profile_given_to_train_baseline_says_so() -> None:
    from agilenn_ros.baseline_config import baseline_profile_from_dict
    from agilenn_ros.config import ProfileError
    with pytest.raises(ProfileError, match="is an AgileNN profile .* use it with agilenn train"):
        baseline_profile_from_dict({"dataset": "cifar10", "model": {"k": 4}, "importance": {}}, "cifar10-x")


def test_a_baseline_resumes_only_under_the_profile_it_was_trained_with(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    import pytest
    import torch

    from agilenn_ros.baseline_config import load_baseline_profile
    from agilenn_ros.training.baselines import train_baseline
    profile = load_baseline_profile("digits")
    out = tmp_path / "b"
    train_baseline(profile, "edge", "digits", out, epochs=1)
    smoother = dataclasses.replace(profile, train=dataclasses.replace(profile.train, label_smoothing=0.3))
    with pytest.raises(ValueError, match=r"other profile settings \(train.label_smoothing\).*--restart"):
        train_baseline(smoother, "edge", "digits", out, epochs=2)
    wider = dataclasses.replace(profile, kinds={**profile.kinds, "edge": dataclasses.replace(
        profile.kinds["edge"], widths=tuple(2 * w for w in profile.kinds["edge"].widths))})
    with pytest.raises(ValueError, match=r"kinds.edge.widths"):
        train_baseline(wider, "edge", "digits", out, epochs=2)
    many = dataclasses.replace(smoother, data=dataclasses.replace(profile.data, pad_crop=profile.data.pad_crop + 1), train=dataclasses.replace(
        profile.train, label_smoothing=0.3, lr=0.05, batch_size=32, weight_decay=0.001))
    with pytest.raises(ValueError, match=r"\(data.pad_crop, train.batch_size, train.label_smoothing, train.lr and 1 more\)"):
        train_baseline(many, "edge", "digits", out, epochs=2)
    # a checkpoint written before a setting existed compares it at its default
    last = out / "last.pt"
    ckpt = torch.load(last, map_location="cpu", weights_only=False)
    del ckpt["profile"]["kinds"]["edge"]["flip_tta"]
    del ckpt["profile"]["train"]["rate_weight"]
    torch.save(ckpt, last)
    # more epochs, another thread count, another profile name and the evaluation-time mirror pass
    # resume the same run
    renamed = dataclasses.replace(profile, name="renamed", train=dataclasses.replace(profile.train, threads=1),
                                  kinds={**profile.kinds, "edge": dataclasses.replace(profile.kinds["edge"], flip_tta=True)})
    train_baseline(renamed, "edge", "digits", out, epochs=2)
    assert torch.load(last, map_location="cpu", weights_only=False)["epoch"] == 2
    # --restart still trains the changed profile from scratch
    train_baseline(smoother, "edge", "digits", out, epochs=1, restart=True)


def test_one_slow_epoch_does_not_cut_the_plan() -> None:
    import pytest

    from agilenn_ros.training.time_budget import planned_epochs, typical_epoch_seconds
    # 50 epochs of 100 s planned in 85 minutes; epoch 5 took 130 s (a neighbour's burst)
    durations = [100.0, 100.0, 100.0, 100.0, 130.0]
    assert planned_epochs(50, 5, 530.0, durations[-1], 5100.0) == 40          # the last epoch alone: cut
    assert typical_epoch_seconds(durations) == 100.0
    assert planned_epochs(50, 5, 530.0, typical_epoch_seconds(durations), 5100.0) == 50
    # a lasting slow-down shows after two epochs
    assert typical_epoch_seconds(durations + [130.0]) == 130.0
    assert typical_epoch_seconds([90.0]) == 90.0
    with pytest.raises(ValueError):
        typical_epoch_seconds([])
