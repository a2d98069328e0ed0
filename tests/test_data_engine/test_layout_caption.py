"""The layout captioner: captions from the detections' names, sizes and positions."""
import numpy as np

from umg_mm.data_engine.sample import EngineSample
from umg_mm.data_engine.sources import ImageItem
from umg_mm.data_engine.stages import LayoutCaption
from umg_mm.data_engine.stages.caption import position_phrase, size_word


def test_positions_and_sizes():
    assert position_phrase([0, 0, 10, 10], 90, 90) == 'at the top left'
    assert position_phrase([40, 40, 50, 50], 90, 90) == 'in the middle'
    assert position_phrase([80, 40, 90, 50], 90, 90) == 'on the right'
    assert position_phrase([40, 80, 50, 90], 90, 90) == 'at the bottom'
    assert position_phrase([60, 60, 90, 90], 90, 90) == 'at the bottom right'
    assert size_word([0, 0, 10, 10], 100, 100) == 'small'
    assert size_word([0, 0, 25, 25], 100, 100) == 'medium'
    assert size_word([0, 0, 40, 40], 100, 100) == 'large'


def test_captions_from_regions_and_stuff():
    sample = EngineSample(ImageItem('a', 'a.jpg', 'a.jpg'), np.zeros((90, 90, 3), np.uint8))
    sample.record['regions'] = [
        dict(bbox=[0, 0, 10, 10], tags=['star'], extra=dict(score=0.5)),
        dict(bbox=[50, 30, 90, 70], tags=['circle'], extra=dict(score=0.9)),
        dict(bbox=[0, 0, 5, 5], captions=['no tag'], extra=dict(score=1.0))]
    sample.record['segments'] = [dict(tags=['grass'], isthing=False),
                                 dict(tags=['star'], isthing=True),
                                 dict(tags=['sky'], isthing=False)]
    LayoutCaption().process([sample])
    record = sample.record
    assert record['regions'][0]['captions'] == ['a small star']
    assert record['regions'][1]['captions'] == ['a large circle']
    assert record['regions'][2]['captions'] == ['no tag']  # regions without a name: untouched
    # best-scored region first; stuff from the stuff segments
    assert record['captions'] == ['a large circle on the right and a small star at the top '
                                  'left, on grass and sky']
    origin = record['extra']['provenance']['captions'][0]
    assert origin == dict(stage='caption', model='layout', score=None)
    LayoutCaption(max_regions=1).process([sample])  # a second caption, one region
    assert record['captions'][1] == 'a large circle on the right, on grass and sky'
