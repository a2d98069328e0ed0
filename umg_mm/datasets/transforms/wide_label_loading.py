"""Loading mmseg label maps of more than 255 classes (16-bit PNG, e.g. ADE-847, PC-459)."""
import mmcv
import numpy as np
from mmengine import fileio
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadWideSegAnnotations(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` for 8-bit and 16-bit label maps.

    mmseg's own loader casts every label map to ``uint8``, which folds class 300 onto 44 and
    the 16-bit ignore value 65535 onto 255. This loader keeps the map's dtype (``uint8`` or
    ``uint16``), so vocabularies of up to 65535 classes work; set ``ignore_index=65535`` in the
    decode head's loss and in ``IoUMetric`` for 16-bit maps (the umg_mm converters of ADE-847
    and PASCAL-Context-459 write 65535 for unlabeled pixels). A dataset ``label_map`` (from a
    ``metainfo`` class subset) is applied as by mmseg. ``reduce_zero_label`` is not supported:
    the converters already write class indices from 0.

    Required keys: ``seg_map_path``. Added keys: ``gt_seg_map`` (``(h, w)``, uint8 or uint16),
    ``seg_fields``.
    """

    def _load_seg_map(self, results: dict) -> None:
        if self.reduce_zero_label or results.get('reduce_zero_label'):
            raise ValueError(f'LoadWideSegAnnotations does not support reduce_zero_label=True '
                             f'({results["seg_map_path"]}); write label maps whose classes '
                             f'start at 0 and set reduce_zero_label=False in the dataset')
        img_bytes = fileio.get(results['seg_map_path'], backend_args=self.backend_args)
        labels = mmcv.imfrombytes(img_bytes, flag='unchanged',
                                  backend=self.imdecode_backend).squeeze()
        if labels.ndim != 2 or labels.dtype not in (np.uint8, np.uint16):
            raise ValueError(f'{results["seg_map_path"]}: expected a one-channel 8- or 16-bit '
                             f'label map, got shape {labels.shape} and dtype {labels.dtype}')
        if results.get('label_map') is not None:
            original = labels.copy()
            for old_id, new_id in results['label_map'].items():
                labels[original == old_id] = new_id
        results['gt_seg_map'] = labels
        results['seg_fields'].append('gt_seg_map')
