"""Semantic segmentation inference over an 847-class vs a 150-class vocabulary, cache warm."""
from typing import Tuple

import torch
from mmseg.registry import MODELS as MMSEG_MODELS
from mmseg.structures import SegDataSample
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope

from umg_mm.structures.vocabulary import Vocabulary, list_vocabularies, load_vocabulary
from ..context import TINY_MODEL, BenchmarkContext, clip_config, with_image_size
from ..result import Ratio, SectionResult
from ..timing import interleaved_medians, tracked_peak_bytes

#: The segmentor measured: the ViT-B/16 open-vocabulary Mask2Former (its head as configured),
#: or, for ``--model tiny``, the synthetic world's tiny one.
SEG_CONFIGS = {TINY_MODEL: 'umg/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py',
               None: '_base_/models/umg_ov_mask2former_vitb16.py'}
TRAIN_VOCABULARY = 'coco_stuff_171'
LARGE, SMALL = 847, 150
MIB = 2**20


def vocabularies() -> Tuple[Vocabulary, Vocabulary, str]:
    """ADE-847 and ADE-150, and where the 847 came from.

    ``ade20k_847`` exists once ``tools/dataset_converters/ade20k_847.py`` has run; otherwise a
    stand-in of 847 distinct names (ADE-150's classes with their synonyms, the display names of
    the other shipped vocabularies, then ``'object number i'``). Once its text embeddings are
    cached, inference depends on the number of classes only, not on the names.
    """
    small = load_vocabulary('ade20k_150')
    try:
        return load_vocabulary('ade20k_847'), small, 'ade20k_847'
    except FileNotFoundError:
        pass
    entries, seen = list(small.synonyms), {names[0] for names in small.synonyms}
    for name in list_vocabularies():
        for names in load_vocabulary(name).synonyms:
            if names[0] not in seen:
                seen.add(names[0])
                entries.append((names[0], ))
    entries += [(f'object number {i}', ) for i in range(LARGE - len(entries))]
    source = ('stand-in (ade20k_847 not converted here): ADE-150 + other shipped vocabularies '
              '+ numbered objects')
    return load_vocabulary(entries[:LARGE]), small, source


def _config_of(ctx: BenchmarkContext) -> str:
    return SEG_CONFIGS[TINY_MODEL if ctx.model == TINY_MODEL else None]


def segmentor_cfg(ctx: BenchmarkContext) -> ConfigDict:
    """The segmentor config, at ``ctx.seg_size``, trained vocabulary COCO-Stuff-171, one prompt
    template (the text cache is warm when timed, so the template count does not matter)."""
    cfg = ctx.config(_config_of(ctx)).model  # a ConfigDict: mmdet's heads read attributes of it
    # the tiny config's own CLIP (the synthetic world's), else the --model architecture
    clip_cfg = clip_config(cfg['clip']['model_name']) if ctx.model == TINY_MODEL else ctx.clip_cfg
    cfg['clip'] = dict(model_cfg=with_image_size(clip_cfg, ctx.seg_size), checkpoint=None)
    cfg['text_encoder'].update(templates='single')
    cfg['train_vocabulary'] = TRAIN_VOCABULARY
    for part in ('ensemble', 'fallback'):  # the parts that know the training classes
        if cfg.get(part):
            cfg[part]['seen_classes'] = TRAIN_VOCABULARY
    return cfg


def run(ctx: BenchmarkContext) -> SectionResult:
    """``predict`` of one ``seg_size`` image (whole-image inference: backbone, head, FC-CLIP
    ensemble and uncovered-pixel fallback when the config has them, resizing to the image) over
    847 vs 150 classes, each vocabulary's text embeddings already cached: time and peak tensor
    memory of the default label-map path, and time of the ``output_logits=True`` path; also
    the first (cold) and a cached classifier call of the 847 and its candidate classes."""
    large, small, source = vocabularies()
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MMSEG_MODELS.build(segmentor_cfg(ctx))
    model = model.to(ctx.torch_device).eval()
    size = ctx.seg_size
    inputs = torch.randn(1, 3, size, size, device=ctx.torch_device)
    meta = dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size),
                padding_size=[0, 0, 0, 0])

    def predict(vocabulary, logits=False):
        model.set_vocabulary(vocabulary)
        model.test_cfg['output_logits'] = logits
        return model.predict(inputs, [SegDataSample(metainfo=meta)])

    with torch.no_grad():
        first = ctx.clock(lambda: model.text_encoder.classifier(large))
        cached = ctx.clock(lambda: model.text_encoder.classifier(large))
        (large_s, small_s, large_logits_s, small_logits_s), _ = interleaved_medians(
            ctx.clock, [lambda: predict(large), lambda: predict(small),
                        lambda: predict(large, True), lambda: predict(small, True)],
            ctx.repeats, max(1, ctx.warmup))
        out = predict(large)[0].pred_sem_seg.data
        memory = {name: tracked_peak_bytes(lambda: predict(vocabulary, logits))['total']
                  for name, vocabulary, logits in [('large', large, False),
                                                   ('small', small, False),
                                                   ('large_logits', large, True)]}
        model.set_vocabulary(large)
        features = model.extract_feat(inputs)
        metas = [dict(meta, batch_input_shape=(size, size))]
        candidates = len(model.candidate_classes(
            features, *model.query_predictions(features, metas)))
    if tuple(out.shape[-2:]) != (size, size) or int(out.max()) >= LARGE:
        raise RuntimeError(f'unexpected prediction: shape {tuple(out.shape)}, max label '
                           f'{int(out.max())}')
    result = SectionResult()
    result.ratios['vocabulary_847_vs_150'] = Ratio(
        f'segmentation inference, {LARGE}- vs {SMALL}-class vocabulary (text cache warm), '
        f'{size} px', large_s, small_s, 's')
    result.ratios['vocabulary_847_vs_150_memory'] = Ratio(
        f'peak tensor memory of segmentation inference, {LARGE}- vs {SMALL}-class vocabulary, '
        f'{size} px', memory['large'] / MIB, memory['small'] / MIB, 'MiB')
    result.ratios['vocabulary_847_vs_150_logits'] = Ratio(
        f'the same with output_logits=True (mmseg\'s (K, H, W) seg_logits), {LARGE}- vs '
        f'{SMALL}-class vocabulary', large_logits_s, small_logits_s, 's')
    prompts = sum(len(names) for names in large.synonyms)
    result.measurements.update(
        vocabulary_847=source, image_size=size, batch_size=1,
        classifier_847_first_call_s=first, classifier_847_cached_call_s=cached,
        classifier_847_prompts=prompts, candidate_classes_847=candidates,
        peak_memory_847_logits_mib=memory['large_logits'] / MIB,
        memory_method='torch MemTracker: tensors allocated by predict (weights excluded)')
    result.notes.append(f'configs/{_config_of(ctx)}, random weights, one prompt template')
    return result
