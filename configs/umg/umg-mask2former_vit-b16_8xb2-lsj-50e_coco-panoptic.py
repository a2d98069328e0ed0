# Open-vocabulary panoptic segmentation: frozen UMG-CLIP ViT-B/16 (+LoRA on the MLPs) with
# mmdet's Mask2Former pixel decoder and decoder, queries classified against the text embeddings
# of the vocabulary, trained on COCO panoptic (133 classes) with mmdet's own recipe, inherited
# (mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco-panoptic.py: large-scale jitter, 8 GPUs
# x 2 images, 368,750 iterations); only what differs is set here and in the model base.
#   bash tools/dist_train.sh configs/umg/umg-mask2former_vit-b16_8xb2-lsj-50e_coco-panoptic.py 8
#   python tools/test.py configs/umg/umg-mask2former_vit-b16_coco-panoptic_ade20k-panoptic.py \
#       work_dirs/umg-mask2former_vit-b16_8xb2-lsj-50e_coco-panoptic/iter_368750.pth
# model.clip.checkpoint: the UMG-CLIP file both towers start from.
_base_ = ['../_base_/models/umg_mask2former_panoptic.py']
model = dict(
    data_preprocessor=dict(batch_augments={{_base_.batch_augments}}),  # mmdet's LSJ padding
    clip=dict(checkpoint='checkpoints/umg_clip_vit_b16.pth'),
    neck=dict(norm_cfg=dict(type='SyncBN', requires_grad=True)))

data_root = 'data/coco/'
val_evaluator = [
    dict(type='CocoPanopticMetric', ann_file=data_root + 'annotations/panoptic_val2017.json',
         seg_prefix=data_root + 'annotations/panoptic_val2017/'),
    # mIoU of the same predictions' class maps (no instance outputs: no CocoMetric)
    dict(type='PanopticSemanticIoUMetric', iou_metrics=['mIoU']),
]
test_evaluator = val_evaluator

# the model classifies over each loop's dataset classes; COCO's names read as CLIP-friendly text
custom_hooks = [dict(type='VocabularyHook', vocabulary='coco_panoptic_133')]

embed_multi = dict(lr_mult=1.0, decay_mult=0.0)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys=dict(
    _delete_=True,  # mmdet's backbone lr_mult=0.1 left out: the trained parts are new
    query_embed=embed_multi, query_feat=embed_multi, level_embed=embed_multi,
    void_embedding=embed_multi, logit_scale=embed_multi)))
# mmdet's checkpoint settings, saved atomically (AtomicCheckpointHook), best by PQ
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook', save_best='coco_panoptic/PQ',
                                     rule='greater'),
                     logger=dict(type='ProgressLoggerHook', eval_fraction=0.1))
# frozen CLIP parameters and the backbone's global output get no gradient
find_unused_parameters = True
# umg_mm's pictures (tools/test.py --show-dir): class names in any script, small images
# enlarged, a legend when names collide
visualizer = dict(type='UMGDetLocalVisualizer')
