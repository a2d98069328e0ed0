# The COCO-Stuff-171 recipe of umg-mask2former_vit-b16_8xb2-amp-60k_coco-stuff164k-640x640.py in
# fp32 (no automatic mixed precision): the one to train where there is no GPU (a CPU host
# refuses the AMP config and names this one).
#   python tools/train.py configs/umg/umg-mask2former_vit-b16_8xb2-60k_coco-stuff164k-640x640.py \
#       --cfg-options load_from=CKPT
_base_ = ['./umg-mask2former_vit-b16_8xb2-amp-60k_coco-stuff164k-640x640.py']
optim_wrapper = dict(type='OptimWrapper')
