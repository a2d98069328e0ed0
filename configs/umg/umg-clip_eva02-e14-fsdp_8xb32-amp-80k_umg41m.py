# Full tuning of both EVA02-E/14 towers (4.4B + 0.35B parameters) with mmengine's FSDPStrategy
# (FlexibleRunner): parameters, gradients and AdamW states sharded over the 8 GPUs (full shard,
# one unit per transformer block: umg_mm/engine/fsdp.py), AMP with FSDP's sharded gradient
# scaler. With DDP each GPU would hold all of them (README, "Scale": it does not fit 80 GB).
#   bash tools/dist_train.sh configs/umg/umg-clip_eva02-e14-fsdp_8xb32-amp-80k_umg41m.py 8
_base_ = ['./umg-clip_eva02-e14-lora_8xb32-amp-80k_umg41m.py']
model = dict(
    backbone=dict(frozen_stages=-1, lora=None),
    text_encoder=dict(frozen=False, lora=None))
runner_type = 'FlexibleRunner'
strategy = dict(
    type='FSDPStrategy',
    model_wrapper=dict(
        type='CLIPFullyShardedDataParallel',  # accepts open_clip's 0-d logit_scale
        auto_wrap_policy=dict(type='clip_block_wrap_policy'),
        use_orig_params=True),  # mmengine's paramwise optimizer settings see named parameters
    state_dict_cfg='full')  # checkpoints with whole tensors, loadable without FSDP
optim_wrapper = dict(type='AmpOptimWrapper', use_fsdp=True)
