import numpy as np
import pytest
import torch

from fcn_studio.inference.device import pick_device
from fcn_studio.inference.predictor import Predictor
from fcn_studio.model.fcn import build_fcn
from fcn_studio.model.input_spec import IMAGENET
from tests.conftest import smooth_image
from tests.model.caffe_port_reference import randomise_scores_


def _model(backbone="resnet18", classes=5, **kw):
    torch.manual_seed(0)
    model = build_fcn("fcn8s", backbone, num_classes=classes, **kw)
    randomise_scores_(model, std=0.05)
    return model


def test_prediction_is_label_map_and_confidence_of_the_image_size():
    pred = Predictor(_model(), IMAGENET, device="cpu").predict(smooth_image(45, 67))
    assert pred.labels.shape == pred.confidence.shape == (45, 67)
    assert pred.labels.dtype == np.uint8 and pred.labels.max() < 5
    assert pred.confidence.dtype == np.float32
    assert (pred.confidence >= 1 / 5 - 1e-6).all() and (pred.confidence <= 1).all()
    assert 0 <= pred.uncertainty() <= 1


def test_confidence_is_the_max_softmax_probability():
    p = Predictor(_model(), IMAGENET, device="cpu")
    image = smooth_image(40, 40)
    probs = torch.softmax(p.logits(image[None]), 1)[0]
    pred = p.predict(image)
    assert np.allclose(pred.confidence, probs.max(0).values.numpy(), atol=1e-6)
    assert np.array_equal(pred.labels, probs.argmax(0).numpy())


@pytest.mark.parametrize("backbone,alignment,size,tile", [("resnet18", "fast", (700, 900), 448),
                                                          ("mobilenet_v3_large", "fast", (700, 900), 448),
                                                          ("vgg16", "classic", (420, 520), 352)])
def test_tiled_and_untiled_predictions_agree(backbone, alignment, size, tile):
    model = _model(backbone, alignment=alignment, fc_channels=64)
    image = smooth_image(*size)
    whole = Predictor(model, IMAGENET, device="cpu").predict(image)
    tiled = Predictor(model, IMAGENET, device="cpu", max_pixels=100_000, tile=tile, overlap=256).predict(image)
    assert (whole.labels == tiled.labels).mean() > 0.99
    assert np.abs(whole.confidence - tiled.confidence).mean() < 0.01


def test_batches_give_the_same_answers_as_single_images():
    p = Predictor(_model("mobilenet_v3_small"), IMAGENET, device="cpu")
    images = [smooth_image(40, 50), smooth_image(40, 50)[::-1].copy(), smooth_image(33, 20), smooth_image(40, 50)]
    batch = p.predict_batch(images, batch_size=2)
    for img, got in zip(images, batch, strict=True):
        single = p.predict(img)
        assert np.array_equal(single.labels, got.labels)
        assert np.allclose(single.confidence, got.confidence, atol=1e-5)


def test_bgr_caffe_style_input_is_applied():
    from fcn_studio.model.input_spec import CAFFE_VGG

    p = Predictor(_model(), CAFFE_VGG, device="cpu")
    x = np.zeros((1, 2, 2, 3), np.uint8)
    x[..., 0] = 200  # red
    captured = {}
    p.model.register_forward_pre_hook(lambda m, args: captured.setdefault("x", args[0].clone()))
    p.logits(x)
    # BGR order: red lands in channel 2, minus Caffe's red mean 122.68
    assert torch.allclose(captured["x"][0, 2], torch.full((2, 2), 200 - 122.67891434))
    assert torch.allclose(captured["x"][0, 0], torch.full((2, 2), -104.00698793))


def test_bad_images_are_refused_with_the_reason():
    p = Predictor(_model(), IMAGENET, device="cpu")
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        p.predict(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        p.predict(np.zeros((10, 10, 3), np.float32))


def test_device_choice():
    assert pick_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert pick_device(None).type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_half_precision_path_agrees_with_the_cpu():
    model = _model()
    image = smooth_image(128, 160)
    cpu = Predictor(model, IMAGENET, device="cpu").predict(image)
    gpu = Predictor(_model(), IMAGENET, device="cuda").predict(image)
    assert (cpu.labels == gpu.labels).mean() > 0.98
