"""UMGCLIPPretrainer: losses, gradients, uneven batches, one text encoding, predictions,
temperatures from the checkpoint, region-to-crop self-distillation."""
import math
from unittest import mock

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData
from torchvision.ops import roi_align

import umg_mm  # noqa: F401
from umg_mm.models.pretrainers import UMGCLIPPretrainer
from umg_mm.models.pretrainers.pooling import (crop_regions, mask_coverage, patch_coverage_pool,
                                               pool_regions)
from umg_mm.models.utils import NANO_MODEL, build_open_clip

LOSS = dict(type='MultiPositiveContrastiveLoss')


def _model(**kwargs):
    cfg = dict(
        backbone=dict(type='UMGCLIPBackbone', model_name=NANO_MODEL, out_type='dict',
                      out_indices=(), frozen_stages=-1),
        text_encoder=dict(type='UMGCLIPTextEncoder', model_name=NANO_MODEL, frozen=False,
                          templates=['a {}']),
        image_text_loss=LOSS, region_text_loss=LOSS, pixel_text_loss=LOSS,
        data_preprocessor=dict(type='UMGDataPreprocessor', pad_size_divisor=8),
        test_cfg=dict(vocabulary=['circle', 'square', 'sky']))
    cfg.update(kwargs)
    torch.manual_seed(0)
    return UMGCLIPPretrainer(**cfg)


def _sample(size, boxes=(), box_texts=(), masks=(), tags=(), img_text='a circle on sky'):
    sample = DetDataSample(metainfo=dict(img_shape=size, img_path=f'{img_text}.jpg'))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        texts=list(box_texts), tags=[[t.split()[-1]] for t in box_texts])
    mask_tensor = torch.zeros((len(masks), *size), dtype=torch.bool)
    for i, (y1, y2, x1, x2) in enumerate(masks):
        mask_tensor[i, y1:y2, x1:x2] = True
    sample.gt_segments = InstanceData(
        masks=mask_tensor, bboxes=torch.zeros(len(masks), 4), texts=[t[0] for t in tags],
        tags=[list(t) for t in tags], isthing=torch.zeros(len(masks), dtype=torch.bool))
    sample.img_text = img_text
    return sample


def _batch(model, samples):
    inputs = [torch.randint(0, 255, (3, *s.metainfo['img_shape']), dtype=torch.uint8)
              for s in samples]
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), True)


def _full_batch(model):
    return _batch(model, [
        _sample((32, 32), [[0, 0, 16, 16], [8, 8, 30, 24]], ['a red circle', 'a blue square'],
                [(0, 16, 0, 32), (16, 32, 0, 32)], [('sky',), ('grass', 'green')]),
        _sample((24, 32), [[4, 4, 12, 20]], ['a red circle'], [(0, 24, 0, 16)], [('sky',)],
                img_text='a circle'),
    ])


def _grads(model, losses):
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    return {n: p.grad for n, p in model.named_parameters() if p.requires_grad}


def test_losses_and_gradients_reach_every_trained_part():
    model = _model()
    losses = model(**_full_batch(model), mode='loss')
    assert set(losses) == {'loss_image_text', 'loss_region_text', 'loss_pixel_text',
                           'scale_image_text', 'scale_region_text', 'scale_pixel_text'}
    assert all(torch.isfinite(v) and v > 0 for k, v in losses.items() if k.startswith('loss'))
    grads = _grads(model, losses)
    for name in ('backbone.visual.conv1.weight', 'backbone.visual.proj',
                 'backbone.visual.transformer.resblocks.1.mlp.c_fc.weight',
                 'text_encoder.clip.text_projection', 'text_encoder.clip.token_embedding.weight',
                 'text_encoder.clip.logit_scale', 'losses.region_text.log_logit_scale',
                 'losses.pixel_text.log_logit_scale'):
        assert grads[name] is not None and grads[name].abs().sum() > 0, name


def test_each_level_trains_its_own_temperature_only():
    model = _model(image_text_loss=None, pixel_text_loss=None)
    grads = _grads(model, model(**_full_batch(model), mode='loss'))
    assert list(model.losses) == ['region_text']
    assert grads['losses.region_text.log_logit_scale'].abs() > 0
    assert grads['backbone.visual.conv1.weight'].abs().sum() > 0
    with pytest.raises(ValueError, match='at least one'):
        _model(image_text_loss=None, region_text_loss=None, pixel_text_loss=None)


def test_frozen_text_encoder_and_lora_backbone_train_only_adapters():
    model = _model(
        backbone=dict(type='UMGCLIPBackbone', model_name=NANO_MODEL, out_type='dict',
                      out_indices=(), lora=dict(r=4, alpha=8)),
        text_encoder=dict(type='UMGCLIPTextEncoder', model_name=NANO_MODEL, frozen=True))
    grads = _grads(model, model(**_full_batch(model), mode='loss'))
    # the temperatures train: the image-text one is the CLIP's logit_scale
    temperatures = ('losses.', 'text_encoder.clip.logit_scale')
    assert grads and all('lora' in n or n.startswith(temperatures) for n in grads)
    assert any('lora' in n and g is not None and g.abs().sum() > 0 for n, g in grads.items())
    assert all(p.grad is None for n, p in model.text_encoder.named_parameters()
               if n != 'clip.logit_scale')


def test_batch_without_regions_masks_or_captions_stays_finite():
    model = _model(pixel_dense_loss=dict(type='MultiPositiveContrastiveLoss', symmetric=False))
    batch = _batch(model, [_sample((32, 32), img_text=None), _sample((32, 32))])
    losses = model(**batch, mode='loss')
    assert losses['loss_region_text'] == 0 and losses['loss_pixel_text'] == 0
    assert losses['loss_pixel_dense'] == 0
    assert torch.isfinite(losses['loss_image_text'])  # one captioned image: log(1) = 0
    _grads(model, losses)  # backward works


def test_texts_are_tokenised_and_encoded_once_per_batch():
    model = _model()
    batch = _full_batch(model)
    tokenizer = mock.Mock(wraps=model.text_encoder.tokenizer)
    model.text_encoder.tokenizer = tokenizer
    with mock.patch.object(model.text_encoder.clip, 'encode_text',
                           wraps=model.text_encoder.clip.encode_text) as encode:
        model(**batch, mode='loss')
    assert encode.call_count == 1 and tokenizer.call_count == 1
    strings = tokenizer.call_args[0][0]
    assert sorted(strings) == sorted({'a circle on sky', 'a circle', 'a red circle',
                                      'a blue square', 'circle', 'square', 'sky', 'grass',
                                      'green'})


@pytest.mark.parametrize('region_tags', [True, False])
def test_regions_are_paired_with_their_caption_and_tags(region_tags):
    model = _model(region_tags=region_tags, tag_template='a {}.')
    loss = model.losses['region_text']
    with mock.patch.object(loss, 'forward', wraps=loss.forward) as forward:
        model(**_full_batch(model), mode='loss')
    regions, texts, ids, pairs = forward.call_args[0]
    assert regions.shape == (3, 32)
    if region_tags:  # caption and tag of each region: 'a red circle' + 'a circle.', ...
        assert texts.shape == (6, 32)
        assert pairs.tolist() == [[0, 0], [0, 1], [1, 2], [1, 3], [2, 4], [2, 5]]
        assert ids[1] == ids[5] and ids[0] == ids[4] and ids[0] != ids[1]
    else:
        assert texts.shape == (3, 32) and pairs.tolist() == [[0, 0], [1, 1], [2, 2]]


def test_pixel_dense_term_pairs_covered_patches_with_their_mask_tags():
    model = _model(image_text_loss=None, region_text_loss=None, pixel_text_loss=None,
                   pixel_dense_loss=dict(type='MultiPositiveContrastiveLoss', symmetric=False))
    batch = _full_batch(model)
    with mock.patch.object(model.losses['pixel_dense'], 'forward',
                           wraps=model.losses['pixel_dense'].forward) as forward:
        model(**batch, mode='loss')
    pixels, texts, _, pairs = forward.call_args[0]
    # image 0: 2 masks x 8 patches (4x4 grid, half each); image 1: 3x2 patches of a 3x4 grid
    assert pixels.shape == (16 + 6, 32) and texts.shape == (4, 32)
    # the grass/green mask's 8 patches are paired with both of its tags
    assert pairs.shape == (8 + 8 * 2 + 6, 2)


def test_region_pooling_is_roi_align_and_mask_pooling_weights_by_coverage():
    dense = torch.randn(2, 3, 4, 4)
    boxes = [torch.tensor([[0., 0., 16., 16.], [4., 8., 30., 20.]]),
             torch.tensor([[0., 0., 8., 8.]])]
    model = _model()
    model.roi_align.spatial_scale = 1 / 8
    pooled = pool_regions(dense, boxes, model.roi_align)
    rois = [b.clone() for b in boxes]
    expected = roi_align(dense, rois, output_size=2, spatial_scale=1 / 8, sampling_ratio=2,
                         aligned=True).mean(dim=(2, 3))
    assert torch.allclose(pooled, expected, atol=1e-5)
    assert pool_regions(dense, [torch.zeros(0, 4)] * 2, model.roi_align).shape == (0, 3)
    # a strided view, as the backbone's tokens transposed into a map (mmcv's op alone reads it
    # wrongly), pools like its contiguous copy, and the gradient reaches the tokens
    tokens = torch.randn(2, 16, 3, requires_grad=True)
    strided = tokens.transpose(1, 2).reshape(2, 3, 4, 4)
    assert not strided.is_contiguous()
    pooled = pool_regions(strided, boxes, model.roi_align)
    expected = roi_align(strided.detach().contiguous(), rois, output_size=2, spatial_scale=1 / 8,
                         sampling_ratio=2, aligned=True).mean(dim=(2, 3))
    assert torch.allclose(pooled, expected, atol=1e-5)
    pooled.sum().backward()
    assert tokens.grad.abs().sum() > 0

    dense = torch.tensor([[[[1., 2.], [3., 4.]]]])  # (1, 1, 2, 2), patch 2 -> 4x4 px
    mask = torch.zeros(1, 4, 4, dtype=torch.bool)
    mask[0, :2, :2] = True  # the whole top-left patch
    mask[0, :2, 2] = True  # half of the top-right patch
    assert mask_coverage(mask, (2, 2), 2).tolist() == [[[1., .5], [0., 0.]]]
    embedding, _, _ = patch_coverage_pool(dense, [mask], patch_size=2)
    assert embedding.item() == pytest.approx((1 * 1 + .5 * 2) / 1.5)


def test_predict_gives_zero_shot_outputs():
    model = _model().eval()
    batch = _full_batch(model)
    results = model(**batch, mode='predict')
    first, second = results
    assert first.pred_img_scores.shape == (3,) and first.img_embedding.shape == (32,)
    assert torch.allclose(first.img_embedding.norm(), torch.tensor(1.))
    assert first.text_embedding.shape == (32,)
    assert first.pred_region_scores.shape == (2, 3) and second.pred_region_scores.shape == (1, 3)
    assert first.pred_sem_seg.data.shape == (1, 32, 32)
    assert second.pred_sem_seg.data.shape == (1, 24, 32)  # cropped to the unpadded image
    assert int(second.pred_sem_seg.data.max()) < 3
    assert model(**batch, mode='tensor')['dense'].shape == (2, 32, 4, 4)
    # the vocabulary protocol: another vocabulary, or none (embeddings only)
    assert model.vocabulary.class_names == ['circle', 'square', 'sky']
    assert len(model.set_vocabulary(['circle, disc', 'sky'])) == 2
    assert model(**_full_batch(model), mode='predict')[0].pred_img_scores.shape == (2,)
    assert model.set_vocabulary(None) is None and model.vocabulary is None
    assert 'pred_img_scores' not in model(**_full_batch(model), mode='predict')[0]
    with pytest.raises(ValueError, match='no thing/stuff split'):
        model.set_vocabulary(['cat'], stuff=['sky'])


def test_configuration_errors():
    with pytest.raises(ValueError, match="out_type='dict'"):
        _model(backbone=dict(type='UMGCLIPBackbone', model_name=NANO_MODEL))
    with pytest.raises(ValueError, match='tag_template'):
        _model(tag_template='a photo')


def test_pretrained_checkpoint_loads_into_the_downstream_towers(tmp_path):
    from umg_mm.models.backbones import UMGCLIPBackbone
    from umg_mm.models.text import UMGCLIPTextEncoder
    model = _model()
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.5)  # differ from a fresh initialisation
    path = tmp_path / 'iter_10.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=10)), path)
    backbone = UMGCLIPBackbone(model_name=NANO_MODEL, checkpoint=str(path))
    text = UMGCLIPTextEncoder(model_name=NANO_MODEL, checkpoint=str(path))
    assert torch.equal(backbone.visual.conv1.weight, model.backbone.visual.conv1.weight)
    assert torch.equal(text.clip.token_embedding.weight,
                       model.text_encoder.clip.token_embedding.weight)


# ---------------------------------------------------------------- temperature from the checkpoint
def _clip_file(tmp_path, scale):
    clip = build_open_clip(NANO_MODEL)
    with torch.no_grad():
        clip.logit_scale.fill_(math.log(scale))
    path = tmp_path / 'clip.pt'
    torch.save(clip.state_dict(), path)
    return str(path)


def _clip_model(**kwargs):
    return _model(backbone=dict(type='UMGCLIPBackbone', out_type='dict', out_indices=(),
                                frozen_stages=-1),
                  text_encoder=dict(type='UMGCLIPTextEncoder', frozen=False, templates=['a {}']),
                  **kwargs)


@pytest.mark.parametrize('from_checkpoint', [True, False])
def test_temperatures_start_from_the_checkpoint_logit_scale(tmp_path, from_checkpoint):
    path = _clip_file(tmp_path, 42.)
    model = _clip_model(clip=dict(model_name=NANO_MODEL, checkpoint=path),
                        logit_scale_from_checkpoint=from_checkpoint,
                        region_text_loss=dict(LOSS, temperature=0.05))
    expected = dict(image_text=42., region_text=42., pixel_text=42.) if from_checkpoint else \
        dict(image_text=1 / 0.07, region_text=1 / 0.05, pixel_text=1 / 0.07)
    for name, scale in expected.items():
        assert model.losses[name].logit_scale().item() == pytest.approx(scale, rel=1e-5), name
    # random towers: the configured temperatures, whatever the switch
    random = _clip_model(clip=dict(model_name=NANO_MODEL, checkpoint='random'))
    assert random.losses['image_text'].logit_scale().item() == pytest.approx(1 / 0.07)
    assert random.losses['region_text'].logit_scale().item() == pytest.approx(1 / 0.07)


def test_checkpoint_carries_the_image_text_scale_as_the_clip_logit_scale(tmp_path):
    from umg_mm.models.text import UMGCLIPTextEncoder
    model = _model()
    model.losses['image_text'].set_logit_scale(20.)
    state = model.state_dict()
    assert not any(k.startswith('losses.image_text.') for k in state)
    assert state['text_encoder.clip.logit_scale'].exp().item() == pytest.approx(20.)
    path = tmp_path / 'iter_1.pth'
    torch.save(dict(state_dict=state), path)
    text = UMGCLIPTextEncoder(model_name=NANO_MODEL, checkpoint=str(path))
    assert text.logit_scale_loaded and text.logit_scale.exp().item() == pytest.approx(20.)
    # the next stage starts from it
    again = _clip_model(clip=dict(model_name=NANO_MODEL, checkpoint=str(path)))
    assert again.losses['image_text'].logit_scale().item() == pytest.approx(20., rel=1e-5)


def test_old_checkpoint_with_its_own_image_text_temperature_loads():
    model = _model()
    state = model.state_dict()
    # the layout before: the loss held the trained scale, the CLIP an untrained one
    state['losses.image_text.log_logit_scale'] = torch.tensor(math.log(30.))
    state['text_encoder.clip.logit_scale'] = torch.tensor(math.log(1 / 0.07))
    fresh = _model()
    fresh.load_state_dict(state, strict=True)
    assert fresh.losses['image_text'].logit_scale().item() == pytest.approx(30.)


# ---------------------------------------------------------------- region-to-crop distillation
DISTILL = dict(type='RegionCropDistillLoss', loss_weight=1., num_crops=8)


def test_region_crop_distill_equals_the_hand_computation_and_stops_the_teacher_gradient():
    model = _model(image_text_loss=None, region_text_loss=None, pixel_text_loss=None,
                   region_crop_distill_loss=DISTILL)
    batch = _full_batch(model)
    calls = []
    forward = model.backbone.forward

    def recording(inputs):
        calls.append((tuple(inputs.shape), torch.is_grad_enabled()))
        return forward(inputs)

    with mock.patch.object(model.backbone, 'forward', side_effect=recording):
        losses = model(**batch, mode='loss')
    # student: the batch with gradient; teacher: the 3 boxes cropped to 32 px, without
    assert calls == [((2, 3, 32, 32), True), ((3, 3, 32, 32), False)]
    assert set(losses) == {'loss_region_crop_distill'}
    with torch.no_grad():
        inputs = batch['inputs']
        boxes = [s.gt_instances.bboxes for s in batch['data_samples']]
        student = pool_regions(model.backbone(inputs)['dense'], boxes, model.roi_align)
        crops = crop_regions(inputs, torch.cat(boxes), torch.tensor([0, 0, 1]), (32, 32))
        teacher = model.backbone(crops)['global']
        expected = (1 - torch.nn.functional.cosine_similarity(student, teacher)).mean()
    assert losses['loss_region_crop_distill'].item() == pytest.approx(expected.item(), abs=1e-5)
    grads = _grads(model, losses)
    assert grads['backbone.visual.conv1.weight'].abs().sum() > 0
    assert all(p.grad is None for p in model.text_encoder.parameters())


def test_region_crop_distill_caps_crops_and_is_zero_on_the_graph_without_regions():
    model = _model(region_crop_distill_loss=dict(DISTILL, num_crops=2))
    batch = _full_batch(model)
    with mock.patch('umg_mm.models.pretrainers.umg_clip_pretrainer.crop_regions',
                    wraps=crop_regions) as crop:
        losses = model(**batch, mode='loss')
    assert crop.call_args[0][1].shape == (2, 4)  # 2 of the batch's 3 boxes
    assert torch.isfinite(losses['loss_region_crop_distill'])
    empty = model(**_batch(model, [_sample((32, 32)), _sample((24, 32))]), mode='loss')
    assert empty['loss_region_crop_distill'] == 0
    assert empty['loss_region_crop_distill'].requires_grad
    _grads(model, empty)  # backward works


def test_a_few_training_steps_with_every_term_stay_finite():
    model = _model(region_crop_distill_loss=DISTILL)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    batch = _full_batch(model)
    for _ in range(3):
        losses = model(**batch, mode='loss')
        total = sum(v for k, v in losses.items() if k.startswith('loss'))
        assert torch.isfinite(total) and torch.isfinite(losses['loss_region_crop_distill'])
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
