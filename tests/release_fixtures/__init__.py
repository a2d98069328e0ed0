"""Public dataset releases in miniature, for tests: the directory names, file names, split
files, bit depths, ignore values and annotation fields of each release that umg_mm's configs
and converters name, with a few 32-64 px images each and the quirks real files have (unlabeled
pixels, 16-bit maps, grayscale and EXIF-tagged JPEGs, ids that skip numbers, classes absent
from a split). One module per release family; each names where its layout comes from.

Each ``write_*`` function takes the ``data`` folder and writes the release under it where the
configs look for it (``write_scene_parsing`` takes the ``ADEChallengeData2016`` folder itself).
"""
from .ade20k import write_full_release, write_scene_parsing
from .coco import write_coco2017, write_coco_stuff164k
from .pascal import write_voc2010_context, write_voc2012
from .visual_genome import write_visual_genome

__all__ = ['write_coco2017', 'write_coco_stuff164k', 'write_scene_parsing', 'write_full_release',
           'write_voc2012', 'write_voc2010_context', 'write_visual_genome']
