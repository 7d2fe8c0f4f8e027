from __future__ import annotations

from pathlib import Path

import pytest
import torch

from edge.core.errors import OfficeScoreError
from export.random_model import random_maskrcnn
from export.source import load_torchscript, load_torchvision_model, read_hyper_parameters
from tests.helpers import SMALL_MASKRCNN as SMALL


def test_torchscript_rebuilds_to_the_same_eager_model(scripted_model: Path) -> None:
    source = load_torchscript(scripted_model)
    assert source.architecture == "maskrcnn_resnet50_fpn"
    assert source.hyper["min_size"] == (240,) and source.hyper["max_size"] == 320
    assert source.hyper["rpn_post_nms_top_n_test"] == 100 and source.hyper["num_classes"] == 91
    assert source.kernels == "native" and len(source.sha256 or "") == 64
    image = torch.rand(3, 200, 300, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        eager = source.eager([image])[0]
        scripted = source.reference([image])[1][0]
    assert len(eager["boxes"]) > 0
    torch.testing.assert_close(eager["boxes"], scripted["boxes"])
    torch.testing.assert_close(eager["masks"], scripted["masks"])


def test_v2_architecture_is_recognised() -> None:
    script = torch.jit.script(random_maskrcnn("maskrcnn_resnet50_fpn_v2", **SMALL))
    architecture, hyper = read_hyper_parameters(script)
    assert architecture == "maskrcnn_resnet50_fpn_v2" and hyper["num_classes"] == 91


def test_a_torchscript_that_is_not_a_mask_rcnn_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "linear.pt"
    torch.jit.script(torch.nn.Linear(3, 2)).save(str(path))
    with pytest.raises(
        OfficeScoreError, match="not a Mask R-CNN: the TorchScript model is a Linear"
    ):
        load_torchscript(path)


def test_corrupt_torchscript_is_refused(scripted_model: Path, tmp_path: Path) -> None:
    path = tmp_path / "truncated.pt"
    path.write_bytes(scripted_model.read_bytes()[:5000])
    with pytest.raises(OfficeScoreError, match="is not a loadable TorchScript file"):
        load_torchscript(path)


def test_state_dict_loads_with_weights_only_and_classes_from_its_shapes(tmp_path: Path) -> None:
    path = tmp_path / "weights.pth"
    torch.save(random_maskrcnn(num_classes=7, **SMALL).state_dict(), path)
    source = load_torchvision_model("maskrcnn_resnet50_fpn", str(path), None, **SMALL)
    assert source.eager.roi_heads.box_predictor.cls_score.out_features == 7


def test_state_dict_with_wrong_shapes_is_refused(tmp_path: Path) -> None:
    state = random_maskrcnn(**SMALL).state_dict()
    state["backbone.body.conv1.weight"] = torch.zeros(8, 3, 3, 3)
    path = tmp_path / "wrong.pth"
    torch.save(state, path)
    with pytest.raises(OfficeScoreError, match="weights do not fit maskrcnn_resnet50_fpn"):
        load_torchvision_model("maskrcnn_resnet50_fpn", str(path), None)


class Payload:
    def __reduce__(self) -> tuple:
        return (print, ("this must never run",))


def test_checkpoint_with_code_is_refused_not_executed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "untrusted.pth"
    torch.save({"payload": Payload()}, path)
    with pytest.raises(OfficeScoreError, match="not a plain state_dict"):
        load_torchvision_model("maskrcnn_resnet50_fpn", str(path), None)
    assert "this must never run" not in capsys.readouterr().out


def test_unknown_architecture_is_refused() -> None:
    with pytest.raises(OfficeScoreError, match="unknown architecture"):
        load_torchvision_model("fasterrcnn_mobilenet", "x.pth", None)
