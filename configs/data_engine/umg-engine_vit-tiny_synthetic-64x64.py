# The data engine built from the main job's own models (tools/main_job.py) on the synthetic
# world: umg_mm's open-vocabulary panoptic model detects and segments (all 17 classes, held-out
# ones included), the pretrained UMG-CLIP tags the images zero-shot and filters the texts, and
# the layout captioner writes captions from the detections (docs/data_engine.md).
#   python tools/build_pseudo_annotations.py data/fresh/images/train out/ \
#       --config configs/data_engine/umg-engine_vit-tiny_synthetic-64x64.py
# Other checkpoints: UMG_ENGINE_CLIP=... UMG_ENGINE_PANOPTIC=... (read when the file is parsed).
data_root = __import__('os').environ.get('UMG_SYNTHETIC_ROOT', 'data/synthetic') + '/'
vocabularies = data_root + 'vocabularies/'
pretrain_config = 'configs/umg/umg-clip_vit-tiny_1xb32-2400it_synthetic-64x64.py'
panoptic_config = ('configs/umg/'
                   'umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64.py')
clip_checkpoint = __import__('os').environ.get('UMG_ENGINE_CLIP',
                                              'work_dirs/main_job/seed0/pretrain/iter_2400.pth')
panoptic_checkpoint = __import__('os').environ.get('UMG_ENGINE_PANOPTIC',
                                                  'work_dirs/main_job/seed0/panoptic/iter_1200.pth')
# predict over every class of the world, the held-out ones too (open vocabulary)
vocabulary = dict(thing_classes=vocabularies + 'things.txt',
                  stuff_classes=vocabularies + 'stuff.txt')
panoptic = dict(config=panoptic_config, checkpoint=panoptic_checkpoint, vocabulary=vocabulary,
                batch_size=16)

shard_size = 64
output_format = 'folder'
stages = [
    dict(type='UMGPanopticDetect', score_thr=0.5, **panoptic),
    dict(type='UMGPanopticSegment', min_area=16, **panoptic),
    dict(type='UMGZeroShotTag', config=pretrain_config, checkpoint=clip_checkpoint,
         vocabulary=vocabularies + 'all.txt', threshold=0.3, max_tags=6, batch_size=32),
    dict(type='LayoutCaption', max_regions=4),
    dict(type='UMGScoreFilter', config=pretrain_config, checkpoint=clip_checkpoint,
         image_thr=0.1, region_thr=0.1, segment_thr=None, image_fields=('captions', ),
         batch_size=32),
]
