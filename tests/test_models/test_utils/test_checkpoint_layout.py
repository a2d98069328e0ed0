"""One owner of the text tower: semantic and panoptic checkpoints hold each tensor once, the
text tower under ``text_encoder.*`` in both; checkpoints written before (the text tower inside
the head as well, or only there) load into the new models with identical outputs."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmseg.registry import MODELS as MMSEG_MODELS

import umg_mm  # noqa: F401
from tests.test_models.test_detectors.test_open_vocab_mask2former import tiny_coco_cfg
from tests.test_models.test_segmentors.test_open_vocab_encoder_decoder import build_segmentor
from tests.umg_fixtures import demo_panoptic_batch
from umg_mm.models.utils import NANO_MODEL

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
DENSE_CONFIG = 'configs/umg/umg-dense-zero-shot_vit-tiny_synthetic-64x64.py'


def semantic():
    """The synthetic semantic recipe (Mask2Former head, ensemble, fallback), tiny."""
    return build_segmentor().eval()


def dense():
    """The training-free semantic model (DenseZeroShotHead), on the tests' tiny CLIP."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, DENSE_CONFIG)).model
    cfg.clip.model_name = NANO_MODEL
    cfg.test_vocabulary = ['circle', 'square', 'sky']
    torch.manual_seed(0)
    return MMSEG_MODELS.build(cfg).eval()


def panoptic():
    """The COCO panoptic recipe with the tests' tiny CLIP."""
    from mmdet.registry import MODELS as MMDET_MODELS
    init_default_scope('mmdet')
    torch.manual_seed(0)
    return MMDET_MODELS.build(tiny_coco_cfg().model).eval()


def flatten(out):
    """The tensors of nested tuples/lists, in order."""
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for part in out for t in flatten(part)]


def outputs(model):
    """The model's raw outputs (``mode='tensor'``) on a fixed input, as a list of tensors."""
    torch.manual_seed(1)
    with torch.no_grad():
        if type(model).__name__ == 'OpenVocabMask2Former':
            data = demo_panoptic_batch(model, 133, training=False)
            return flatten(model._forward(data['inputs'], data['data_samples']))
        meta = dict(img_shape=(32, 32), pad_shape=(32, 32), ori_shape=(32, 32))
        return [model.encode_decode(torch.randn(1, 3, 32, 32), [meta])]  # (1, K, 32, 32)


BUILDERS = dict(semantic=semantic, dense=dense, panoptic=panoptic)


@pytest.mark.parametrize('task', sorted(BUILDERS))
def test_each_tensor_is_stored_once_and_the_text_tower_under_text_encoder(task):
    state = BUILDERS[task]().state_dict()
    storages = {}
    for key, tensor in state.items():
        if tensor.numel():
            storages.setdefault(tensor.untyped_storage().data_ptr(), []).append(key)
    assert [keys for keys in storages.values() if len(keys) > 1] == []
    text_keys = [k for k in state if 'text_encoder' in k]
    assert text_keys and all(k.startswith('text_encoder.clip.') for k in text_keys)
    assert 'text_encoder.clip.token_embedding.weight' in state


def old_layout(task, state):
    """``state`` as the task's checkpoints were written before the text tower had one owner
    and the pyramid neck the stock neck slot (the key names of the code on main before
    issue 17), and how many keys that layout renames."""
    old = {}
    for key, value in state.items():
        if key.startswith('neck.proj.'):
            old['backbone.pyramid_proj.' + key[len('neck.proj.'):]] = value
        elif key.startswith('neck.'):
            old['backbone.pyramid_neck.' + key[len('neck.'):]] = value
        elif key.startswith('text_encoder.') and task == 'panoptic':  # the classifier owned it
            old['panoptic_head.cls_embed.' + key] = value
        else:
            old[key] = value
        if key.startswith('text_encoder.') and task == 'dense':  # the head registered it again
            old['decode_head.' + key] = value.clone()
    return old, sum(key not in state for key in old)


@pytest.mark.parametrize('task', sorted(BUILDERS))
def test_a_checkpoint_of_the_old_layout_loads_with_identical_outputs(task, tmp_path,
                                                                     monkeypatch):
    trained = BUILDERS[task]()
    state = trained.state_dict()
    old, renamed = old_layout(task, state)
    assert renamed > 0
    path = tmp_path / 'old.pth'
    torch.save(dict(state_dict=old, meta=dict()), path)

    fresh = BUILDERS[task]()
    with torch.no_grad():  # other weights than the checkpoint's
        for value in fresh.state_dict().values():
            if value.is_floating_point():
                value.add_(torch.rand_like(value))
    assert not torch.equal(fresh.text_encoder.clip.token_embedding.weight,
                           trained.text_encoder.clip.token_embedding.weight)
    messages = []
    monkeypatch.setattr(MMLogger.get_current_instance(), 'info', messages.append)
    load_checkpoint(fresh, str(path), map_location='cpu', strict=True)
    mapped = [m for m in messages if 'mapped' in m]
    assert len(mapped) == 1 and f'mapped {renamed} keys' in mapped[0]
    assert sorted(fresh.state_dict()) == sorted(state)
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, state[key]), key
    ours, theirs = outputs(fresh), outputs(trained)
    assert ours and len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)
