"""Checking that a loaded semantic label map only holds class indices and the ignore value."""
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ..converters.common import IGNORE_INDEX_16BIT


@TRANSFORMS.register_module()
class CheckSegLabels(BaseTransform):
    """Raise a clear error on a label map value that names no class.

    A value ``v >= num_classes`` other than ``ignore_index`` would otherwise reach the loss (an
    index error deep in the head, or a device-side assert on GPU) or be silently dropped by the
    metric. Place it right after ``LoadAnnotations`` (``VocabularySegDataset`` inserts it there
    itself); it sees the map after ``reduce_zero_label`` and the dataset's ``label_map`` (which
    renumbers values ``0 .. num_classes - 1`` and leaves any other value as it is).

    Required keys: ``gt_seg_map`` (``(h, w)`` integer array), ``seg_map_path`` (for the message).

    Args:
        num_classes: the number of classes the label map files index; valid values are
            ``0 .. num_classes - 1`` and ``ignore_index``.
        ignore_index: the value of unlabeled pixels (mmseg's 255; 65535 for 16-bit maps).
        classes_source: where the class list comes from (a vocabulary file), for the message.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255, classes_source: str = ''):
        if num_classes < 1:
            raise ValueError(f'CheckSegLabels needs num_classes >= 1, got {num_classes}')
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.classes_source = classes_source

    def transform(self, results: dict) -> dict:
        labels = results['gt_seg_map']
        label_map = results.get('label_map')
        if labels.size == 0 or (label_map is None and int(labels.max()) < self.num_classes):
            return results
        valid = np.arange(self.num_classes) if label_map is None else \
            np.fromiter(label_map.values(), dtype=np.int64)
        bad = np.setdiff1d(np.unique(labels), np.append(valid, self.ignore_index))
        if bad.size:
            source = f' ({self.classes_source})' if self.classes_source else ''
            reduced = ' after reduce_zero_label (0 -> ignore, v -> v - 1)' \
                if results.get('reduce_zero_label') else ''
            wide = ' (65535 is the unlabeled value of the 16-bit maps that umg_mm\'s ADE-847 ' \
                'and Pascal Context-459 converters write: set ignore_index=65535 on the dataset ' \
                'and on the metric, one config variable for both)' \
                if bad.tolist() == [IGNORE_INDEX_16BIT] else ''
            raise ValueError(
                f'label map {results.get("seg_map_path", "<in memory>")} holds value(s) '
                f'{bad.tolist()[:10]}{reduced}, but the class list{source} has '
                f'{self.num_classes} classes (labels 0..{self.num_classes - 1}) and the ignore '
                f'index is {self.ignore_index}; add the missing classes to the class list (one '
                f'line per label, in label order), or write unlabeled pixels as '
                f'{self.ignore_index} (or set the dataset\'s ignore_index to their value){wide}')
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')
