"""COCO-format panoptic data trained on a subset of its categories (the others held out)."""
from mmdet.datasets import CocoPanopticDataset
from mmdet.registry import DATASETS


@DATASETS.register_module()
class CocoPanopticSubsetDataset(CocoPanopticDataset):
    """mmdet's ``CocoPanopticDataset`` whose ``metainfo['classes']`` may name only some of the
    annotation file's categories.

    mmdet's dataset fails (``KeyError`` in ``cat2label``) on a segment whose category is not in
    ``metainfo['classes']``. Here such segments are dropped, so their pixels are void (ignored
    by the loss, like unlabeled pixels): the held-out classes of an open-vocabulary training.
    Labels index ``metainfo['classes']`` (things first, as mmdet requires); give
    ``metainfo=dict(classes=..., thing_classes=..., stuff_classes=...)`` with the kept names.
    """

    def parse_data_info(self, raw_data_info: dict) -> dict:
        kept = set(self.cat_ids)
        raw_data_info = dict(raw_data_info, raw_ann_info=[
            ann for ann in raw_data_info['raw_ann_info'] if ann['category_id'] in kept])
        return super().parse_data_info(raw_data_info)
