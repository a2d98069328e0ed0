"""The COCO panoptic thing/stuff vocabulary files are the two halves of coco_panoptic_133."""
from mmdet.datasets import CocoPanopticDataset

from umg_mm.structures.vocabulary import load_vocabulary


def test_coco_things_then_stuff_equal_the_133_classes_in_dataset_order():
    things = load_vocabulary('coco_panoptic_things_80')
    stuff = load_vocabulary('coco_panoptic_stuff_53')
    assert (len(things), len(stuff)) == (80, 53)
    assert things.synonyms + stuff.synonyms == load_vocabulary('coco_panoptic_133').synonyms
    meta = CocoPanopticDataset.METAINFO
    assert list(meta['classes'][:80]) == list(meta['thing_classes'])
    assert things.class_names[0] == meta['thing_classes'][0] == 'person'
