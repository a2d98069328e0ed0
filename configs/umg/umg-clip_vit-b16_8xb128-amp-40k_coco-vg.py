# UMG-CLIP pretraining of open_clip ViT-B/16 on COCO train2017 (captions, regions, panoptic
# segments) and Visual Genome (region descriptions), converted to UMG index files that sit
# beside the releases' own images (docs/dataset_converters.md):
#   python tools/dataset_converters/coco2umg.py data/coco/umg_train2017.jsonl \
#       --captions data/coco/annotations/captions_train2017.json \
#       --panoptic data/coco/annotations/panoptic_train2017.json \
#       --panoptic-dir data/coco/annotations/panoptic_train2017
#   python tools/dataset_converters/vg2umg.py data/vg/region_descriptions.json \
#       data/vg/image_data.json data/vg/umg_regions.jsonl
#   bash tools/dist_train.sh configs/umg/umg-clip_vit-b16_8xb128-amp-40k_coco-vg.py 8
# Everything else (towers, losses, schedule, COCO val2017 zero-shot evaluation) as the UMG-41M
# recipe.
_base_ = ['./umg-clip_vit-b16_8xb128-amp-40k_umg41m.py']
train_dataloader = dict(
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),  # shards had none
    dataset=dict(
        _delete_=True, type='ConcatDataset',
        datasets=[
            dict(type='UMGDataset', data_root='data/coco/', ann_file='umg_train2017.jsonl',
                 data_prefix=dict(img='train2017'), pipeline={{_base_.train_pipeline}}),
            # VG's file names keep their folder (VG_100K/1.jpg, VG_100K_2/2.jpg)
            dict(type='UMGDataset', data_root='data/vg/', ann_file='umg_regions.jsonl',
                 data_prefix=dict(img=''), pipeline={{_base_.train_pipeline}}),
        ]))
