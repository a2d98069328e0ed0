"""The web demo's logic without a browser: every page task on tiny checkpoints, the legend (colours,
areas, scores), the JSON file, and the errors a user can cause shown as messages."""
import json

import cv2
import numpy as np
import pytest

from tests.test_apis.tiny_models import make_checkpoint, tiny_config, write_images
from umg_mm.apis.results import json_ready
from umg_mm.apis.web_demo import (MAIN_JOB_HINT, TASK_MODELS, WebDemo, legend_html,
                                  main_job_models)

VOCAB = '猫, кошка|котка, قطة, sky, 草地'
# a model may name a class by its first synonym
NAMES = ['猫', 'кошка, котка', 'кошка', 'قطة', 'sky', '草地']


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp('web_demo')
    models = {}
    for key, kind in (('pretrain', 'pretrainer'), ('semantic', 'semantic'),
                      ('panoptic', 'panoptic')):
        models[key] = (tiny_config(kind), str(make_checkpoint(kind, folder / f'{kind}.pth')))
    return WebDemo(models, device='cpu', out_dir=str(folder / 'out'))


@pytest.fixture(scope='module')
def image(tmp_path_factory):
    path = write_images(tmp_path_factory.mktemp('img'), 1, size=(48, 64))[0]
    return cv2.imread(str(path))[..., ::-1].copy()  # RGB, as the page uploads it


def test_every_page_task_is_served(demo):
    assert demo.tasks == list(TASK_MODELS)


@pytest.mark.parametrize('task', ['panoptic', 'semantic', 'dense (training-free)'])
def test_mask_tasks_give_a_legend_of_colours_and_areas(demo, image, task):
    result = demo(image, task, VOCAB, stuff='sky, 草地')
    assert result.ok, result.message
    assert result.picture.shape[0] == 48 * 8 and result.picture.shape[1] >= 64 * 8  # enlarged
    assert result.legend and {e['name'] for e in result.legend} <= set(NAMES)
    saved = json.loads(open(result.json_path).read())
    assert saved['legend'] == result.legend and saved['task'] == task
    areas = {e['name']: e['area'] for e in result.legend}
    prediction = saved['prediction']
    if task == 'panoptic':
        expected = {}
        for segment in prediction['segments']:
            expected[segment['name']] = expected.get(segment['name'], 0) + segment['area']
    else:
        expected = {c['name']: c['area'] for c in prediction['classes']}
        assert sum(areas.values()) == 48 * 64
    assert areas == expected
    for entry in result.legend:
        assert entry['hex'].startswith('#') and len(entry['hex']) == 7
        assert entry['fraction'] == pytest.approx(entry['area'] / (48 * 64))
        assert entry['name'] in result.legend_html


def test_classification_lists_scores(demo, image):
    result = demo(image, 'classification', VOCAB)
    assert result.ok and [e['name'] for e in result.legend] == \
        json.loads(open(result.json_path).read())['prediction']['names']
    scores = [e['score'] for e in result.legend]
    assert scores == sorted(scores, reverse=True) and len(scores) == 5


def test_region_boxes_typed_one_per_line(demo, image):
    result = demo(image, 'region (given boxes)', VOCAB, boxes='0,0,32,24\n16, 8, 64, 48')
    assert result.ok, result.message
    saved = json.loads(open(result.json_path).read())['prediction']
    assert saved['boxes'] == [[0, 0, 32, 24], [16, 8, 64, 48]]
    assert [e['name'] for e in result.legend] == saved['names']
    assert all('hex' in e for e in result.legend)


def test_the_legend_matches_the_inferencer(demo, image):
    """The page shows what UMGInferencer predicts, for the same image and vocabulary."""
    result = demo(image, 'semantic', VOCAB)
    out = demo.inferencers['semantic'](image[..., ::-1].copy(),
                                       vocabulary=[n.strip().replace('|', ', ')
                                                   for n in VOCAB.split(',')])
    assert json.loads(open(result.json_path).read())['prediction'] == \
        json_ready(out['predictions'])[0]


@pytest.mark.parametrize('task,vocabulary,kwargs,message', [
    ('panoptic', ' , ', {}, 'the vocabulary is empty'),
    ('region (given boxes)', 'cat', dict(boxes='1,2,3'), "box '1,2,3': give each box as"),
    ('region (given boxes)', 'cat', dict(boxes='5,5,1,1'), 'x2 <= x1'),
    ('panoptic', 'cat, dog', dict(stuff='grass'), 'grass'),
    ('nonsense', 'cat', {}, "unknown task 'nonsense'"),
])
def test_user_errors_are_messages(demo, image, task, vocabulary, kwargs, message):
    result = demo(image, task, vocabulary, **kwargs)
    assert not result.ok and result.picture is None
    assert result.message.startswith('Error: ') and message in result.message
    assert 'Traceback' not in result.message


def test_no_image_and_missing_models(tmp_path, image):
    only = WebDemo({'panoptic': (tiny_config('panoptic'),
                                 str(make_checkpoint('panoptic', tmp_path / 'p.pth')))},
                   device='cpu', out_dir=str(tmp_path))
    assert only.tasks == ['panoptic']
    assert 'no image' in only(None, 'panoptic', 'cat').message
    missing = only(image, 'semantic', 'cat')
    assert not missing.ok and 'needs the semantic model' in missing.message
    assert 'tools/main_job.sh' in missing.message
    with pytest.raises(ValueError, match='no model to serve'):
        WebDemo({})
    with pytest.raises(ValueError, match="unknown model keys \\['detector'\\]"):
        WebDemo({'detector': ('a.py', 'b.pth')})


def test_main_job_models(tmp_path):
    assert 'bash tools/main_job.sh' in MAIN_JOB_HINT
    for step in ('pretrain', 'semseg'):
        folder = tmp_path / step
        folder.mkdir()
        (folder / 'cfg.py').write_text('')
        (folder / 'iter_2.pth').write_bytes(b'')
        (folder / 'last_checkpoint').write_text(str(folder / 'iter_2.pth'))
    (tmp_path / 'panoptic').mkdir()  # no checkpoint yet: left out
    assert main_job_models(str(tmp_path)) == {
        'pretrain': (str(tmp_path / 'pretrain/cfg.py'), str(tmp_path / 'pretrain/iter_2.pth')),
        'semantic': (str(tmp_path / 'semseg/cfg.py'), str(tmp_path / 'semseg/iter_2.pth'))}


def test_legend_html_escapes_names():
    table = legend_html([dict(name='<b>猫</b>', hex='#ff0000', area=3, fraction=0.5),
                         dict(name='sky', score=0.25)])
    assert '&lt;b&gt;猫&lt;/b&gt;' in table and '<b>' not in table
    assert '3 px (50.0%)' in table and '0.250' in table and 'background:#ff0000' in table
    assert table.count('class="umg-legend-row"') == 2
