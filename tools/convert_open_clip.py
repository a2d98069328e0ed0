"""Convert an open_clip checkpoint to umg_mm's layout, and back.

open_clip -> umg_mm (what ``UMGCLIPBackbone``/``UMGCLIPTextEncoder`` load through ``checkpoint=``
or ``init_cfg=dict(type='Pretrained', checkpoint=...)``, and what ``load_from`` loads into a
model whose towers are called ``backbone`` and ``text_encoder``)::

    python tools/convert_open_clip.py to-umg open_clip_model.safetensors umg_vit_b16.pth
    python tools/convert_open_clip.py to-umg ViT-B-16.pt umg_vit_b16.pth --trust-torchscript
        # OpenAI's TorchScript files: loading one runs its code, so trust must be explicit

umg_mm -> open_clip (a plain state dict that ``open_clip.create_model(name, pretrained=FILE)``
loads; heads are dropped; LoRA adapters kept apart are merged when their config is given)::

    python tools/convert_open_clip.py to-open-clip work_dirs/x/iter_8000.pth open_clip.pt \\
        [--model-name ViT-B-16 --lora-r 8 --lora-alpha 16]
"""
import argparse
import os.path as osp
import sys

import torch

import umg_mm  # noqa: F401  (allow-lists mmengine checkpoint globals)
from umg_mm.models.utils.checkpoint import is_lora_key, read_state_dict
from umg_mm.models.utils.open_clip_convert import open_clip_to_umg, umg_to_open_clip
from umg_mm.utils.atomic_io import atomic_open, write_bytes_atomic


def _save(obj, path: str) -> None:
    """Write ``obj`` to ``path`` atomically (safetensors for a ``.safetensors`` name)."""
    if path.endswith('.safetensors'):
        from safetensors.torch import save
        write_bytes_atomic(path, save({k: v.contiguous() for k, v in obj.items()}))
        return
    with atomic_open(path, 'wb') as f:
        torch.save(obj, f)


def _merge_lora(state_dict, args):
    """Merge LoRA adapters kept apart: rebuild each tower with its LoRA config, load, merge."""
    import json
    from umg_mm.models.backbones import UMGCLIPBackbone
    from umg_mm.models.text import UMGCLIPTextEncoder
    if args.model_name.endswith('.json'):
        with open(args.model_name, encoding='utf-8') as f:
            model = dict(model_cfg=json.load(f))
    else:
        model = dict(model_name=args.model_name)
    lora = dict(r=args.lora_r, alpha=args.lora_alpha)
    for prefix, build in ((args.backbone_prefix, UMGCLIPBackbone),
                          (args.text_prefix, UMGCLIPTextEncoder)):
        part = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
        if not any(is_lora_key(k) for k in part):
            continue
        tower = build(**model, lora=lora)
        missing = tower.load_state_dict(part, strict=False).missing_keys
        if missing:
            raise KeyError(f'{args.src}: {len(missing)} weights of the {build.__name__} with '
                           f'{args.model_name} and r={args.lora_r} are missing (e.g. '
                           f'{missing[0]!r}); check --model-name and --lora-r')
        tower.merge_lora()
        state_dict = {k: v for k, v in state_dict.items() if not k.startswith(prefix)}
        state_dict.update({prefix + k: v for k, v in tower.state_dict().items()})
    return state_dict


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('direction', choices=['to-umg', 'to-open-clip'])
    parser.add_argument('src', help='input checkpoint file')
    parser.add_argument('dst', help='output checkpoint file (.pth, .pt or .safetensors)')
    parser.add_argument('--backbone-prefix', default='backbone.')
    parser.add_argument('--text-prefix', default='text_encoder.')
    parser.add_argument('--model-name', help='open_clip model name, or an open_clip model config '
                        '.json file (to merge LoRA adapters)')
    parser.add_argument('--lora-r', type=int, help='LoRA rank of the adapters to merge')
    parser.add_argument('--lora-alpha', type=int, help='LoRA alpha of the adapters to merge')
    parser.add_argument('--trust-torchscript', action='store_true',
                        help='read src even if it is a TorchScript archive (such as OpenAI\'s '
                        'CLIP files): loading one runs the code it carries, so only for files '
                        'of trusted origin')
    args = parser.parse_args(argv)
    if osp.abspath(args.src) == osp.abspath(args.dst):
        parser.error('dst must differ from src')
    state_dict = read_state_dict(args.src, trust_torchscript=args.trust_torchscript)
    if args.direction == 'to-umg':
        converted = open_clip_to_umg(state_dict, args.backbone_prefix, args.text_prefix)
        _save({'meta': {'converted_from': osp.basename(args.src), 'layout': 'umg_mm'},
               'state_dict': converted} if not args.dst.endswith('.safetensors') else converted,
              args.dst)
        print(f'{args.dst}: {len(converted)} tensors (backbone under {args.backbone_prefix!r}, '
              f'text tower under {args.text_prefix + "clip."!r})')
        return 0
    if any(is_lora_key(k) for k in state_dict):
        if not (args.model_name and args.lora_r and args.lora_alpha):
            parser.error('the checkpoint holds LoRA adapters kept apart; give --model-name, '
                         '--lora-r and --lora-alpha (as trained) to merge them')
        state_dict = _merge_lora(state_dict, args)
    converted, dropped = umg_to_open_clip(state_dict, args.backbone_prefix, args.text_prefix)
    _save(converted, args.dst)
    print(f'{args.dst}: {len(converted)} tensors in open_clip layout ({dropped} keys of other '
          f'modules dropped)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
