# Zero-shot transfer: the COCO-Stuff-171 segmentor tested on Pascal Context-59, whose vocabulary the
# VocabularyHook hands to the model (no retraining).
#   python tools/test.py configs/umg/umg-mask2former_vit-b16_coco-stuff164k-640x640_pascal-context-59.py \
#       work_dirs/umg-mask2former_vit-b16_8xb2-amp-60k_coco-stuff164k-640x640/best_mIoU_iter_*.pth
_base_ = [
    '../_base_/models/umg_ov_mask2former_vitb16.py', '../_base_/datasets/umg_pascal_context_59.py',
    '../_base_/umg_mmseg_runtime.py'
]
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
