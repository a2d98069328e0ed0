# Zero-shot transfer: the COCO-Stuff-171 segmentor tested on Pascal VOC-20, whose vocabulary the
# SemSegVocabularyHook hands to the model (no retraining).
#   python tools/test.py configs/umg/semseg_umg-vitb16_coco-stuff171_to_pascal-voc-20.py \
#       work_dirs/semseg_umg-vitb16_coco-stuff171_640/best_mIoU_iter_*.pth
_base_ = [
    '../_base_/models/umg_ov_mask2former_vitb16.py', '../_base_/datasets/umg_pascal_voc_20.py',
    'mmseg::_base_/default_runtime.py'
]
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
