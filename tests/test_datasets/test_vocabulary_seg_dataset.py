"""VocabularySegDataset on real label maps: held-out classes become ignored through mmseg's
label_map, and a label value beyond the class list fails with an error naming the map file, the
value, the class count and the ignore index."""
import re

import cv2
import numpy as np
import pytest

import umg_mm  # noqa: F401  (registers the transforms)
from umg_mm.datasets import VocabularySegDataset
from umg_mm.datasets.transforms import CheckSegLabels

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='mmseg.LoadAnnotations')]


def _data(tmp_path, labels):
    for sub in ('img', 'ann'):
        (tmp_path / sub).mkdir(exist_ok=True)
    cv2.imwrite(str(tmp_path / 'img' / 'a.jpg'), np.zeros((4, 4, 3), np.uint8))
    cv2.imwrite(str(tmp_path / 'ann' / 'a.png'), np.array(labels, np.uint8))
    (tmp_path / 'all.txt').write_text('sky\ngrass, lawn\nwater\n')
    (tmp_path / 'seen.txt').write_text('water\nsky\n')
    return dict(data_root=str(tmp_path), data_prefix=dict(img_path='img', seg_map_path='ann'),
                pipeline=PIPELINE)


def test_held_out_classes_become_ignored(tmp_path):
    kwargs = _data(tmp_path, [[0, 1, 2, 255]] * 4)
    dataset = VocabularySegDataset(vocabulary=str(tmp_path / 'seen.txt'),
                                   label_vocabulary=str(tmp_path / 'all.txt'), **kwargs)
    assert dataset.metainfo['classes'] == ('water', 'sky')
    assert dataset.label_map == {0: 1, 1: 255, 2: 0}
    assert dataset[0]['gt_seg_map'][0].tolist() == [1, 255, 0, 255]
    with pytest.raises(ValueError, match=r"classes \['snow'\] of the vocabulary are not in"):
        VocabularySegDataset(vocabulary=['snow', 'sky'],
                             label_vocabulary=str(tmp_path / 'all.txt'), **kwargs)


def test_label_beyond_the_class_list_names_file_value_count_and_ignore_index(tmp_path):
    kwargs = _data(tmp_path, [[0, 1, 7, 255]] * 4)
    message = (rf"label map {re.escape(str(tmp_path / 'ann' / 'a.png'))} holds value\(s\) \[7\]"
               rf".*all\.txt\) has 3 classes \(labels 0\.\.2\) and the ignore index is 255")
    with pytest.raises(ValueError, match=message):
        VocabularySegDataset(vocabulary=str(tmp_path / 'all.txt'), **kwargs)[0]
    # with held-out classes the check still counts the classes the files index
    with pytest.raises(ValueError, match=message):
        VocabularySegDataset(vocabulary=str(tmp_path / 'seen.txt'),
                             label_vocabulary=str(tmp_path / 'all.txt'), **kwargs)[0]
    # predictions over a vocabulary that does not match the maps: the check can be left out
    dataset = VocabularySegDataset(vocabulary=['a', 'b'], check_labels=False, **kwargs)
    assert dataset[0]['gt_seg_map'][0].tolist() == [0, 1, 7, 255]
    # the 16-bit convention: 65535 is the ignore value, 255 then is a bad label
    check = CheckSegLabels(num_classes=3, ignore_index=65535)
    ok = dict(gt_seg_map=np.array([[0, 2, 65535]], np.uint16), seg_map_path='m.png')
    assert check(ok) is ok
    with pytest.raises(ValueError, match=r'\[255\].*ignore index is 65535'):
        check(dict(gt_seg_map=np.array([[0, 255]], np.uint16), seg_map_path='m.png'))
    # a 16-bit map read against mmseg's default 255: the message names the one-variable fix
    with pytest.raises(ValueError, match=r'm\.png holds value\(s\) \[65535\].*ignore index is '
                                         r'255.*set ignore_index=65535 on the dataset and on the '
                                         r'metric'):
        CheckSegLabels(num_classes=3)(dict(gt_seg_map=np.array([[0, 65535]], np.uint16),
                                           seg_map_path='m.png'))


def test_missing_or_bad_vocabulary_files(tmp_path):
    kwargs = _data(tmp_path, [[0] * 4] * 4)
    with pytest.raises(FileNotFoundError,
                       match=r"VocabularySegDataset\(vocabulary='nope/classes\.txt'\)"):
        VocabularySegDataset(vocabulary='nope/classes.txt', **kwargs)
    (tmp_path / 'dup.txt').write_text('sky\ngrass\nsky\n')
    with pytest.raises(ValueError, match=r"dup\.txt, line 3: class 'sky' repeats line 1"):
        VocabularySegDataset(vocabulary=str(tmp_path / 'dup.txt'), **kwargs)
    (tmp_path / 'empty.txt').write_text('sky\ngrass,,lawn\n')
    with pytest.raises(ValueError, match=r"empty\.txt, line 2: empty class name in "
                                         r"'grass, , lawn'"):
        VocabularySegDataset(vocabulary=str(tmp_path / 'empty.txt'), **kwargs)
