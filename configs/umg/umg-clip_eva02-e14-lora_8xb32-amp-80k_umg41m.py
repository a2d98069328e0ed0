# UMG-CLIP pretraining of open_clip EVA02-E/14 (4.4B image tower, the paper's largest) with LoRA
# on both towers (rank 16; the towers frozen): the ViT-L/14 recipe (80k iterations, AMP,
# gradient checkpointing) at 8 GPUs x 32 images. Full tuning of this tower does not fit an
# 80 GB GPU with DDP (README, "Scale"): umg-clip_eva02-e14-fsdp_8xb32-amp-80k_umg41m.py shards it.
#   bash tools/dist_train.sh configs/umg/umg-clip_eva02-e14-lora_8xb32-amp-80k_umg41m.py 8
_base_ = ['./umg-clip_vit-l14_8xb64-amp-80k_umg41m.py']
lora = dict(r=16, alpha=32, dropout=0.0)

model = dict(
    # open_clip_pytorch_model.bin of EVA02-E-14 laion2b_s4b_b115k (or another EVA02-E-14 checkpoint)
    clip=dict(model_name='EVA02-E-14',
              checkpoint='checkpoints/open_clip/EVA02-E-14-laion2b_s4b_b115k.bin'),
    backbone=dict(frozen_stages='all',
                  # timm's EVA blocks name their layers attn.qkv/proj and mlp.fc1/fc2
                  lora=dict(lora, target_modules=('attn.qkv', 'attn.proj', 'mlp.fc1',
                                                  'mlp.fc2'))),
    text_encoder=dict(frozen=True, lora=lora))
train_dataloader = dict(batch_size=32)
auto_scale_lr = dict(base_batch_size=256)
