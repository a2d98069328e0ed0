"""Preprocessed pretraining batches at UMG-41M counts, made up (no image is read).

What the pretrainer's ``loss`` receives after ``UMGDataPreprocessor``: ``inputs`` ``(B, 3, H, W)``
and ``DetDataSample`` s in :class:`~umg_mm.datasets.transforms.PackUMGInputs`' layout, with
``regions`` boxes and ``segments`` masks per image. Every image has a caption; a region has a
caption and ``texts - 1`` tags, a segment ``texts`` tags. Captions are distinct across the global
batch (they carry the rank), tags are drawn from a vocabulary of ``num_tags`` names shared by
all ranks, so they repeat as the categories of a real dataset do.
"""
import random
from typing import List

import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

#: LVIS-sized tag vocabulary
NUM_TAGS = 1203


def _boxes(count: int, size: int, rng: random.Random) -> torch.Tensor:
    """``(count, 4)`` boxes ``x1, y1, x2, y2`` of at least 1/8 of the side, inside the image."""
    boxes = []
    for _ in range(count):
        w, h = rng.randint(size // 8, size), rng.randint(size // 8, size)
        x, y = rng.randint(0, size - w), rng.randint(0, size - h)
        boxes.append([x, y, x + w, y + h])
    return torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)


def _masks(boxes: torch.Tensor, size: int) -> torch.Tensor:
    """``(S, size, size)`` bool masks filling ``boxes``."""
    grid = torch.arange(size)
    x1, y1, x2, y2 = (boxes[:, i, None] for i in range(4))
    inside_x = (grid[None] >= x1) & (grid[None] < x2)
    inside_y = (grid[None] >= y1) & (grid[None] < y2)
    return inside_y[:, :, None] & inside_x[:, None, :]


def umg_batch(batch_size: int, image_size: int, regions: int, segments: int, texts: int,
              rank: int = 0, seed: int = 0, num_tags: int = NUM_TAGS,
              device: torch.device = torch.device('cpu')) -> dict:
    """A preprocessed batch (see the module docstring).

    Returns:
        ``dict(inputs=(B, 3, S, S) float, data_samples=list of DetDataSample)``.
    """
    if texts < 1:
        raise ValueError(f'texts={texts}; each region and segment needs at least one text')
    rng = random.Random(seed * 1_000_003 + rank)
    samples: List[DetDataSample] = []
    for i in range(batch_size):
        sample = DetDataSample(metainfo=dict(
            img_shape=(image_size, image_size), pad_shape=(image_size, image_size),
            batch_input_shape=(image_size, image_size)))
        tags = lambda n: [f'tag {rng.randrange(num_tags)}' for _ in range(n)]  # noqa: E731
        sample.gt_instances = InstanceData(
            bboxes=_boxes(regions, image_size, rng),
            texts=[f'region {rank}-{i}-{r}' for r in range(regions)],
            tags=[tags(texts - 1) for _ in range(regions)])
        segment_boxes = _boxes(segments, image_size, rng)
        sample.gt_segments = InstanceData(
            masks=_masks(segment_boxes, image_size), bboxes=segment_boxes,
            texts=[f'segment {rank}-{i}-{s}' for s in range(segments)],
            tags=[tags(texts) for _ in range(segments)],
            isthing=torch.zeros(segments, dtype=torch.bool))
        sample.img_text = f'image {rank}-{i}'
        samples.append(sample.to(device))
    generator = torch.Generator().manual_seed(seed + rank)
    inputs = torch.randn(batch_size, 3, image_size, image_size, generator=generator)
    return dict(inputs=inputs.to(device), data_samples=samples)
