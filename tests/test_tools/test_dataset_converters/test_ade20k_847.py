import json
import os.path as osp
import pickle

import cv2
import numpy as np
import pytest
from mmengine.registry import DefaultScope

from tests.release_fixtures import write_full_release

WALL, SKY, PERSON, LAMP = 2978, 2421, 5, 300  # ADE indices (objectnames[k - 1])


def _seg_png(classes):
    """An ADE20K full ``*_seg.png`` (BGR for OpenCV): class = R // 10 * 256 + G."""
    r = (classes // 256) * 10 + 3  # R keeps its ones digit free, as in the release
    g = classes % 256
    b = np.full_like(classes, 7)  # instance channel, ignored here
    return np.stack([b, g, r], -1).astype(np.uint8)


@pytest.fixture
def ade(tmp_path):
    root = tmp_path / 'ADE20K_2021_17_01'
    names = [f'object {i}' for i in range(1, 3201)]
    names[WALL - 1], names[SKY - 1] = 'wall', 'sky'
    names[PERSON - 1], names[LAMP - 1] = 'person, individual', 'lamp'
    images = {
        ('training', 'ADE_train_00000001'): [(WALL, (0, 12)), (SKY, (12, 24)), (PERSON, (24, 30))],
        ('training', 'ADE_train_00000002'): [(WALL, (0, 30))],
        ('validation', 'ADE_val_00000001'): [(0, (0, 6)), (SKY, (6, 12)), (WALL, (12, 24)),
                                             (LAMP, (24, 30))],
    }
    index = {'filename': [], 'folder': [], 'objectnames': names}
    for (split, stem), bands in images.items():
        folder = f'ADE20K_2021_17_01/images/ADE/{split}/urban/street'
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        classes = np.zeros((30, 20), np.int64)
        for cls, (y0, y1) in bands:
            classes[y0:y1] = cls
        cv2.imwrite(str(tmp_path / folder / f'{stem}.jpg'),
                    np.full((30, 20, 3), 128, np.uint8))
        cv2.imwrite(str(tmp_path / folder / f'{stem}_seg.png'), _seg_png(classes))
        index['filename'].append(f'{stem}.jpg')
        index['folder'].append(folder)
    with open(root / 'index_ade20k.pkl', 'wb') as f:
        pickle.dump(index, f)
    return root


def test_ade20k_full_to_label_maps(ade, tmp_path, load_tool, capsys):
    out = tmp_path / 'ade847'
    load_tool('dataset_converters/ade20k_847.py').main(
        [str(ade), str(out), '--splits', 'training', 'validation', '--max-short-side', '0'])
    # the file the ADE-847 configs read, whatever the count found
    assert 'note: the benchmark has 847 classes; this release gave 2' in capsys.readouterr().out
    # classes in both splits, most frequent in training first: wall (2 images), sky (1)
    assert (out / 'ade20k_847.txt').read_text() == 'wall\nsky\n'
    classes = json.loads((out / 'ade20k_847_classes.json').read_text())
    assert classes[0] == {'index': 0, 'ade_index': WALL, 'name': 'wall', 'training_images': 2,
                          'validation_images': 1}
    val = cv2.imread(str(out / 'annotations' / 'validation' / 'ADE_val_00000001.png'),
                     cv2.IMREAD_UNCHANGED)
    assert val.dtype == np.uint16 and val.shape == (30, 20)
    assert (val[:6] == 65535).all() and (val[6:12] == 1).all()
    assert (val[12:24] == 0).all() and (val[24:] == 65535).all()  # lamp only in val: ignored
    train = cv2.imread(str(out / 'annotations' / 'training' / 'ADE_train_00000001.png'),
                       cv2.IMREAD_UNCHANGED)
    assert (train[24:] == 65535).all()  # person only in training: ignored
    assert osp.isfile(out / 'images' / 'validation' / 'ADE_val_00000001.jpg')


def test_resizes_to_the_benchmark_short_side_and_reads_in_mmseg(ade, tmp_path, load_tool):
    from mmseg.datasets import BaseSegDataset

    from umg_mm.datasets.transforms import LoadWideSegAnnotations  # noqa: F401 (registers)
    out = tmp_path / 'ade847'
    load_tool('dataset_converters/ade20k_847.py').main([str(ade), str(out),
                                                        '--max-short-side', '10'])
    assert not (out / 'annotations' / 'training').exists()
    with DefaultScope.overwrite_default_scope('mmseg'):  # as an mmseg config's runner does
        dataset = BaseSegDataset(
            data_root=str(out), data_prefix=dict(img_path='images/validation',
                                                 seg_map_path='annotations/validation'),
            img_suffix='.jpg', seg_map_suffix='.png', metainfo=dict(classes=('wall', 'sky')),
            pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadWideSegAnnotations')])
    item = dataset[0]
    assert item['img'].shape == (15, 10, 3)
    assert item['gt_seg_map'].shape == (15, 10) and item['gt_seg_map'].dtype == np.uint16
    assert set(np.unique(item['gt_seg_map'])) == {0, 1, 65535}


def test_missing_index_is_explained(tmp_path, load_tool):
    with pytest.raises(FileNotFoundError, match='index_ade20k.pkl not found'):
        load_tool('dataset_converters/ade20k_847.py').main([str(tmp_path), str(tmp_path / 'o')])


def test_full_release_in_miniature(tmp_path, load_tool):
    """The release's own layout (tests/release_fixtures/ade20k.py): the classes of both splits,
    16-bit maps, 65535 where unlabeled or for a class of one split only."""
    expected = write_full_release(tmp_path)
    out = tmp_path / 'ade847'
    load_tool('dataset_converters/ade20k_847.py').main(
        [str(tmp_path / 'ADE20K_2021_17_01'), str(out)])
    assert (out / 'ade20k_847.txt').read_text().splitlines() == expected
    val = cv2.imread(str(out / 'annotations' / 'validation' / 'ADE_val_00000001.png'),
                     cv2.IMREAD_UNCHANGED)
    assert val.dtype == np.uint16 and val.shape == (48, 64)
    assert set(np.unique(val).tolist()) == {0, 1, 2, 3, 65535}  # the lamp: validation only
    assert (val[:, :2] == 65535).all()  # unlabeled
