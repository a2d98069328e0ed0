# The data engine with released checkpoints of stock models, for a UMG-41M-like image set
# (docs/data_engine.md, "The recipe with released checkpoints"): GroundingDINO (Swin-T) boxes
# prompted with the 80 COCO thing names, Mask2Former (Swin-B, IN-21k) panoptic segments, UMG-CLIP
# ViT-B/16 zero-shot tags over the 133 COCO panoptic classes, BLIP-base image and region
# captions, UMG-CLIP ViT-B/16 score filter. The checkpoint paths are the files a user downloads
# (released names below); the tool measures this config with random weights:
#   python tools/build_pseudo_annotations.py IMAGES OUT --format shards --device cuda \
#       --config configs/data_engine/umg-engine_grounding-dino-mask2former-blip_umg41m.py
#   python tools/analysis_tools/engine_throughput.py \
#       configs/data_engine/umg-engine_grounding-dino-mask2former-blip_umg41m.py --images 2
checkpoints = 'checkpoints/'
# the released files (mmdet's and mmpretrain's metafile.yml: download.openmmlab.com/...)
gdino_checkpoint = checkpoints + 'groundingdino_swint_ogc_mmdet-822d7e9d.pth'
mask2former_checkpoint = checkpoints + \
    'mask2former_swin-b-p4-w12-384-in21k_8xb2-lsj-50e_coco-panoptic_20220329_230021-05ec7315.pth'
blip_checkpoint = checkpoints + 'blip-base_3rdparty_coco-caption_20230419-a5b71af3.pth'
# a UMG-CLIP ViT-B/16 checkpoint of this pretraining config (tools/train.py)
umg_config = 'configs/umg/umg-clip_vit-b16_8xb128-amp-40k_umg41m.py'
umg_checkpoint = checkpoints + 'umg-clip_vit-b16_umg41m.pth'

shard_size = 1024
output_format = 'shards'
stages = [
    dict(type='MMDetDetect',
         config='mmdet::grounding_dino/grounding_dino_swin-t_pretrain_obj365_goldg_cap4m.py',
         checkpoint=gdino_checkpoint, vocabulary='coco_panoptic_things_80', score_thr=0.35,
         batch_size=8),
    dict(type='MMDetPanopticSegment',
         config='mmdet::mask2former/'
         'mask2former_swin-b-p4-w12-384-in21k_8xb2-lsj-50e_coco-panoptic.py',
         checkpoint=mask2former_checkpoint, min_area=64, batch_size=8),
    dict(type='UMGZeroShotTag', config=umg_config, checkpoint=umg_checkpoint,
         vocabulary='coco_panoptic_133', threshold=0.2, max_tags=10, batch_size=64),
    dict(type='MMPretrainCaption', config='mmpretrain::blip/blip-base_8xb32_caption.py',
         checkpoint=blip_checkpoint, regions=True, min_region_size=32, batch_size=32),
    dict(type='UMGScoreFilter', config=umg_config, checkpoint=umg_checkpoint, image_thr=0.2,
         region_thr=0.2, segment_thr=None, batch_size=64),
]
