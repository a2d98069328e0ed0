"""Tiny umg_mm models and images for the engine's tests: the shipped synthetic-world configs
with their vocabularies inline (tests/test_apis/tiny_models.py), dumped to files as stages take
them, with random weights saved as checkpoints. Nothing is downloaded."""
from pathlib import Path

from tests.test_apis.tiny_models import SEEN, make_checkpoint, tiny_config, write_images

THINGS, STUFF = SEEN[:3], SEEN[3:]


def tiny_model_files(folder: Path) -> dict:
    """``{kind: (config file, checkpoint)}`` of the tiny pretrainer and panoptic models."""
    files = {}
    for kind in ('pretrainer', 'panoptic'):
        config = folder / f'{kind}.py'
        tiny_config(kind).dump(str(config))
        files[kind] = (str(config), str(make_checkpoint(kind, folder / f'{kind}.pth')))
    return files


def engine_stages(files: dict, filter_thr: float = -1.) -> list:
    """A full chain (detect, segment, tag, caption, filter) over the tiny models; the untrained
    panoptic model keeps every query (scores near chance), so thresholds are low."""
    panoptic = dict(config=files['panoptic'][0], checkpoint=files['panoptic'][1],
                    vocabulary=dict(thing_classes=THINGS, stuff_classes=STUFF), batch_size=2)
    clip = dict(config=files['pretrainer'][0], checkpoint=files['pretrainer'][1], batch_size=2)
    return [
        dict(type='UMGPanopticDetect', score_thr=0., **panoptic),
        dict(type='UMGPanopticSegment', min_area=1, **panoptic),
        dict(type='UMGZeroShotTag', vocabulary=SEEN, threshold=-1., max_tags=3, **clip),
        dict(type='LayoutCaption'),
        dict(type='UMGScoreFilter', image_thr=filter_thr, region_thr=filter_thr,
             segment_thr=filter_thr, **clip),
    ]


__all__ = ['SEEN', 'THINGS', 'STUFF', 'tiny_model_files', 'engine_stages', 'write_images']
