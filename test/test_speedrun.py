"""The speed-run training recipe: schedule, decoupled SGD, frozen BatchNorm scales, lookahead,
and both trainers running it end to end on the digits data."""
from __future__ import annotations

import dataclasses
import json

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from agilenn_ros.config import ProfileError, profile_from_dict  # noqa: E402
from agilenn_ros.training import speedrun as sr  # noqa: E402


def test_triangle_schedule_rises_to_one_then_falls_to_its_end_value() -> None:
    total = 1000
    factors = [sr.triangle_factor(s, total) for s in range(total + 1)]
    peak = factors.index(max(factors))
    assert factors[0] == pytest.approx(0.2) and max(factors) == pytest.approx(1.0)
    assert peak == int(0.23 * total)
    assert factors[-1] == pytest.approx(0.07)
    assert all(a <= b for a, b in zip(factors[:peak], factors[1:peak + 1]))
    assert all(a >= b for a, b in zip(factors[peak:], factors[peak + 1:]))
    assert sr.triangle_factor(5000, total) == pytest.approx(0.07)   # past the end: stays at the end value


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))


def test_frozen_batchnorm_scales_stay_at_one_and_their_biases_are_returned() -> None:
    net = _net()
    with torch.no_grad():
        net[1].weight.fill_(3.0)
    biases = sr.freeze_batchnorm_scales([net])
    assert [id(b) for b in biases] == [id(net[1].bias), id(net[4].bias)]
    for bn in (net[1], net[4]):
        assert not bn.weight.requires_grad and torch.equal(bn.weight, torch.ones(8))


def test_identity_init_passes_the_input_through_the_first_filters() -> None:
    conv = nn.Conv2d(4, 6, 3, padding=1, bias=False)
    depthwise = nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False)
    before = depthwise.weight.detach().clone()
    sr.identity_init([nn.Sequential(conv, depthwise)])
    x = torch.randn(2, 4, 5, 5)
    assert torch.allclose(conv(x)[:, :4], x)
    assert torch.equal(depthwise.weight, before)   # grouped convolutions are left as they are


def test_decoupled_sgd_groups_and_rates() -> None:
    net = _net()
    opt = sr.speedrun_sgd(net, [net], lr=11.5, weight_decay=0.0153, momentum=0.85, batch_size=512)
    kilo = 1024 * (1 + 1 / 0.15)
    lr, decay = 11.5 * 512 / kilo, 0.0153 * 512 / kilo
    biases, weights, others = opt.param_groups
    assert biases["lr"] == pytest.approx(lr * sr.BIAS_SCALER)
    assert weights["lr"] == pytest.approx(lr)
    # the same absolute decay per step for weights and BatchNorm biases
    assert biases["lr"] * biases["weight_decay"] == pytest.approx(decay)
    assert weights["lr"] * weights["weight_decay"] == pytest.approx(decay)
    assert [id(p) for p in others["params"]] == [id(net[8].bias)]   # the head's bias: no decay
    assert others["lr"] == pytest.approx(lr) and others["weight_decay"] == 0.0
    placed = [id(p) for g in opt.param_groups for p in g["params"]]
    assert len(placed) == len(set(placed))
    assert id(net[1].weight) not in placed   # frozen scale
    sr.set_schedule(opt, 0.5)
    assert weights["lr"] == pytest.approx(0.5 * lr) and biases["lr"] == pytest.approx(0.5 * lr * sr.BIAS_SCALER)
    with pytest.raises(ValueError, match="momentum"):
        sr.speedrun_sgd(_net(), [], lr=1.0, weight_decay=0.0, momentum=1.0, batch_size=8)


def _averaged_from_one_to_three(last_step: int, total: int) -> tuple[nn.Module, sr.Lookahead]:
    """A one-weight network averaged from step 1 (weights 1.0), set to 3.0, then stepped at ``last_step``."""
    net = nn.Linear(2, 1, bias=False)
    la = sr.Lookahead(start_fraction=0.0)
    with torch.no_grad():
        net.weight.fill_(1.0)
    la.step(net, 1, total)
    with torch.no_grad():
        net.weight.fill_(3.0)
    la.step(net, last_step, total)
    return net, la


def test_lookahead_starts_late_pulls_back_and_ends_on_the_average() -> None:
    net = nn.Linear(2, 1, bias=False)
    la = sr.Lookahead(start_fraction=0.5)
    with torch.no_grad():
        net.weight.fill_(1.0)
    la.step(net, 1, 10)
    assert la.average is None                       # before the start: nothing kept
    la.step(net, 5, 10)                              # the start: the average begins here
    with torch.no_grad():
        net.weight.fill_(3.0)
    la.step(net, 7, 10)                              # not a multiple of 5: untouched
    assert torch.equal(net.weight, torch.full((1, 2), 3.0))
    la.step(net, 10, 10)                             # the last step: its update, then the average
    d_end = sr.LOOKAHEAD_BASE
    assert net.weight[0, 0].item() == pytest.approx(d_end * 1.0 + (1 - d_end) * 3.0)
    net3, odd = _averaged_from_one_to_three(last_step=12, total=12)   # last step off the 5-step grid
    assert torch.equal(net3.weight, torch.full((1, 2), 1.0))               # the average as it is
    net2, la2 = _averaged_from_one_to_three(last_step=50, total=100)
    d = sr.LOOKAHEAD_BASE * 0.5 ** 3                                       # decay 0.95**5 * 0.5**3
    assert net2.weight[0, 0].item() == pytest.approx(d * 1.0 + (1 - d) * 3.0)
    restored = sr.Lookahead()
    restored.load_state_dict(la2.state_dict())
    assert restored.start_fraction == 0.0 and torch.equal(restored.average["weight"], la2.average["weight"])


def test_an_unknown_recipe_is_refused_in_both_profile_kinds() -> None:
    with pytest.raises(ProfileError, match="train.recipe must be one of cosine, speedrun, not 'onecycle'"):
        profile_from_dict({"name": "x", "dataset": "digits", "train": {"recipe": "onecycle"}}, "x")
    with pytest.raises(ProfileError, match="train.lr must be > 0, not 0$"):
        profile_from_dict({"name": "x", "dataset": "digits", "train": {"recipe": "speedrun", "lr": 0}}, "x")
    with pytest.raises(ProfileError, match="train.batch_size must be >= 1"):
        profile_from_dict({"name": "x", "dataset": "digits", "train": {"batch_size": 0}}, "x")
    from agilenn_ros.baseline_config import baseline_profile_from_dict, load_baseline_profile
    raw = load_baseline_profile("digits").to_dict()
    raw["train"]["recipe"] = "fast"
    with pytest.raises(ProfileError, match="recipe must be one of"):
        baseline_profile_from_dict(raw, "digits")


def _speedrun_train(train_cfg, **changes):  # type: ignore[no-untyped-def]
    return dataclasses.replace(train_cfg, recipe="speedrun", lr=11.5, weight_decay=0.0153, momentum=0.85,
                               label_smoothing=0.2, **changes)


def test_agilenn_trains_and_resumes_with_the_speedrun_recipe(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from agilenn_ros.config import load_profile
    from agilenn_ros.training.train_agilenn import load_checkpoint, train_agilenn
    profile = load_profile("digits")
    profile = dataclasses.replace(profile, train=_speedrun_train(profile.train, epochs=2))
    train_agilenn(profile, "digits", tmp_path / "run")
    last = load_checkpoint(tmp_path / "run" / "last.pt")
    assert last["epoch"] == 2 and last["lookahead"]["average"] is not None
    body_scales = [v for k, v in last.get("live_model", last["model"]).items() if k.startswith("remote.body") and k.endswith(".weight")
                   and v.ndim == 1]
    assert body_scales and all(torch.equal(v, torch.ones_like(v)) for v in body_scales)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r.get("stage") == "agilenn"]
    assert len(epochs) == 2 and epochs[-1]["val_accuracy"] > 0.3   # 10 classes: well above chance
    longer = dataclasses.replace(profile, train=dataclasses.replace(profile.train, epochs=3))
    train_agilenn(longer, "digits", tmp_path / "run")
    assert load_checkpoint(tmp_path / "run" / "last.pt")["epoch"] == 3


def test_baselines_train_with_the_speedrun_recipe(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from agilenn_ros.baseline_config import load_baseline_profile
    from agilenn_ros.training.baselines import train_baseline
    profile = load_baseline_profile("digits")
    profile = dataclasses.replace(profile, train=_speedrun_train(profile.train))
    best = train_baseline(profile, "local", "digits", tmp_path / "b", epochs=2)
    ckpt = torch.load(tmp_path / "b" / "last.pt", map_location="cpu", weights_only=False)
    assert ckpt["epoch"] == 2 and "lookahead" in ckpt
    records = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["val_accuracy"] > 0.3 and best.is_file()
    # the same --out with the other recipe: a clear refusal, not an optimiser state error
    cosine = dataclasses.replace(profile, train=dataclasses.replace(profile.train, recipe="cosine", lr=0.2))
    with pytest.raises(ValueError, match="trained with train.recipe speedrun, this profile asks for cosine"):
        train_baseline(cosine, "local", "digits", tmp_path / "b", epochs=3)
