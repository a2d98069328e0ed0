# UMG-CLIP pretraining of open_clip ViT-B/16 on UMG-41M-style shards: image-, region- and
# pixel-text alignment, continued from CLIP weights, 8 GPUs x 128 images, 40k iterations, AMP.
#   bash tools/dist_train.sh configs/umg/umg-clip_vit-b16_8xb128-amp-40k_umg41m.py 8
# Set the paths below (or override with --cfg-options).
_base_ = [
    '../_base_/models/umg_clip_pretrain_vit-b16.py',
    '../_base_/datasets/umg_pretrain_shards.py',
    '../_base_/schedules/umg_pretrain_40k.py',
    '../_base_/umg_pretrain_runtime.py',
]
train_shards = 'data/umg41m/shards/umg-{000000..004099}.tar'  # UMG JSON + image per sample
num_train_samples = 41_000_000
val_data_root = 'data/coco/'  # COCO 2017 as released
val_ann_file = 'umg_val2017.jsonl'  # tools/dataset_converters/coco2umg.py output
val_img_prefix = 'val2017'
val_vocabulary = 'coco_panoptic_133'

model = dict(
    # open_clip weights both towers start from (open_clip_pytorch_model.bin of ViT-B-16
    # laion2b_s34b_b88k, or any open_clip or umg_mm checkpoint of this model)
    clip=dict(checkpoint='checkpoints/open_clip/ViT-B-16-laion2b_s34b_b88k.bin'),
    test_cfg=dict(vocabulary=val_vocabulary))
train_dataloader = dict(
    batch_size=128, dataset=dict(shards=train_shards, num_samples=num_train_samples))
val_dataloader = dict(dataset=dict(data_root=val_data_root, ann_file=val_ann_file,
                                   data_prefix=dict(img=val_img_prefix)))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='ImageTextRetrievalMetric'),
    dict(type='RegionRecognitionMetric', vocabulary=val_vocabulary),
    dict(type='DenseZeroShotIoUMetric', vocabulary=val_vocabulary),
]
test_evaluator = val_evaluator
