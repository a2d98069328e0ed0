"""The benchmark sections, each ``run(ctx) -> SectionResult``, in the order they run."""
from . import backbone, losses, pipeline, segmentation, training

SECTIONS = {
    'backbone': backbone.run,
    'pretrain_step': training.run_pretrain_step,
    'contrastive_loss': losses.run_contrastive_loss,
    'realistic_step': losses.run_realistic_step,
    'lora': training.run_lora,
    'seg_vocab': segmentation.run,
    'pipeline': pipeline.run,
    'amp': training.run_amp,
}

__all__ = ['SECTIONS']
