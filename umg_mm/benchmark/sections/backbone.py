"""Backbone dense forward against open_clip's ``encode_image`` on the same weights and input."""
import torch

from umg_mm.models.backbones import UMGCLIPBackbone
from umg_mm.models.utils.open_clip_builder import build_open_clip
from ..context import BenchmarkContext, with_image_size
from ..result import Ratio, SectionResult
from ..timing import interleaved_medians


def run(ctx: BenchmarkContext) -> SectionResult:
    """For each of ``ctx.sizes``: the backbone's ``out_type='dense'`` forward (``'tokens'`` and
    ``'value'`` read-outs) against ``encode_image`` of the open_clip model whose visual weights
    it holds, both native at that size; and, at sizes other than the model's native one, the
    backbone of the native model whose positional embeddings are resized on the fly."""
    result = SectionResult()
    device = ctx.torch_device
    native_size = ctx.clip_cfg['vision_cfg']['image_size']
    native = UMGCLIPBackbone(model_cfg=ctx.clip_cfg, out_type='dense').eval().to(device)
    for size in ctx.sizes:
        cfg = with_image_size(ctx.clip_cfg, size)
        clip = build_open_clip(model_cfg=cfg).eval().to(device)
        visual = {k: v for k, v in clip.state_dict().items() if k.startswith('visual.')}
        tokens = UMGCLIPBackbone(model_cfg=cfg, out_type='dense').eval().to(device)
        missing = tokens.load_state_dict(visual, strict=False).missing_keys
        if missing:
            raise RuntimeError(f'the backbone did not take open_clip\'s visual weights: '
                               f'{missing[:5]} missing')
        value = UMGCLIPBackbone(model_cfg=cfg, out_type='dense',
                                dense_readout='value').eval().to(device)
        value.load_state_dict(tokens.state_dict())
        images = torch.randn(ctx.batch_size, 3, size, size, device=device)
        fns = [lambda: clip.encode_image(images), lambda: tokens(images), lambda: value(images)]
        if size != native_size:
            fns.append(lambda: native(images))
        with torch.no_grad():
            medians, _ = interleaved_medians(ctx.clock, fns, ctx.repeats, ctx.warmup)
        reference = medians[0]
        result.ratios[f'dense_tokens_{size}px'] = Ratio(
            f'dense forward (tokens read-out) vs open_clip encode_image, {size} px', medians[1],
            reference, 's')
        result.ratios[f'dense_value_{size}px'] = Ratio(
            f'dense forward (value read-out) vs open_clip encode_image, {size} px', medians[2],
            reference, 's')
        if size != native_size:
            result.ratios[f'dense_resized_pos_embed_{size}px'] = Ratio(
                f'dense forward of the {native_size}-px model (positional embeddings resized on '
                f'the fly) vs open_clip encode_image, {size} px', medians[3], reference, 's')
        del clip, tokens, value
    result.notes.append(f'random weights, batch {ctx.batch_size}, no_grad, eval mode')
    return result
