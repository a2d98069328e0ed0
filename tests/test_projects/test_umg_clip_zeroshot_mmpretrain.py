"""projects/umg_clip_zeroshot_mmpretrain: mmpretrain's stock CLIP zero-shot configs with umg_mm's
UMGCLIPZeroShot build from the installed mmpretrain and run offline on the CPU: the stock pipeline,
data preprocessor and Accuracy on an image file, a checkpoint through ``load_from``, a vocabulary
swap, one loss step (tiny CLIP towers)."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose, default_collate
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import load_checkpoint
from mmpretrain.datasets.categories import CIFAR100_CATEGORIES, IMAGENET_SIMPLE_CATEGORIES
from mmpretrain.evaluation import Accuracy
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import umg_mm  # noqa: F401
from .project_configs import TINY_LORA, project_config, tiny_backbone

PROJECT = 'umg_clip_zeroshot_mmpretrain'
IN1K = 'umg-clip-vit-b16_zeroshot-cls_in1k.py'


def tiny_cfg(name=IN1K):
    """A project config with tiny CLIP towers (and, for the loss step, a tiny LoRA)."""
    cfg = project_config(PROJECT, name)
    tiny_backbone(cfg, lora=TINY_LORA)
    return cfg


def build(cfg):
    """The model as the Runner builds it (the config's top-level data_preprocessor filled in)."""
    init_default_scope('mmpretrain')
    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


@pytest.fixture(scope='module')
def in1k():
    cfg = tiny_cfg()
    return cfg, build(cfg.copy())


def test_stock_configs_with_umg_model(in1k):
    cfg, model = in1k
    assert cfg.test_dataloader.dataset.type == 'ImageNet'
    assert (cfg.test_evaluator.type, cfg.test_evaluator.topk) == ('Accuracy', (1, 5))
    assert cfg.data_preprocessor.type == 'MultiModalDataPreprocessor'
    assert type(model).__name__ == 'UMGCLIPZeroShot'
    assert type(model.data_preprocessor).__name__ == 'MultiModalDataPreprocessor'
    assert model.vocabulary.class_names == list(IMAGENET_SIMPLE_CATEGORIES)  # duplicates kept
    assert len(model.templates) == 7 and model.templates[0] == 'itap of a {}.'
    cifar = tiny_cfg('umg-clip-vit-b16_zeroshot-cls_cifar100.py')
    assert cifar.test_dataloader.dataset.type == 'CIFAR100'
    cifar_model = build(cifar)
    assert cifar_model.num_classes == 100
    assert cifar_model.vocabulary.class_names[1] == CIFAR100_CATEGORIES[1].replace('_', ' ')
    assert len(cifar_model.templates) == 18


def test_stock_pipeline_preprocessor_and_accuracy_with_a_checkpoint(in1k, tmp_path):
    cfg, model = in1k
    # a "pretrained" checkpoint: the same towers, other weights, saved as tools/train.py does
    torch.manual_seed(1)
    trained = build(tiny_cfg())
    torch.save(dict(state_dict=trained.state_dict()), tmp_path / 'umg.pth')
    load_checkpoint(model, str(tmp_path / 'umg.pth'), map_location='cpu')
    for key, value in trained.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key

    image = np.random.default_rng(0).integers(0, 255, (40, 56, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'img.png'), image)
    pipeline = Compose(cfg.test_dataloader.dataset.pipeline)  # LoadImage, Resize 224, Pack
    samples = [pipeline(dict(img_path=str(tmp_path / 'img.png'), gt_label=3, sample_idx=i))
               for i in range(2)]
    batch = default_collate(samples)  # the project's collate_fn
    assert cfg.test_dataloader.collate_fn == dict(type='default_collate')
    model.eval()
    outputs = model.test_step(batch)
    assert len(outputs) == 2 and outputs[0].pred_score.shape == (1000,)
    torch.testing.assert_close(outputs[0].pred_score.sum(), torch.tensor(1.))
    torch.testing.assert_close(outputs[0].pred_score, outputs[1].pred_score)
    # the probabilities are the softmax of the checkpoint's scaled cosine similarities
    images = model.data_preprocessor(batch)['images']
    assert images.shape == (2, 3, 224, 224)
    with torch.no_grad():
        embedding = torch.nn.functional.normalize(model.backbone(images)[0], dim=-1)
        logits = model.text_encoder.logit_scale.exp() * embedding @ \
            model.text_encoder.classifier(model.vocabulary, model.templates).T
    torch.testing.assert_close(outputs[0].pred_score, logits[0].softmax(-1))
    metric = Accuracy(topk=(1, 5))
    metric.process(batch, [o.to_dict() for o in outputs])
    rank = int((logits[0] > logits[0, 3]).sum())
    top1, top5 = metric.compute_metrics(metric.results).values()
    assert (top1, top5) == (100. * (rank < 1), 100. * (rank < 5))


def test_vocabulary_from_cfg_options_orders_the_scores():
    """``--cfg-options model.text_prototype=[...]`` classifies over those names, in that order."""
    names = ['circle', 'square', 'triangle', 'star']
    cfg = tiny_cfg()
    cfg.merge_from_dict({'model.text_prototype': names})
    model = build(cfg).eval()
    images = torch.randn(3, 3, 32, 32)
    scores = model(images, mode='tensor')
    assert scores.shape == (3, 4)
    model.set_vocabulary(names[::-1])
    torch.testing.assert_close(model(images, mode='tensor'), scores.flip(-1))
    predictions = model(images, mode='predict')
    assert [int(p.pred_label) for p in predictions] == (3 - scores.argmax(-1)).tolist()


def test_one_loss_step_reaches_the_lora_adapters(in1k):
    cfg = tiny_cfg()
    cfg.merge_from_dict({'model.text_prototype': ['circle', 'square', 'triangle']})
    model = build(cfg).train()
    samples = [DataSample().set_gt_label(label) for label in (0, 2)]
    data = model.data_preprocessor(dict(inputs=torch.randint(0, 255, (2, 3, 32, 32)).float(),
                                        data_samples=samples), True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss']) and losses['loss'] > 0
    losses['loss'].backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items() if 'lora_' in n)
    assert all(g is None for n, g in grads.items() if 'lora_' not in n)  # frozen towers
