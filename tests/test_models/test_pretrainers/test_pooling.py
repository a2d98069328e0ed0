"""patch_coverage_pool: the batched product equals the per-mask weighted mean, without a
per-mask copy of the dense map."""
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from umg_mm.models.pretrainers.pooling import mask_coverage, patch_coverage_pool


class _LargestAllocation(TorchDispatchMode):
    """The largest tensor (elements) any operator returns."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


def test_pool_masks_equals_the_per_mask_mean_with_uneven_and_empty_images():
    torch.manual_seed(0)
    dense = torch.randn(3, 5, 4, 4, requires_grad=True)  # (B, D, h, w), patch 2 -> 8x8 px
    counts = [3, 0, 2]
    masks = [torch.rand(n, 7, 8) > 0.5 for n in counts]  # 7 px tall: the last row is padding
    pooled, coverage, image_index = patch_coverage_pool(dense, masks, patch_size=2)
    assert pooled.shape == (5, 5) and coverage.shape == (5, 4, 4)
    assert image_index.tolist() == [0, 0, 0, 2, 2]
    for s, (i, m) in enumerate((i, m) for i, ms in enumerate(masks) for m in ms):
        weights = mask_coverage(m[None], (4, 4), 2)[0]  # (h, w)
        expected = (dense[i] * weights).sum(dim=(1, 2)) / weights.sum()
        assert torch.allclose(pooled[s], expected, atol=1e-6)
    pooled.sum().backward()
    assert dense.grad[1].abs().sum() == 0 and dense.grad[0].abs().sum() > 0


def test_pool_masks_never_copies_the_dense_map_per_mask():
    batch, dim, grid, per_image = 4, 16, 8, 20
    dense = torch.randn(batch, dim, grid, grid, requires_grad=True)
    masks = [torch.rand(per_image, grid * 2, grid * 2) > 0.5 for _ in range(batch)]
    with _LargestAllocation() as mode:
        patch_coverage_pool(dense, masks, patch_size=2)[0].sum().backward()
    per_mask_copy = batch * per_image * dim * grid * grid  # (S, D, h, w)
    # the largest tensors are the masks' coverages: S x (2 h) x (2 w) floats at most
    assert mode.largest <= batch * per_image * (2 * grid) ** 2 < per_mask_copy
    empty = patch_coverage_pool(dense, [torch.zeros(0, 16, 16, dtype=torch.bool)] * batch, 2)
    assert empty[0].shape == (0, dim) and empty[2].numel() == 0


def test_crop_regions_is_torchvision_roi_align_and_the_whole_box_the_image():
    from torchvision.ops import roi_align

    from umg_mm.models.pretrainers.pooling import crop_regions
    torch.manual_seed(0)
    images = torch.randn(2, 3, 16, 12)
    boxes = torch.tensor([[0., 0., 12., 16.], [2., 3., 9., 7.], [1., 1., 11., 15.]])
    index = torch.tensor([1, 0, 1])
    crops = crop_regions(images, boxes, index, (16, 12))
    assert crops.shape == (3, 3, 16, 12)
    torch.testing.assert_close(crops[0], images[1], rtol=1e-5, atol=1e-5)
    expected = roi_align(images, torch.cat([index[:, None].float(), boxes], dim=1), (16, 12),
                         spatial_scale=1., sampling_ratio=-1, aligned=True)
    torch.testing.assert_close(crops, expected, rtol=1e-5, atol=1e-5)
    assert crop_regions(images, boxes[:0], index[:0], (8, 8)).shape == (0, 3, 8, 8)
