"""Masks as written in UMG records and COCO files: COCO RLE strings and tight boxes."""
from typing import List, Union

import numpy as np
import pycocotools.mask as mask_utils


def encode_rle(mask: np.ndarray) -> dict:
    """COCO RLE ``{'size': [h, w], 'counts': str}`` of a bool or 0/1 mask ``(h, w)``."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {'size': [int(rle['size'][0]), int(rle['size'][1])],
            'counts': rle['counts'].decode('ascii')}


def mask_box_xyxy(mask: np.ndarray) -> List[float]:
    """The tight box ``[x1, y1, x2, y2]`` of a non-empty mask, pixel corners (``x2 = last + 1``)."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    return [float(xs[0]), float(ys[0]), float(xs[-1] + 1), float(ys[-1] + 1)]


def segmentation_to_rle(segmentation: Union[list, dict], height: int, width: int) -> dict:
    """The compressed RLE of a COCO ``segmentation``: polygons (merged), uncompressed RLE
    (``counts`` a list) or compressed RLE (returned as it is), as ``COCO.annToRLE`` reads them.

    Raises:
        ValueError: ``segmentation`` is none of these, or an empty polygon list.
    """
    if isinstance(segmentation, list):
        if not segmentation:
            raise ValueError('empty polygon list')
        return mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    if isinstance(segmentation, dict) and isinstance(segmentation.get('counts'), list):
        return mask_utils.frPyObjects(segmentation, height, width)
    if isinstance(segmentation, dict) and 'counts' in segmentation:
        return segmentation
    raise ValueError(f'segmentation must be polygons or an RLE dict, got '
                     f'{type(segmentation).__name__}')
