"""``PackUMGInputs``: the last transform of a UMG pipeline; its output is what the pretraining
model's data preprocessor receives (format: ``docs/umg_data.md``, "The packed sample")."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform, to_tensor
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from umg_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackUMGInputs(BaseTransform):
    """Pack an image and its three annotation levels into ``inputs`` and a ``DetDataSample``.

    Output ``dict(inputs=..., data_samples=...)``:

    - ``inputs`` (torch.uint8 or float32, (C, H, W)): the image in the channel order it was
      loaded in (BGR with the default ``LoadUMGImage``), not normalised;
    - ``data_samples`` (``DetDataSample``):

      - ``gt_instances`` (``InstanceData``, R regions): ``bboxes`` (float32, (R, 4), absolute
        ``x1, y1, x2, y2`` in ``inputs`` pixels), ``texts`` (list[str], the sampled caption or
        tag of each region), ``tags`` (list[list[str]]);
      - ``gt_segments`` (``InstanceData``, S segments): ``masks`` (bool, (S, H, W)), ``bboxes``
        (float32, (S, 4), the tight box of each mask), ``texts`` (list[str]), ``tags``
        (list[list[str]]), ``isthing`` (bool, (S,));
      - ``img_text`` (str or None): the sampled image caption (or tag), ``img_captions`` and
        ``img_tags`` (list[str]): all of them;
      - meta information: the keys of ``meta_keys`` present in the results.

    Images without regions or segments get empty fields of the right shapes ((0, 4), (0, H, W)).
    Segments whose mask became empty (cropped away) are dropped here; regions are dropped by the
    geometric transforms themselves.

    Args:
        meta_keys (Sequence[str]): keys copied into the data sample's meta information.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = ('img_id', 'img_path', 'ann_file', 'record_id',
                                             'ori_shape', 'img_shape', 'pad_shape',
                                             'scale_factor', 'flip', 'flip_direction')) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Return ``dict(inputs=..., data_samples=...)`` as described in the class docstring."""
        img = results['img']
        if img.ndim < 3:
            img = img[..., None]
        inputs = to_tensor(np.ascontiguousarray(img.transpose(2, 0, 1)))
        height, width = img.shape[:2]

        table = results.get('umg_instances', [])
        ids = np.asarray(results.get('gt_bboxes_labels', np.zeros(0)), dtype=np.int64)
        keep = ~np.asarray(results.get('gt_ignore_flags', np.zeros(len(ids), bool)), dtype=bool)
        levels = np.array([table[i]['level'] for i in ids], dtype=object)
        boxes = results.get('gt_bboxes')
        boxes = (boxes.numpy() if hasattr(boxes, 'numpy') else np.asarray(boxes)
                 ) if boxes is not None else np.zeros((0, 4))
        boxes = boxes.reshape(-1, 4).astype(np.float32)

        regions = np.nonzero(keep & (levels == 'region'))[0]
        segments = np.nonzero(keep & (levels == 'segment'))[0]
        masks = np.zeros((0, height, width), dtype=bool)
        if len(segments):
            if results.get('gt_masks') is None:
                raise KeyError('PackUMGInputs: segments were loaded without gt_masks; build '
                               'LoadUMGAnnotations with with_segments=True')
            masks = results['gt_masks'][segments].to_ndarray().astype(bool).reshape(
                -1, height, width)
            nonempty = masks.reshape(len(masks), -1).any(1)
            segments, masks = segments[nonempty], masks[nonempty]

        data_sample = DetDataSample()
        data_sample.gt_instances = InstanceData(
            bboxes=torch.from_numpy(boxes[regions]),
            texts=[table[ids[i]]['text'] for i in regions],
            tags=[table[ids[i]]['tags'] for i in regions])
        data_sample.gt_segments = InstanceData(
            masks=torch.from_numpy(masks),
            bboxes=torch.from_numpy(boxes[segments]),
            texts=[table[ids[i]]['text'] for i in segments],
            tags=[table[ids[i]]['tags'] for i in segments],
            isthing=torch.tensor([bool(table[ids[i]]['isthing']) for i in segments],
                                 dtype=torch.bool))
        data_sample.img_text = results.get('img_text')
        data_sample.img_captions = list(results.get('img_captions', []))
        data_sample.img_tags = list(results.get('img_tags', []))
        data_sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=inputs, data_samples=data_sample)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
