"""Check that umg_mm's stack imports and that mmcv carries its compiled ops.

Run by ``tools/setup_env.sh`` at its end; exits non-zero, naming what is broken, if anything is.

    python tools/check_install.py [--expect-cuda]
"""
import argparse
import importlib
import sys
import time
import traceback

MODULES = ('torch', 'torchvision.ops', 'mmcv.ops', 'mmengine', 'mmdet.models', 'mmseg.models',
           'mmpretrain.models', 'open_clip', 'peft', 'webdataset', 'panopticapi', 'umg_mm')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--expect-cuda', action='store_true',
                        help='fail unless mmcv was compiled with CUDA ops')
    args = parser.parse_args()
    failed = []
    for name in MODULES:
        start = time.perf_counter()
        try:
            module = importlib.import_module(name)
        except Exception:  # report every broken import, not just the first
            failed.append(name)
            print(f'FAIL  {name}\n{traceback.format_exc()}', flush=True)
            continue
        version = getattr(module, '__version__', '')
        print(f'ok    {name:<18} {version:<14} {time.perf_counter() - start:5.1f}s', flush=True)
    if 'mmcv.ops' not in failed:
        from mmcv.ops import get_compiling_cuda_version
        import torch
        import torchvision
        from mmcv.ops import roi_align
        boxes = torch.tensor([[0., 0., 0., 4., 4.]])
        feats = torch.arange(64.).reshape(1, 1, 8, 8)
        ours = roi_align(feats, boxes, (2, 2), 1.0, 2, 'avg', True)
        ref = torchvision.ops.roi_align(feats, boxes, (2, 2), 1.0, 2, aligned=True)
        if not torch.allclose(ours, ref):
            failed.append('mmcv.ops.roi_align (differs from torchvision)')
        cuda = get_compiling_cuda_version()
        print(f'mmcv ops compiled with CUDA: {cuda}')
        if args.expect_cuda and cuda in ('not available', ''):
            failed.append('mmcv CUDA ops (built without CUDA)')
    if failed:
        print(f'\nBROKEN: {", ".join(failed)}', file=sys.stderr)
        return 1
    print('all imports ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
