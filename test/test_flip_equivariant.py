"""model.flip_equivariant: mirror-symmetric device kernels and the edge's mirrored remote pass."""
from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from agilenn_ros.config import ProfileError, profile_from_dict  # noqa: E402
from agilenn_ros.training.agilenn_model import AgileNN, DeviceModel, EdgeModel  # noqa: E402


def _raw(input_size: int = 24, stride1: int = 3, stride2: int = 1, flip_equivariant: bool = True) -> dict:
    return {"name": "flip", "dataset": "digits",
            "data": {"input_size": input_size, "mean": [0.5] * 3, "std": [0.5] * 3},
            "model": {"channels": 6, "k": 2, "fe_hidden": 4, "stride1": stride1, "stride2": stride2,
                      "remote": "resnet", "remote_widths": [8, 16], "flip_equivariant": flip_equivariant},
            "train": {"bf16": False}}


def _model(**kwargs: object) -> AgileNN:
    torch.manual_seed(0)
    return AgileNN(profile_from_dict(_raw(**kwargs), "flip"), classes=5)


def _depthwise_asymmetry(model: AgileNN) -> float:
    return max(float((c.weight - c.weight.flip(-1)).detach().abs().max())
               for c in (model.fe.sep1.depthwise, model.fe.sep2.depthwise))


@pytest.mark.parametrize("size,s1,s2,layer", [(24, 3, 2, "layer 2"), (25, 3, 1, "layer 1"), (96, 3, 2, "layer 2")])
def test_grids_that_are_not_their_own_mirror_image_are_refused(size: int, s1: int, s2: int, layer: str) -> None:
    with pytest.raises(ProfileError, match=f"flip_equivariant needs mirror-symmetric.*{layer}"):
        profile_from_dict(_raw(size, s1, s2), "flip")
    profile_from_dict(_raw(size, s1, s2, flip_equivariant=False), "flip")   # only the option needs it


@pytest.mark.parametrize("size,s1,s2", [(24, 3, 1), (96, 3, 1), (27, 3, 1), (33, 3, 2)])
def test_mirror_symmetric_grids_are_accepted(size: int, s1: int, s2: int) -> None:
    assert profile_from_dict(_raw(size, s1, s2), "flip").model.flip_equivariant


def test_training_keeps_kernels_symmetric_and_features_equivariant() -> None:
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=5e-3)
    gen = torch.Generator().manual_seed(1)
    for _ in range(4):   # a loss that is not mirror-symmetric itself: only the constraint keeps the kernels so
        out = model(torch.randn(8, 3, 24, 24, generator=gen))
        loss = out.fused_logits.square().mean() + out.features[..., :3].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert _depthwise_asymmetry(model) == 0.0
    model.eval()
    x = torch.randn(3, 3, 24, 24, generator=gen)
    with torch.no_grad():
        assert torch.allclose(model.fe(x.flip(-1)), model.fe(x).flip(-1), atol=1e-5)
    # the unconstrained extractor is not equivariant (the test would notice a lost constraint)
    plain = _model(flip_equivariant=False).eval()
    with torch.no_grad():
        assert not torch.allclose(plain.fe(x.flip(-1)), plain.fe(x).flip(-1), atol=1e-3)


def test_loaded_weights_are_made_symmetric() -> None:
    plain = _model(flip_equivariant=False)
    assert _depthwise_asymmetry(plain) > 0.01
    model = _model()
    model.load_state_dict(plain.state_dict())          # e.g. a reference network without the option
    assert _depthwise_asymmetry(model) == 0.0
    model.fe.load_state_dict(plain.fe.state_dict())    # the extractor alone (reference initialisation)
    assert _depthwise_asymmetry(model) == 0.0
    assert _depthwise_asymmetry(copy.deepcopy(model)) == 0.0


def test_eval_mode_averages_the_remote_over_the_mirror_image_and_training_does_not() -> None:
    model = _model()
    q = torch.rand(4, 4, 8, 8) * 6
    model.eval()
    with torch.no_grad():
        expected = (model.remote(q) + model.remote(q.flip(-1))) / 2
        assert torch.allclose(model.remote_predict(q), expected, atol=1e-6)
        assert torch.allclose(model.remote_predict(q.flip(-1)), model.remote_predict(q), atol=1e-5)
    model.train()
    with torch.no_grad():
        assert torch.allclose(model.remote_predict(q), model.remote(q))
    plain = _model(flip_equivariant=False).eval()
    with torch.no_grad():
        assert torch.allclose(plain.remote_predict(q), plain.remote(q))


def test_exported_halves_see_a_mirrored_frame_as_the_same_frame(tmp_path) -> None:
    ort = pytest.importorskip("onnxruntime")
    from agilenn_ros.export.onnx_export import export_device, export_edge
    model = _model().eval()
    export_device(model, tmp_path / "device.onnx")
    export_edge(model, tmp_path / "edge.onnx", (4, 8, 8), 5)
    device = ort.InferenceSession(str(tmp_path / "device.onnx"))
    edge = ort.InferenceSession(str(tmp_path / "edge.onnx"))
    image = (np.random.default_rng(2).random((6, 3, 24, 24)) * 255).astype(np.float32)
    local, idx = device.run(None, {"image": image})
    local_m, idx_m = device.run(None, {"image": np.ascontiguousarray(image[..., ::-1])})
    # nearest-centroid ties can differ by float rounding: nearly every index is mirrored exactly
    assert np.mean(idx_m == idx[..., ::-1]) > 0.99
    np.testing.assert_allclose(local_m, local, atol=1e-4)
    fused, remote = edge.run(None, {"indices": idx, "local_logits": local})
    fused_m, remote_m = edge.run(None, {"indices": np.ascontiguousarray(idx[..., ::-1]), "local_logits": local})
    np.testing.assert_allclose(remote_m, remote, atol=1e-4)
    with torch.no_grad():
        ref_fused, ref_remote = EdgeModel(model)(torch.from_numpy(idx), torch.from_numpy(local))
        ref_local, ref_idx = DeviceModel(model)(torch.from_numpy(image))
    np.testing.assert_allclose(remote, ref_remote.numpy(), atol=1e-4)
    np.testing.assert_allclose(fused, ref_fused.numpy(), atol=1e-4)
    assert np.mean(ref_idx.numpy() == idx) > 0.99


def _baseline_raw(**edge: object) -> dict:
    net = {"fe_hidden": 4, "channels": 6, "stride1": 3, "stride2": 2, "family": "resnet", "widths": [8, 16]}
    return {"name": "bflip", "dataset": "digits", "data": {"input_size": 24, "mean": [0.5] * 3, "std": [0.5] * 3},
            "train": {"bf16": False, "epochs": 1, "batch_size": 64, "lr": 0.1},
            "kinds": {"edge": {**net, **edge}, "local": dict(net), "split": dict(net)}}


def test_baseline_flip_tta_is_for_the_edge_kind_only() -> None:
    from agilenn_ros.baseline_config import baseline_profile_from_dict
    assert baseline_profile_from_dict(_baseline_raw(flip_tta=True), "bflip").net("edge").flip_tta
    for kind in ("local", "split"):
        raw = _baseline_raw()
        raw["kinds"][kind]["flip_tta"] = True
        with pytest.raises(ProfileError, match=f"kinds.{kind}.flip_tta: only the edge kind"):
            baseline_profile_from_dict(raw, "bflip")


def test_baseline_edge_with_flip_tta_averages_over_the_mirror_image_in_eval_mode() -> None:
    from agilenn_ros.baseline_config import baseline_profile_from_dict
    from agilenn_ros.training.baselines import BaselineNetwork
    torch.manual_seed(0)
    net = BaselineNetwork(baseline_profile_from_dict(_baseline_raw(flip_tta=True), "bflip").net("edge"), 5)
    x = torch.randn(4, 3, 24, 24)
    with torch.no_grad():
        net.train()
        single = net(x)
        net.eval()
        one_way = net.head(net.body(net.stem(x)))
        mirrored = net.head(net.body(net.stem(x.flip(-1))))
        assert torch.allclose(net(x), (one_way + mirrored) / 2, atol=1e-6)
        assert torch.allclose(net(x.flip(-1)), net(x), atol=1e-5)
        assert not torch.allclose(single, net(x), atol=1e-4)


def test_export_baseline_flip_tta_makes_a_mirror_invariant_edge_model(tmp_path) -> None:
    ort = pytest.importorskip("onnxruntime")
    import json

    from agilenn_ros.baseline_config import baseline_profile_from_dict
    from agilenn_ros.export.baseline_export import export_baseline
    from agilenn_ros.training.baselines import train_baseline
    best = train_baseline(baseline_profile_from_dict(_baseline_raw(), "bflip"), "edge", "digits", tmp_path / "run",
                          epochs=1, max_train=256)
    image = (np.random.default_rng(3).random((4, 3, 24, 24)) * 255).astype(np.float32)
    mirror = np.ascontiguousarray(image[..., ::-1])
    outputs = {}
    for flip in (False, True):
        out = export_baseline(best, tmp_path / f"edge{flip}", flip_tta=flip, threads=1)
        assert json.loads((out / "manifest.json").read_text())["network"]["flip_tta"] is flip
        session = ort.InferenceSession(str(out / "model.onnx"))
        outputs[flip] = [session.run(None, {"image": x})[0] for x in (image, mirror)]
    np.testing.assert_allclose(outputs[True][1], outputs[True][0], atol=1e-4)
    np.testing.assert_allclose(outputs[True][0], (outputs[False][0] + outputs[False][1]) / 2, atol=1e-4)
    assert not np.allclose(outputs[False][1], outputs[False][0], atol=1e-3)
    with pytest.raises(ValueError, match="--flip-tta is for the edge kind only"):
        export_baseline(best, tmp_path / "split", kind="split", flip_tta=True, data="digits", threads=1)
    # a split cut past the body leaves the edge nothing but the head: refused in one line
    ckpt = torch.load(best, map_location="cpu", weights_only=False)
    ckpt["profile"]["kinds"]["split"]["cut"] = 99
    deep = tmp_path / "deep_cut.pt"
    torch.save(ckpt, deep)
    with pytest.raises(ValueError, match=r"kinds.split.cut 99 leaves nothing of the body at the edge"):
        export_baseline(deep, tmp_path / "split99", kind="split", data="digits", threads=1)


def test_a_checkpoint_from_before_a_new_model_key_still_resumes() -> None:
    from agilenn_ros.config import load_profile
    from agilenn_ros.training.checkpoints import _differences, _profile_view
    current = load_profile("digits").to_dict()
    older = copy.deepcopy(current)
    del older["model"]["flip_equivariant"]          # written before the key existed
    assert _differences(_profile_view(older, False), _profile_view(current, False)) == []
    changed = copy.deepcopy(current)
    changed["model"]["flip_equivariant"] = True     # a real change is still one
    assert _differences(_profile_view(changed, False), _profile_view(current, False)) == ["model.flip_equivariant"]


def test_flip_equivariant_needs_flip_augmentation() -> None:
    raw = _raw()
    raw["data"]["flip"] = False
    with pytest.raises(ProfileError, match="flip_equivariant needs data.flip: true"):
        profile_from_dict(raw, "flip")


def test_grid_and_flip_problems_come_in_one_line() -> None:
    raw = _raw(24, 3, 2)
    raw["data"]["flip"] = False
    with pytest.raises(ProfileError, match="use stride2: 1; it also needs data.flip: true"):
        profile_from_dict(raw, "flip")
