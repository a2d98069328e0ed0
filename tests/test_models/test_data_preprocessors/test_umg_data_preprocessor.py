"""UMGDataPreprocessor: normalises and pads images, pads segment masks to match."""
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from umg_mm.models.data_preprocessors import UMGDataPreprocessor


def test_pads_images_and_masks_to_the_batch():
    pre = UMGDataPreprocessor(mean=[10., 20., 30.], std=[2., 2., 2.], pad_size_divisor=8,
                              bgr_to_rgb=True)
    samples = []
    for height, width in ((10, 12), (16, 7)):
        sample = DetDataSample()
        sample.gt_segments = InstanceData(masks=torch.ones(2, height, width, dtype=torch.bool))
        samples.append(sample)
    images = [torch.zeros(3, 10, 12, dtype=torch.uint8), torch.zeros(3, 16, 7, dtype=torch.uint8)]
    images[0][0] = 30  # the B channel of a BGR image
    out = pre(dict(inputs=images, data_samples=samples))
    assert out['inputs'].shape == (2, 3, 16, 16)
    assert out['inputs'][0, 2, 0, 0] == 0 and out['inputs'][0, 0, 0, 0] == -5  # swapped, (0-10)/2
    assert out['inputs'][0, :, 10:].abs().sum() == 0  # padding value 0
    for sample, (height, width) in zip(out['data_samples'], ((10, 12), (16, 7))):
        masks = sample.gt_segments.masks
        assert masks.shape == (2, 16, 16) and masks.dtype == torch.bool
        assert masks[:, :height, :width].all() and masks.sum() == 2 * height * width
        assert sample.batch_input_shape == (16, 16)
