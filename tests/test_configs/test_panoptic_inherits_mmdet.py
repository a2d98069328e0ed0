"""The COCO-panoptic config is mmdet's Mask2Former recipe, inherited with ``_base_``: the data,
schedule and head sizes are mmdet's own, and the model differs only where umg_mm changes it."""
import os.path as osp

from mmengine.config import Config
from mmengine.hub import get_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
OURS = osp.join(ROOT, 'configs', 'umg', 'umg-mask2former_vit-b16_8xb2-lsj-50e_coco-panoptic.py')
STOCK = 'mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco-panoptic.py'


def _differences(a, b, path=''):
    """The dotted paths where the dicts ``a`` and ``b`` differ (a key on one side only, or
    another value; the ``_scope_`` that ``mmdet::`` inheritance adds is not a difference);
    ``backbone`` and ``classifier`` count as one value each."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b) and \
            all(isinstance(x, dict) for x in a):  # pipelines, evaluators: item by item
        return [p for i, (x, y) in enumerate(zip(a, b)) for p in _differences(x, y, f'{path}.{i}')]
    if isinstance(a, dict) and isinstance(b, dict) and not path.endswith(('backbone',
                                                                            'classifier')):
        paths = []
        for key in sorted(set(a) | set(b)):
            if key == '_scope_':
                continue
            paths += _differences(a.get(key), b.get(key), f'{path}.{key}' if path else key)
        return paths
    return [] if a == b else [path]


def test_coco_panoptic_is_mmdets_recipe_with_umg_model_changes():
    ours, stock = Config.fromfile(OURS).to_dict(), get_config(STOCK).to_dict()
    for key in ('train_dataloader', 'val_dataloader', 'param_scheduler', 'train_cfg',
                'auto_scale_lr', 'log_processor'):
        assert _differences(stock[key], ours[key]) == [], key  # inherited: mmdet's own
    assert _differences(stock['optim_wrapper'], ours['optim_wrapper']) == [
        'paramwise_cfg.custom_keys.backbone', 'paramwise_cfg.custom_keys.logit_scale',
        'paramwise_cfg.custom_keys.void_embedding']
    assert _differences(stock['model'], ours['model']) == [
        'backbone',
        'clip',
        'data_preprocessor.mean', 'data_preprocessor.std',
        'ensemble',
        'neck',
        'panoptic_head.classifier', 'panoptic_head.in_channels',
        'panoptic_head.loss_cls.class_weight', 'panoptic_head.num_stuff_classes',
        'panoptic_head.num_things_classes', 'panoptic_head.type', 'panoptic_head.void_weight',
        'test_cfg.instance_on',
        'text_encoder',
        'type',
        'vocabulary']
    assert ours['model']['backbone']['type'] == 'UMGCLIPBackbone'
    assert ours['model']['panoptic_head']['in_channels'] == [256] * 4
