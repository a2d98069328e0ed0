"""UMGInferencer: the task inferencer of each model type, and what every task inferencer shares
(checkpoint checks, inputs, empty vocabularies, batching, pictures)."""
import cv2
import numpy as np
import pytest
import torch
from mmdet.apis import DetInferencer
from mmengine.infer import BaseInferencer
from mmpretrain.apis import ImageClassificationInferencer
from mmseg.apis import MMSegInferencer

from tests.test_apis.tiny_models import tiny_config, write_images
from umg_mm.apis import (UMGCLIPInferencer, UMGInferencer, UMGPanopticInferencer,
                         UMGSegInferencer, UMGZeroShotInferencer, task_arguments)
from .helpers import VOCAB, assert_same_predictions


def test_the_model_type_picks_the_inferencer(inferencers):
    expected = dict(pretrainer=(UMGCLIPInferencer, BaseInferencer),
                    semantic=(UMGSegInferencer, MMSegInferencer),
                    panoptic=(UMGPanopticInferencer, DetInferencer),
                    zero_shot=(UMGZeroShotInferencer, ImageClassificationInferencer))
    for kind, (cls, parent) in expected.items():
        assert type(inferencers[kind]) is cls and isinstance(inferencers[kind], parent)
    cfg = tiny_config('semantic')
    cfg.model.type = 'mmseg.EncoderDecoder'
    with pytest.raises(TypeError, match='the config builds a EncoderDecoder; the umg_mm '
                                        'inferencers run UMGCLIPPretrainer'):
        UMGInferencer(cfg, device='cpu')
    with pytest.raises(ValueError, match='stuff=... splits a panoptic vocabulary'):
        UMGInferencer(tiny_config('semantic'), stuff=['sky'], device='cpu')


def test_checkpoint_weights_are_loaded(ckpts, inferencers):
    for kind in ('semantic', 'zero_shot'):
        saved = torch.load(ckpts[kind], map_location='cpu', weights_only=False)['state_dict']
        loaded = inferencers[kind].model.state_dict()
        assert saved.keys() == loaded.keys()
        assert all(torch.equal(saved[k], loaded[k]) for k in saved)


def test_missing_checkpoint_and_config(tmp_path):
    missing = str(tmp_path / 'nope.pth')
    for kind in ('semantic', 'zero_shot'):
        with pytest.raises(FileNotFoundError, match='checkpoint file .*nope.pth.* does not exist'):
            UMGInferencer(tiny_config(kind), missing, device='cpu')
    with pytest.raises(FileNotFoundError, match='config file .*none.py.* does not exist'):
        UMGInferencer(str(tmp_path / 'none.py'), device='cpu')
    foreign = tmp_path / 'foreign.pth'
    torch.save({'state_dict': {'classifier.weight': torch.zeros(2, 2)}}, foreign)
    with pytest.raises(ValueError, match=r"foreign.pth' holds none of the weights of the "
                                         r"OpenVocabEncoderDecoder .*\['classifier'\]"):
        UMGInferencer(tiny_config('semantic'), str(foreign), device='cpu')
    with pytest.raises(ValueError, match=r'holds none of the weights of the UMGCLIPZeroShot'):
        UMGInferencer(tiny_config('zero_shot'), str(foreign), device='cpu')


def test_task_arguments(inferencers, images):
    with pytest.raises(ValueError, match=r"OpenVocabEncoderDecoder cannot do task='panoptic'; "
                                         r"it supports \['semantic'\]"):
        task_arguments(inferencers['semantic'], 'panoptic')
    with pytest.raises(ValueError, match=r"OpenVocabMask2Former cannot do task='semantic'"):
        task_arguments(inferencers['panoptic'], 'semantic')
    with pytest.raises(ValueError, match='task=.detection. is unknown'):
        task_arguments(inferencers['pretrainer'], 'detection')
    assert task_arguments(inferencers['semantic'], None) == {}
    assert task_arguments(inferencers['zero_shot'], 'classification') == {}
    assert task_arguments(inferencers['pretrainer'], None) == dict(task='classification')
    assert task_arguments(inferencers['pretrainer'], 'region') == dict(task='region')


@pytest.mark.parametrize('kind', ['pretrainer', 'semantic', 'panoptic', 'zero_shot'])
def test_empty_vocabulary(inferencers, images, tmp_path, kind):
    empty = tmp_path / 'empty.txt'
    empty.write_text('# no classes\n\n')
    for vocabulary in ([], '  '):
        with pytest.raises(ValueError, match='the vocabulary is empty'):
            inferencers[kind](images[0], vocabulary=vocabulary)
    with pytest.raises(ValueError, match='empty.txt has no classes'):
        inferencers[kind](images[0], vocabulary=str(empty))


@pytest.mark.parametrize('kind', ['semantic', 'zero_shot'])
def test_unreadable_and_missing_images(inferencers, images, tmp_path, kind):
    inferencer = inferencers[kind]
    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'not a png')
    with pytest.raises(ValueError, match='cannot read input image .*broken.png'):
        inferencer([images[0], str(broken)], vocabulary=VOCAB)
    with pytest.raises(FileNotFoundError, match='input image .*gone.jpg.* does not exist'):
        inferencer(str(tmp_path / 'gone.jpg'), vocabulary=VOCAB)
    with pytest.raises(ValueError, match=r'array of shape \(8, 8\)'):
        inferencer(np.zeros((8, 8), np.uint8), vocabulary=VOCAB)
    (tmp_path / 'no_images').mkdir()
    (tmp_path / 'no_images' / 'notes.txt').write_text('not an image')
    with pytest.raises(FileNotFoundError, match='folder .*no_images.* has no image file'):
        inferencer(str(tmp_path / 'no_images'), vocabulary=VOCAB)


@pytest.mark.parametrize('kind,kwargs', [
    ('pretrainer', dict(task='classification')),
    ('pretrainer', dict(task='retrieval', texts=['a circle', 'grass'])),
    ('pretrainer', dict(task='region', boxes=[[[0, 0, 20, 20]]] * 3)),
    ('semantic', {}),
    ('panoptic', {}),
    ('zero_shot', {}),
])
def test_batched_equals_one_by_one(inferencers, images, kind, kwargs):
    inferencer = inferencers[kind]
    vocabulary = None if kwargs.get('task') == 'retrieval' else VOCAB
    batched = inferencer(images, vocabulary=vocabulary, batch_size=3, **kwargs)
    single = [inferencer(image, vocabulary=vocabulary,
                         **{k: v[i] if k == 'boxes' else v for k, v in kwargs.items()})
              for i, image in enumerate(images)]
    assert_same_predictions(batched['predictions'],
                            [one['predictions'][0] for one in single])


@pytest.mark.parametrize('kind', ['pretrainer', 'semantic', 'panoptic', 'zero_shot'])
def test_pictures_are_the_inputs_enlarged(inferencers, tmp_path, kind):
    inferencer = inferencers[kind]
    inputs = [str(p) for p in write_images(tmp_path / 'in', 2, size=(40, 72))]
    inputs.append(np.full((30, 50, 3), 90, np.uint8))
    out = inferencer(inputs, vocabulary=VOCAB, return_vis=True,
                     **{inferencer.picture_dir_arg: str(tmp_path / 'out')})
    folder = tmp_path / 'out' / inferencer.picture_subdir
    assert sorted(p.name for p in folder.iterdir()) == ['000002.png', 'img0.png', 'img1.png']
    assert out['pictures'] == [str(folder / name) for name in
                               ('img0.png', 'img1.png', '000002.png')]
    for picture, path, (height, width) in zip(out['visualization'], out['pictures'],
                                              [(40, 72), (40, 72), (30, 50)]):
        factor = -(-512 // width)  # the longer side enlarged to 512 px or more
        assert picture.shape[0] == height * factor and picture.shape[1] >= width * factor
        np.testing.assert_array_equal(cv2.imread(path)[..., ::-1], picture)  # RGB returned
    first = out['visualization'][0]
    if kind in ('pretrainer', 'zero_shot'):  # the image enlarged, the scores beside it
        assert first.shape[1] > 576
    else:  # masks drawn on the enlarged image
        enlarged = cv2.resize(cv2.imread(inputs[0]), (576, 320), interpolation=cv2.INTER_CUBIC)
        assert not np.array_equal(first[:, :576, ::-1], enlarged)
    assert inferencer(inputs[0], vocabulary=VOCAB)['visualization'] == []  # none asked for


def test_the_parent_arguments_stay(inferencers, images, tmp_path):
    semantic = inferencers['semantic']
    samples = semantic(images[:2], vocabulary=VOCAB, return_datasamples=True)['predictions']
    assert [type(s).__name__ for s in samples] == ['SegDataSample'] * 2
    assert semantic.pred2dict(samples[0]).keys() == {'sem_seg', 'classes'}
    out = semantic(images[0], vocabulary=VOCAB, out_dir=str(tmp_path / 'seg'))
    np.testing.assert_array_equal(np.load(tmp_path / 'seg/pred/000000_sem_seg.npy'),
                                  out['predictions'][0]['sem_seg'])
    assert (tmp_path / 'seg/vis/img0.png').is_file()
    with pytest.raises(ValueError, match='unknown argument'):
        semantic(images[0], vocabulary=VOCAB, templates=['{}'])
    with pytest.raises(ValueError, match='unknown argument'):
        semantic(images[0], vocabulary=VOCAB, stuff='sky')


def test_without_weights_a_warning(images):
    with pytest.warns(UserWarning, match='no checkpoint is loaded'):
        inferencer = UMGInferencer(tiny_config('panoptic'), device='cpu')
    assert inferencer.classes == ['circle', 'square', 'triangle', 'sky', 'grass', 'water']
