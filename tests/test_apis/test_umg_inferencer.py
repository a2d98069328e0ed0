"""UMGInferencer on tiny checkpoints that the tests make: every task, vocabularies given per
call, batching, pictures and the errors."""
import cv2
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmseg.structures import SegDataSample

from tests.test_apis.tiny_models import make_checkpoint, tiny_config, write_images
from umg_mm.apis import UMGInferencer

VOCAB = ['circle', 'square', 'sky', 'grass', 'star']
PERM = [3, 0, 4, 2, 1]  # VOCAB reordered: new label j is old label PERM[j]


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    folder = tmp_path_factory.mktemp('ckpts')
    return {kind: make_checkpoint(kind, folder / f'{kind}.pth')
            for kind in ('pretrainer', 'semantic', 'panoptic')}


@pytest.fixture(scope='module')
def inferencers(ckpts):
    return {kind: UMGInferencer(tiny_config(kind), str(path), device='cpu')
            for kind, path in ckpts.items()}


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    return [str(p) for p in write_images(tmp_path_factory.mktemp('images'), 3)]


def test_checkpoint_weights_are_loaded(ckpts, inferencers):
    saved = torch.load(ckpts['semantic'], map_location='cpu', weights_only=False)['state_dict']
    loaded = inferencers['semantic'].model.state_dict()
    assert saved.keys() == loaded.keys()
    assert all(torch.equal(saved[k], loaded[k]) for k in saved)


def test_classification_over_the_given_vocabulary(inferencers, images):
    inferencer = inferencers['pretrainer']
    out = inferencer(images, task='classification', vocabulary=VOCAB, topk=3)
    assert out['classes'] == VOCAB
    first = out['predictions'][0]
    assert len(first['class_scores']) == 5 and len(first['labels']) == 3
    assert first['names'] == [VOCAB[i] for i in first['labels']]
    assert first['scores'] == sorted(first['scores'], reverse=True)
    assert first['labels'][0] == int(np.argmax(first['class_scores']))
    reordered = inferencer(images, task='classification', vocabulary=[VOCAB[i] for i in PERM])
    for old, new in zip(out['predictions'], reordered['predictions']):
        np.testing.assert_allclose(new['class_scores'],
                                   np.array(old['class_scores'])[PERM], atol=1e-5)
        assert new['names'][0] == old['names'][0]
    # the config's own vocabulary when none is given
    assert inferencer(images[0])['classes'] == tiny_config('pretrainer').model.test_cfg.vocabulary


def test_retrieval_matrix(inferencers, images):
    inferencer = inferencers['pretrainer']
    texts = ['a red circle', 'grass under the sky', 'a star']
    out = inferencer(images, task='retrieval', texts=texts)
    assert out['similarity'].shape == (3, 3) and out['classes'] == texts
    with torch.no_grad():
        text = inferencer.model.text_encoder.encode_text(texts, normalize=True)
    for sample, row in zip(out['data_samples'], out['similarity']):
        np.testing.assert_allclose(row, (sample.img_embedding @ text.T).numpy(), atol=1e-5)


def test_region_classifies_each_box(inferencers, images):
    inferencer = inferencers['pretrainer']
    boxes = [[0, 0, 32, 24], [16, 8, 64, 48]]
    out = inferencer(images[0], task='region', vocabulary=VOCAB, boxes=boxes)
    prediction, sample = out['predictions'][0], out['data_samples'][0]
    assert prediction['boxes'] == [[float(v) for v in b] for b in boxes]
    assert np.array(prediction['class_scores']).shape == (2, 5)
    assert prediction['names'] == [VOCAB[i] for i in prediction['labels']]
    assert isinstance(sample, DetDataSample) and sample.pred_instances.bboxes.shape == (2, 4)
    reordered = inferencer(images[0], task='region', vocabulary=[VOCAB[i] for i in PERM],
                           boxes=boxes)['predictions'][0]
    np.testing.assert_allclose(reordered['class_scores'],
                               np.array(prediction['class_scores'])[:, PERM], atol=1e-5)
    # boxes are in input pixels: on a 2x larger copy (resized back to 64x48 by the pipeline),
    # the doubled boxes pool the same features
    big = cv2.resize(cv2.imread(images[0]), (128, 96), interpolation=cv2.INTER_NEAREST)
    scaled = inferencer(big, task='region', vocabulary=VOCAB,
                        boxes=np.array(boxes) * 2)['predictions'][0]
    assert scaled['boxes'] == [[2. * v for v in b] for b in boxes]
    np.testing.assert_allclose(scaled['class_scores'], prediction['class_scores'], atol=1e-4)
    unscaled = inferencer(big, task='region', vocabulary=VOCAB, boxes=boxes)['predictions'][0]
    assert not np.allclose(unscaled['class_scores'], prediction['class_scores'], atol=1e-4)


@pytest.mark.parametrize('kind', ['semantic', 'pretrainer'])
def test_semantic_label_map(inferencers, images, kind):
    inferencer = inferencers[kind]
    image = cv2.resize(cv2.imread(images[0]), (80, 40))  # not the pipeline's size
    out = inferencer(image, task='semantic', vocabulary=VOCAB)
    label_map, sample = out['predictions'][0]['sem_seg'], out['data_samples'][0]
    assert isinstance(sample, SegDataSample)
    assert label_map.shape == (40, 80) and label_map.dtype == np.int64
    assert 0 <= label_map.min() and label_map.max() < 5
    present = out['predictions'][0]['classes']
    assert sum(c['area'] for c in present) == 40 * 80
    assert all(c['name'] == VOCAB[c['label']] for c in present)
    reordered = inferencer(image, task='semantic', vocabulary=[VOCAB[i] for i in PERM])
    new_map = reordered['predictions'][0]['sem_seg']
    np.testing.assert_array_equal(np.array(PERM)[new_map], label_map)


def test_panoptic_segments_things_and_stuff(inferencers, images):
    inferencer = inferencers['panoptic']
    out = inferencer(images[0], task='panoptic', vocabulary=VOCAB, stuff='sky,grass')
    assert out['classes'] == ['circle', 'square', 'star', 'sky', 'grass']  # things, then stuff
    prediction = out['predictions'][0]
    assert prediction['panoptic_seg'].shape == (48, 64)
    assert prediction['segments'], 'no segment kept although every query is kept'
    for segment in prediction['segments']:
        assert segment['name'] == out['classes'][segment['label']]
        assert segment['isthing'] == (segment['name'] not in ('sky', 'grass'))
        assert segment['area'] == int((prediction['panoptic_seg'] == segment['id']).sum())
    # the default split: the model's own stuff classes (sky, grass) are stuff
    default = inferencer(images[0], task='panoptic', vocabulary=VOCAB)
    assert default['classes'] == out['classes']
    # a reordered vocabulary gives the same named segmentation
    reordered = inferencer(images[0], task='panoptic', vocabulary=[VOCAB[i] for i in PERM],
                           stuff=['grass', 'sky'])
    assert reordered['classes'] == ['circle', 'star', 'square', 'grass', 'sky']

    def names(result):
        ids = result['predictions'][0]['panoptic_seg']
        by_id = {s['id']: s['name'] for s in result['predictions'][0]['segments']}
        return np.vectorize(lambda i: by_id.get(i, 'void'))(ids)

    np.testing.assert_array_equal(names(reordered), names(out))


@pytest.mark.parametrize('kind,task,kwargs', [
    ('pretrainer', 'classification', {}),
    ('pretrainer', 'retrieval', dict(texts=['a circle', 'grass'])),
    ('pretrainer', 'region', dict(boxes=[[[0, 0, 20, 20]]] * 3)),
    ('semantic', 'semantic', {}),
    ('panoptic', 'panoptic', {}),
])
def test_batched_equals_one_by_one(inferencers, images, kind, task, kwargs):
    inferencer = inferencers[kind]
    vocabulary = None if task == 'retrieval' else VOCAB
    batched = inferencer(images, task=task, vocabulary=vocabulary, batch_size=3, **kwargs)
    single = [inferencer(image, task=task, vocabulary=vocabulary,
                         **{k: v[i] if k == 'boxes' else v for k, v in kwargs.items()})
              for i, image in enumerate(images)]
    for many, one in zip(batched['predictions'], single):
        one = one['predictions'][0]
        assert many.keys() == one.keys()
        for key in many:
            if isinstance(many[key], np.ndarray) or key.endswith('scores'):
                np.testing.assert_allclose(np.asarray(many[key]), np.asarray(one[key]),
                                           atol=1e-5, err_msg=key)
            else:
                assert many[key] == one[key], key


@pytest.mark.parametrize('kind,task', [('pretrainer', 'classification'), ('semantic', 'semantic'),
                                       ('panoptic', 'panoptic')])
def test_pictures_are_the_inputs_enlarged(inferencers, tmp_path, kind, task):
    inputs = [str(p) for p in write_images(tmp_path / 'in', 2, size=(40, 72))]
    inputs.append(np.full((30, 50, 3), 90, np.uint8))
    out = inferencers[kind](inputs, task=task, vocabulary=VOCAB, out_dir=str(tmp_path / 'vis'),
                            return_vis=True)
    assert sorted(p.name for p in (tmp_path / 'vis').iterdir()) == \
        ['000002.png', 'img0.png', 'img1.png']
    for picture, path, (height, width) in zip(out['visualization'], out['pictures'],
                                              [(40, 72), (40, 72), (30, 50)]):
        factor = -(-512 // width)  # the longer side enlarged to 512 px or more
        assert picture.shape[0] == height * factor and picture.shape[1] >= width * factor
        np.testing.assert_array_equal(cv2.imread(path), picture)
    first = out['visualization'][0]
    if task == 'classification':  # the image enlarged, the scores beside it
        assert first.shape[1] > 576
    else:  # masks drawn on the enlarged image
        enlarged = cv2.resize(cv2.imread(inputs[0]), (576, 320), interpolation=cv2.INTER_CUBIC)
        assert not np.array_equal(first[:, :576], enlarged)


def test_task_table_errors(inferencers, images):
    with pytest.raises(ValueError, match=r"OpenVocabEncoderDecoder cannot do task='panoptic'; "
                                         r"it supports \['semantic'\]"):
        inferencers['semantic'](images[0], task='panoptic', vocabulary=VOCAB)
    with pytest.raises(ValueError, match=r"OpenVocabMask2Former cannot do task='semantic'"):
        inferencers['panoptic'](images[0], task='semantic')
    with pytest.raises(ValueError, match='task=.detection. is unknown'):
        inferencers['pretrainer'](images[0], task='detection')
    assert set(inferencers['pretrainer'].tasks) == {
        'classification', 'retrieval', 'region', 'semantic'}
    assert inferencers['pretrainer'](images[0])['task'] == 'classification'  # the first: default


def test_missing_checkpoint_and_config(tmp_path):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='checkpoint file .*nope.pth.* does not exist'):
        UMGInferencer(tiny_config('semantic'), missing, device='cpu')
    with pytest.raises(FileNotFoundError, match='config file .*none.py.* does not exist'):
        UMGInferencer(str(tmp_path / 'none.py'), device='cpu')
    foreign = tmp_path / 'foreign.pth'
    torch.save({'state_dict': {'classifier.weight': torch.zeros(2, 2)}}, foreign)
    with pytest.raises(ValueError, match=r"holds none of the weights of the "
                                         r"OpenVocabEncoderDecoder .*\['classifier'\]"):
        UMGInferencer(tiny_config('semantic'), str(foreign), device='cpu')


def test_empty_vocabulary(inferencers, images, tmp_path):
    empty = tmp_path / 'empty.txt'
    empty.write_text('# no classes\n\n')
    for kind, task in [('pretrainer', 'classification'), ('semantic', 'semantic'),
                       ('panoptic', 'panoptic')]:
        for vocabulary in ([], '  '):
            with pytest.raises(ValueError, match='the vocabulary is empty'):
                inferencers[kind](images[0], task=task, vocabulary=vocabulary)
        with pytest.raises(ValueError, match='empty.txt has no classes'):
            inferencers[kind](images[0], task=task, vocabulary=str(empty))


def test_unreadable_and_missing_images(inferencers, images, tmp_path):
    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'not a png')
    with pytest.raises(ValueError, match='cannot read input image .*broken.png'):
        inferencers['semantic']([images[0], str(broken)], vocabulary=VOCAB)
    with pytest.raises(FileNotFoundError, match='input image .*gone.jpg.* does not exist'):
        inferencers['semantic'](str(tmp_path / 'gone.jpg'), vocabulary=VOCAB)
    with pytest.raises(ValueError, match=r'array of shape \(8, 8\)'):
        inferencers['semantic'](np.zeros((8, 8), np.uint8), vocabulary=VOCAB)
    (tmp_path / 'no_images').mkdir()
    (tmp_path / 'no_images' / 'notes.txt').write_text('not an image')
    with pytest.raises(FileNotFoundError, match='folder .*no_images.* has no image file'):
        inferencers['semantic'](str(tmp_path / 'no_images'), vocabulary=VOCAB)


def test_argument_errors(inferencers, images):
    pretrainer = inferencers['pretrainer']
    with pytest.raises(ValueError, match='task="region" needs boxes'):
        pretrainer(images[0], task='region', vocabulary=VOCAB)
    with pytest.raises(ValueError, match=r'boxes of image 0 have shape \(1, 3\)'):
        pretrainer(images[0], task='region', vocabulary=VOCAB, boxes=[[0, 0, 4]])
    with pytest.raises(ValueError, match='boxes has 1 entries for 3 images'):
        pretrainer(images, task='region', vocabulary=VOCAB, boxes=[[[0, 0, 4, 4]]])
    with pytest.raises(ValueError, match='task="retrieval" needs texts'):
        pretrainer(images[0], task='retrieval')
    with pytest.raises(ValueError, match=r"stuff classes \['road'\] are not in the vocabulary"):
        inferencers['panoptic'](images[0], vocabulary=VOCAB, stuff='road,sky')
    with pytest.raises(ValueError, match='stuff=... splits a panoptic vocabulary'):
        inferencers['semantic'](images[0], vocabulary=VOCAB, stuff='sky')


def test_templates_and_panoptic_vocabulary_dict(inferencers, images):
    pretrainer = inferencers['pretrainer']
    plain = pretrainer(images[0], vocabulary=VOCAB, templates=['{}'])['predictions'][0]
    photo = pretrainer(images[0], vocabulary=VOCAB,
                       templates=['a photo of a {}.'])['predictions'][0]
    assert not np.allclose(plain['class_scores'], photo['class_scores'])
    image = pretrainer(images[0], task='retrieval', texts=VOCAB)['predictions'][0]['scores']
    # the template '{}' is the bare name: the scores are the retrieval scores of the names
    np.testing.assert_allclose(plain['class_scores'], image, atol=1e-5)
    with pytest.raises(ValueError, match='takes its templates from its config'):
        inferencers['semantic'](images[0], vocabulary=VOCAB, templates=['{}'])

    out = inferencers['panoptic'](images[0], vocabulary=dict(thing_classes=['star'],
                                                              stuff_classes=['sky', 'water']))
    assert out['classes'] == ['star', 'sky', 'water']
    assert all(s['isthing'] == (s['name'] == 'star') for s in out['predictions'][0]['segments'])
