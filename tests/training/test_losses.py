import torch

from fcn_studio.core.sample_data import write_sample_voc
from fcn_studio.model.input_spec import IMAGENET
from fcn_studio.training.data import SegmentationDataset, voc_source
from fcn_studio.training.losses import median_frequency_weights, segmentation_loss


def test_sum_mean_and_ignore():
    logits = torch.zeros(1, 3, 2, 2)
    target = torch.tensor([[[0, 1], [2, 255]]])
    mean = segmentation_loss(logits, target, 255, "mean")
    total = segmentation_loss(logits, target, 255, "sum")
    assert torch.isclose(mean, torch.log(torch.tensor(3.0))) and torch.isclose(total, 3 * mean)


def test_loss_sampling_keeps_rare_classes():
    torch.manual_seed(0)
    logits = torch.randn(1, 2, 100, 100)
    target = torch.zeros(1, 100, 100, dtype=torch.long)
    target[0, :5] = 1  # rare
    full = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    sampled = segmentation_loss(logits, target, 255, "sum", sampling=0.25)
    rare = full[target == 1].sum()
    common = full[target == 0].sum()
    assert rare < sampled < rare + 0.5 * common


def test_median_frequency_weights_favour_rare_classes(tmp_path):
    source = voc_source(write_sample_voc(tmp_path / "voc", 8, size=(60, 80)))
    w = median_frequency_weights(SegmentationDataset(source.train, source.labels, IMAGENET, None))
    assert w.shape == (4,) and w[0] < w[1:].min()  # background is the most frequent
