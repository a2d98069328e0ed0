import tarfile

import cv2
import numpy as np
import pytest

from tests.release_fixtures import write_voc2010_context
from tests.release_fixtures.pascal import write_context_release


@pytest.fixture
def pascal_context(tmp_path):
    """``trainval.tar.gz`` of ``trainval/<id>.mat`` (uint16 LabelMap) and ``labels.txt``."""
    maps = {'2008_000002': np.array([[0, 1, 2], [459, 459, 0]], np.uint16),
            '2008_000003': np.array([[3, 3], [3, 0]], np.uint16)}
    names = ['accordion', 'aeroplane', 'air conditioner'] + [f'class {i}' for i in range(4, 460)]
    write_context_release(tmp_path, maps, names)
    (tmp_path / 'val.txt').write_text('2008_000002\n')
    return tmp_path


def test_pascal_context_459_label_maps(pascal_context, tmp_path, load_tool):
    out = tmp_path / 'pc459'
    load_tool('dataset_converters/pascal_context_459.py').main(
        [str(pascal_context / 'trainval.tar.gz'), str(pascal_context / 'labels.txt'), str(out),
         '--split-file', str(pascal_context / 'val.txt')])
    vocab = (out / 'pascal_context_459.txt').read_text().splitlines()
    assert len(vocab) == 459 and vocab[:2] == ['accordion', 'aeroplane']
    labels = cv2.imread(str(out / 'annotations' / '2008_000002.png'), cv2.IMREAD_UNCHANGED)
    assert labels.dtype == np.uint16
    assert labels.tolist() == [[65535, 0, 1], [458, 458, 65535]]
    assert not (out / 'annotations' / '2008_000003.png').exists()


def test_extracted_folder_and_all_images(pascal_context, tmp_path, load_tool):
    with tarfile.open(pascal_context / 'trainval.tar.gz') as tar:
        tar.extractall(tmp_path / 'extracted', filter='data')
    out = tmp_path / 'pc459'
    load_tool('dataset_converters/pascal_context_459.py').main(
        [str(tmp_path / 'extracted' / 'trainval'), str(pascal_context / 'labels.txt'), str(out)])
    labels = cv2.imread(str(out / 'annotations' / '2008_000003.png'), cv2.IMREAD_UNCHANGED)
    assert labels.tolist() == [[2, 2], [2, 65535]]


def test_bad_labels_file_and_missing_ids(pascal_context, tmp_path, load_tool):
    tool = load_tool('dataset_converters/pascal_context_459.py')
    (tmp_path / 'bad.txt').write_text('1: accordion\n3: aeroplane\n')
    with pytest.raises(ValueError, match=r'bad\.txt, line 2: index 3 where 2 was expected'):
        tool.main([str(pascal_context / 'trainval.tar.gz'), str(tmp_path / 'bad.txt'),
                   str(tmp_path / 'o')])
    (tmp_path / 'ids.txt').write_text('2008_000002\n2010_999999\n')
    with pytest.raises(FileNotFoundError, match='2010_999999'):
        tool.main([str(pascal_context / 'trainval.tar.gz'), str(pascal_context / 'labels.txt'),
                   str(tmp_path / 'o'), '--split-file', str(tmp_path / 'ids.txt')])


def test_release_in_miniature(tmp_path, load_tool):
    """The release's own layout (tests/release_fixtures/pascal.py) on the validation list of
    mmseg's Pascal Context preparation: the labels are LabelMap - 1, unlabeled 65535."""
    counts = write_voc2010_context(tmp_path)['pc459']
    voc2010 = tmp_path / 'VOCdevkit' / 'VOC2010'
    out = voc2010 / 'pc459'
    load_tool('dataset_converters/pascal_context_459.py').main(
        [str(tmp_path / 'trainval.tar.gz'), str(tmp_path / 'labels.txt'), str(out),
         '--split-file', str(voc2010 / 'ImageSets' / 'SegmentationContext' / 'val.txt')])
    vocab = (out / 'pascal_context_459.txt').read_text().splitlines()
    assert len(vocab) == 459 and vocab[1] == 'aeroplane'
    found = {}
    for path in sorted((out / 'annotations').glob('*.png')):
        labels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert labels.dtype == np.uint16 and (labels[:, -2:] == 65535).all()
        for value, count in zip(*np.unique(labels, return_counts=True)):
            if value != 65535:
                found[int(value)] = found.get(int(value), 0) + int(count)
    assert found == counts
    assert not (out / 'annotations' / '2008_000002.png').exists()  # a training image
