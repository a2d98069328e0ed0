"""tools/demo.py on a tiny panoptic checkpoint that the test makes: one image -> picture + JSON,
a folder -> one picture per image + JSON, and the errors a user meets first."""
import json

import cv2
import pytest

from tests.test_apis.tiny_models import CONFIGS, ROOT, make_checkpoint, write_images

PANOPTIC = str(ROOT / CONFIGS['panoptic'])
# the world's vocabulary files given inline, and every query's segment kept (untrained model)
KEEP_ALL = ['--cfg-options', 'model.vocabulary.thing_classes=[circle,square,triangle]',
            'model.vocabulary.stuff_classes=[sky,grass,water]',
            'model.ensemble.seen_classes=[circle,square,triangle,sky,grass,water]',
            'model.fallback.seen_classes=[circle,square,triangle,sky,grass,water]',
            'model.test_cfg.object_mask_thr=0.', 'model.test_cfg.iou_thr=0.']


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    return str(make_checkpoint('panoptic', tmp_path_factory.mktemp('ckpt') / 'panoptic.pth'))


@pytest.fixture
def demo(load_tool):
    return load_tool('demo.py')


def test_one_image_picture_and_json(demo, ckpt, tmp_path):
    image = str(write_images(tmp_path, 1, size=(40, 56))[0])
    demo.main([image, '--config', PANOPTIC, '--checkpoint', ckpt, '--task', 'panoptic',
               '--vocab', 'circle,star|stella,grass,sky', '--stuff', 'grass,sky',
               '--out', str(tmp_path / 'out/vis.png'), '--json', str(tmp_path / 'r.json'),
               '--device', 'cpu', *KEEP_ALL])
    assert cv2.imread(str(tmp_path / 'out/vis.png')).shape[:2] == (400, 560)  # enlarged 10x
    results = json.loads((tmp_path / 'r.json').read_text())
    assert results['task'] == 'panoptic'
    assert results['classes'] == ['circle', 'star', 'grass', 'sky']
    [record] = results['images']
    assert record['image'] == image and record['picture'] == str(tmp_path / 'out/vis.png')
    assert record['segments'] and 'panoptic_seg' not in record
    for segment in record['segments']:
        assert segment['name'] == results['classes'][segment['label']]
        assert segment['isthing'] == (segment['name'] in ('circle', 'star'))


def test_folder_gives_a_picture_per_image_and_one_json(demo, ckpt, tmp_path, capsys):
    paths = write_images(tmp_path / 'images', 3)
    (tmp_path / 'images' / 'readme.txt').write_text('not an image')
    demo.main([str(tmp_path / 'images'), '--config', PANOPTIC, '--checkpoint', ckpt,
               '--vocab', 'circle,square,grass', '--out-dir', str(tmp_path / 'vis'),
               '--batch-size', '2', '--device', 'cpu', *KEEP_ALL])
    assert '3/3' in capsys.readouterr().out  # the progress bar
    assert sorted(p.name for p in (tmp_path / 'vis').iterdir()) == \
        ['img0.png', 'img1.png', 'img2.png', 'results.json']
    for path in paths:
        assert cv2.imread(str(tmp_path / 'vis' / path.name)).shape[0] == 48 * 8  # enlarged
    results = json.loads((tmp_path / 'vis/results.json').read_text())
    assert [r['image'] for r in results['images']] == [str(p) for p in paths]
    assert [r['picture'] for r in results['images']] == \
        [str(tmp_path / 'vis' / p.name) for p in paths]


def test_vocabulary_argument(demo):
    assert demo.parse_vocabulary('cat, dog|puppy ,grass') == ['cat', 'dog, puppy', 'grass']
    assert demo.parse_vocabulary('ade20k_150') == 'ade20k_150'
    assert demo.parse_vocabulary(None) is None


def test_errors(demo, ckpt, tmp_path):
    image = str(write_images(tmp_path, 1)[0])
    common = ['--config', PANOPTIC, '--device', 'cpu', *KEEP_ALL]
    with pytest.raises(FileNotFoundError, match='checkpoint file .*missing.pth.* does not exist'):
        demo.main([image, *common, '--checkpoint', str(tmp_path / 'missing.pth'), '--json',
                   str(tmp_path / 'r.json')])
    with pytest.raises(ValueError, match='the vocabulary is empty'):
        demo.main([image, *common, '--checkpoint', ckpt, '--vocab', ' ', '--json',
                   str(tmp_path / 'r.json')])
    with pytest.raises(ValueError, match=r"OpenVocabMask2Former cannot do task='semantic'"):
        demo.main([image, *common, '--checkpoint', ckpt, '--task', 'semantic', '--json',
                   str(tmp_path / 'r.json')])
    with pytest.raises(ValueError, match='give --out-dir'):
        demo.main([str(tmp_path), *common, '--checkpoint', ckpt])
    with pytest.raises(ValueError, match='give --out'):
        demo.main([image, *common, '--checkpoint', ckpt])
    with pytest.raises(FileNotFoundError, match='input image .*nope.png.* does not exist'):
        demo.main([str(tmp_path / 'nope.png'), *common, '--checkpoint', ckpt, '--json',
                   str(tmp_path / 'r.json')])
    assert not (tmp_path / 'r.json').exists()  # nothing written by a failed run


def test_region_boxes_on_every_image_of_a_folder(demo, tmp_path):
    ckpt = str(make_checkpoint('pretrainer', tmp_path / 'clip.pth'))
    write_images(tmp_path / 'images', 2)
    demo.main([str(tmp_path / 'images'), '--config', str(ROOT / CONFIGS['pretrainer']),
               '--checkpoint', ckpt, '--task', 'region', '--vocab', 'circle,sky',
               '--boxes', '0,0,20,20', '10,5,60,40', '--out-dir', str(tmp_path / 'vis'),
               '--device', 'cpu'])
    results = json.loads((tmp_path / 'vis/results.json').read_text())
    assert results['classes'] == ['circle', 'sky']
    for record in results['images']:
        assert record['boxes'] == [[0, 0, 20, 20], [10, 5, 60, 40]]
        assert record['names'] == [results['classes'][k] for k in record['labels']]
        best = [max(range(2), key=row.__getitem__) for row in record['class_scores']]
        assert record['labels'] == best and len(record['names']) == 2
    assert sorted(p.name for p in (tmp_path / 'vis').glob('*.png')) == [
        f'{p.stem}.png' for p in sorted((tmp_path / 'images').iterdir())]
    with pytest.raises(ValueError, match="box '1,2,3': give each box as X1,Y1,X2,Y2"):
        demo.parse_boxes(['1,2,3'])


def test_zero_shot_classifier_top_k(demo, tmp_path):
    ckpt = str(make_checkpoint('zero_shot', tmp_path / 'zero_shot.pth'))
    image = str(write_images(tmp_path, 1)[0])
    demo.main([image, '--config', str(ROOT / CONFIGS['zero_shot']), '--checkpoint', ckpt,
               '--vocab', 'circle,star|stella,sky', '--topk', '2',
               '--out', str(tmp_path / 'cls.png'), '--json', str(tmp_path / 'r.json'),
               # the config's own classes are the synthetic world's file, absent here
               '--device', 'cpu', '--cfg-options', 'model.text_prototype=[circle,square]'])
    results = json.loads((tmp_path / 'r.json').read_text())
    assert results['task'] == 'classification' and results['classes'] == ['circle', 'star', 'sky']
    [record] = results['images']
    assert len(record['labels']) == 2 and len(record['class_scores']) == 3
    assert record['names'] == [results['classes'][k] for k in record['labels']]
    assert sum(record['class_scores']) == pytest.approx(1., abs=1e-5)  # softmax
    assert cv2.imread(str(tmp_path / 'cls.png')).shape[0] == 48 * 8  # enlarged, scores beside
