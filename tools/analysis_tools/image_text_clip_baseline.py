"""Pretrain a small CLIP on the synthetic world's captions, image-level alignment only.

One symmetric contrastive loss between whole images and their captions (open_clip's
``ClipLoss``, as CLIP is trained), nothing at region or pixel level: the reference against which
umg_mm's multi-granularity pretraining is compared, and a backbone for the synthetic
open-vocabulary segmentation recipe (``configs/umg/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py``, whose
``model.clip.model_name`` gives the architecture). The captions name the held-out classes too (only
the segmentation labels hold them out), so a CLIP trained here knows their words.

    python tools/analysis_tools/image_text_clip_baseline.py data/synthetic \
        work_dirs/clip_image_level.pth --epochs 15

writes a umg_mm checkpoint (towers under ``backbone.`` and ``text_encoder.``, as
``tools/convert_open_clip.py to-umg`` writes), which the segmentation configs load with
``load_from`` / ``tools/test.py`` and the towers with ``checkpoint=``.
"""
import argparse
import json
import os
import os.path as osp
import time

import cv2
import numpy as np
import open_clip
import torch
from mmengine.config import Config

from umg_mm.models.utils import build_open_clip
from umg_mm.models.utils.open_clip_convert import open_clip_to_umg

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def load_pairs(world: str, size: int):
    """Images ``(N, 3, size, size)`` (CLIP-normalised) and their captions (3 per image)."""
    images, captions = [], []
    with open(osp.join(world, 'umg', 'train.jsonl'), encoding='utf-8') as f:
        for line in f:
            record = json.loads(line)
            path = osp.join(world, 'images', 'train', record['image']['file_name'])
            image = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
            image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
            images.append(((image.astype(np.float32) / 255. - MEAN) / STD).transpose(2, 0, 1))
            captions.append(record['captions'])
    return torch.from_numpy(np.stack(images)), captions


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('world', help='synthetic world folder (tools/make_synthetic_data.py)')
    parser.add_argument('out', help='output checkpoint (.pth)')
    parser.add_argument('--config',
                        default='configs/umg/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py',
                        help='config whose model.clip.model_name gives the architecture')
    parser.add_argument('--epochs', type=int, default=15)
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    model_name = Config.fromfile(args.config).model.clip.model_name
    model_cfg = open_clip.get_model_config(model_name)
    model = build_open_clip(model_name)
    tokenizer = open_clip.SimpleTokenizer(context_length=model_cfg['text_cfg']['context_length'])
    images, captions = load_pairs(args.world, model_cfg['vision_cfg']['image_size'])
    loss_fn = open_clip.ClipLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1)
    steps = args.epochs * (len(images) // args.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps=steps,
                                                    pct_start=0.05)
    generator = torch.Generator().manual_seed(args.seed)
    start, step = time.time(), 0
    model.train()
    for epoch in range(args.epochs):
        order = torch.randperm(len(images), generator=generator)
        for first in range(0, len(order) - args.batch_size + 1, args.batch_size):
            index = order[first:first + args.batch_size]
            texts = [captions[i][int(torch.randint(3, (1,), generator=generator))]
                     for i in index.tolist()]
            out = model(images[index], tokenizer(texts))
            loss = loss_fn(*out[:3])  # image features, text features, logit scale
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
        print(f'epoch {epoch + 1}/{args.epochs}: loss {loss.item():.3f} '
              f'({time.time() - start:.0f} s)', flush=True)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    partial = args.out + '.partial'
    torch.save({'state_dict': open_clip_to_umg(model.state_dict())}, partial)
    os.replace(partial, args.out)
    print(f'wrote {args.out} after {step} steps')


if __name__ == '__main__':
    main()
