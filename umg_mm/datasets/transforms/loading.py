"""Loading transforms for UMG records: the image, and boxes/masks/texts in mmdet's structures."""
from typing import List, Optional, Union

import mmcv
import numpy as np
import pycocotools.mask as mask_util
import torch
from mmcv.transforms import LoadImageFromFile
from mmdet.datasets.transforms import LoadAnnotations

from umg_mm.registry import TRANSFORMS
from ..mask_rle import segmentation_to_rle


def _where(results: dict) -> str:
    """``file [record]`` of the record being transformed, for error messages."""
    record = results.get('record_id')
    return f"{results.get('ann_file', results.get('img_path', '?'))}" + (
        f' [{record}]' if record else '')


@TRANSFORMS.register_module()
class LoadUMGImage(LoadImageFromFile):
    """Load the image of a UMG record, from its file or from the bytes of a shard sample.

    Behaves as mmcv's ``LoadImageFromFile`` (same arguments) when the data info has no
    ``img_bytes``; with ``img_bytes`` (``UMGWebDataset``) it decodes those bytes. Then checks that
    the decoded size equals the record's ``image.height/width``.

    Required keys: ``img_path`` or ``img_bytes``; ``height``, ``width`` (optional).
    Added keys: ``img``, ``img_shape``, ``ori_shape``. Removed keys: ``img_bytes``.

    Raises:
        ValueError: the decoded image's size differs from the record's, naming the file and record.
    """

    def transform(self, results: dict) -> Optional[dict]:
        """Decode the image; None when it cannot be read and ``ignore_empty`` is set."""
        img_bytes = results.pop('img_bytes', None)
        if img_bytes is None:
            results = super().transform(results)
            if results is None:
                return None
        else:
            img = mmcv.imfrombytes(img_bytes, flag=self.color_type, backend=self.imdecode_backend)
            if img is None:
                if self.ignore_empty:
                    return None
                raise ValueError(f'{_where(results)}: cannot decode image {results["img_path"]}')
            if self.to_float32:
                img = img.astype(np.float32)
            results['img'] = img
            results['img_shape'] = img.shape[:2]
            results['ori_shape'] = img.shape[:2]
        declared = (results.get('height'), results.get('width'))
        if None not in declared and tuple(results['ori_shape']) != declared:
            raise ValueError(
                f'{_where(results)} image: image.height/width say {declared[0]}x{declared[1]} but '
                f'{results["img_path"]} is {results["ori_shape"][0]}x{results["ori_shape"][1]} '
                '(height x width); fix the record (tools/validate_umg.py finds all of them)')
        return results


def _segment_box(segmentation: Union[dict, list], height: int, width: int) -> List[float]:
    """The tight ``[x1, y1, x2, y2]`` box of the pixels of a COCO RLE or polygon segmentation."""
    x, y, w, h = mask_util.toBbox(segmentation_to_rle(segmentation, height, width)).tolist()
    return [x, y, x + w, y + h]


@TRANSFORMS.register_module()
class LoadUMGAnnotations(LoadAnnotations):
    """Decode a UMG record's regions and segments into mmdet's structures, and sample its texts.

    Regions and segments become one list of instances that mmdet's geometric transforms
    (``Resize``, ``RandomFlip``, ``RandomCrop``, ``Pad``, ``FilterAnnotations``...) keep aligned:
    regions first, then segments. ``gt_bboxes_labels[i]`` is not a class but the index of instance
    ``i`` in ``umg_instances``; every transform that drops boxes drops their labels by the same
    index, so the texts stay with their boxes and masks.

    Added keys:

    - ``gt_bboxes`` (``HorizontalBoxes``, (N, 4)): region boxes, then the tight boxes of the
      segments' pixels;
    - ``gt_bboxes_labels`` (np.int64, (N,)): index into ``umg_instances``;
    - ``gt_ignore_flags`` (bool, (N,));
    - ``gt_masks`` (``BitmapMasks`` or ``PolygonMasks``, (N, H, W)), when ``with_segments``: the
      segment masks; a region's mask is its filled box (it only keeps the list aligned);
    - ``umg_instances`` (list[dict]): per instance ``level`` (``'region'``/``'segment'``),
      ``captions``, ``tags``, ``isthing`` (None for regions) and ``text``, the text sampled for
      this epoch;
    - ``img_captions``, ``img_tags`` (list[str]) and ``img_text`` (str or None).

    Text sampling: ``text`` is one of the captions or, when there is none, one of the tags.
    ``caption_sampling='random'`` picks anew on every call, i.e. once per epoch;
    ``'first'`` always takes the first (for evaluation). The random picks use
    ``np.random.default_rng((seed, torch.initial_seed()))`` when ``seed`` is set (reproducible,
    and different per dataloader worker and per epoch since the Runner seeds each worker), else
    NumPy's global generator (which the Runner seeds with ``randomness.seed``).

    Args:
        with_regions (bool): load ``regions``. Defaults to True.
        with_segments (bool): load ``segments`` and their masks. Defaults to True.
        poly2mask (bool): masks as ``BitmapMasks`` (True) or ``PolygonMasks`` (False; every
            segment must then be a polygon). Defaults to True.
        caption_sampling (str): ``'random'`` or ``'first'``. Defaults to ``'random'``.
        seed (int, optional): seed of the text sampling. Defaults to None.
        box_type (str): mmdet box type. Defaults to ``'hbox'``.
    """

    def __init__(self,
                 with_regions: bool = True,
                 with_segments: bool = True,
                 poly2mask: bool = True,
                 caption_sampling: str = 'random',
                 seed: Optional[int] = None,
                 box_type: str = 'hbox') -> None:
        if caption_sampling not in ('random', 'first'):
            raise ValueError(f"caption_sampling must be 'random' or 'first', got "
                             f'{caption_sampling!r}')
        super().__init__(with_bbox=True, with_label=True, with_mask=with_segments,
                         poly2mask=poly2mask, box_type=box_type)
        self.with_regions = with_regions
        self.with_segments = with_segments
        self.caption_sampling = caption_sampling
        self.seed = seed
        self._rng: Optional[np.random.Generator] = None
        self._rng_key: Optional[int] = None

    def _choose(self, n: int) -> int:
        """Index of the text to take among ``n``."""
        if self.caption_sampling == 'first' or n == 1:
            return 0
        if self.seed is None:
            return int(np.random.randint(n))
        key = torch.initial_seed()
        if self._rng is None or key != self._rng_key:
            self._rng = np.random.default_rng([self.seed, key])
            self._rng_key = key
        return int(self._rng.integers(n))

    def sample_text(self, captions: List[str], tags: List[str]) -> Optional[str]:
        """One caption or, without captions, one tag; None when there is neither."""
        texts = captions or tags
        return texts[self._choose(len(texts))] if texts else None

    def transform(self, results: dict) -> dict:
        """Add the keys listed in the class docstring (``ori_shape`` must be set)."""
        height, width = results['ori_shape']
        instances, table = [], []
        if self.with_regions:
            for region in results.get('regions', []):
                x1, y1, x2, y2 = region['bbox']
                instances.append(dict(bbox=[x1, y1, x2, y2], bbox_label=len(table),
                                      ignore_flag=0, mask=[[x1, y1, x2, y1, x2, y2, x1, y2]]))
                table.append(self._entry('region', region, None))
        if self.with_segments:
            for i, segment in enumerate(results.get('segments', [])):
                seg = segment['segmentation']
                if not self.poly2mask and isinstance(seg, dict):
                    raise ValueError(
                        f'{_where(results)} segments[{i}].segmentation: an RLE mask cannot be '
                        'loaded as PolygonMasks; set poly2mask=True (BitmapMasks)')
                instances.append(dict(bbox=_segment_box(seg, height, width),
                                      bbox_label=len(table), ignore_flag=0, mask=seg))
                table.append(self._entry('segment', segment, segment['isthing']))
        results['instances'] = instances
        results = super().transform(results)
        del results['instances']
        results['umg_instances'] = table
        results['img_captions'] = list(results.get('captions', []))
        results['img_tags'] = list(results.get('tags', []))
        results['img_text'] = self.sample_text(results['img_captions'], results['img_tags'])
        return results

    def _entry(self, level: str, item: dict, isthing: Optional[bool]) -> dict:
        """The ``umg_instances`` entry of one region or segment."""
        captions, tags = list(item.get('captions', [])), list(item.get('tags', []))
        return dict(level=level, captions=captions, tags=tags, isthing=isthing,
                    text=self.sample_text(captions, tags))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(with_regions={self.with_regions}, '
                f'with_segments={self.with_segments}, poly2mask={self.poly2mask}, '
                f'caption_sampling={self.caption_sampling!r}, seed={self.seed})')
