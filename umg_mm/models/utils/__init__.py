"""Helpers shared by the UMG-CLIP towers: open_clip building, checkpoint loading, LoRA."""
from .checkpoint import (LoadReport, checkpoint_files, load_tower_state, lora_state_dict,
                         map_legacy_keys, read_state_dict)
from .clip_towers import checkpoint_logit_scale, start_classifier_logit_scale, with_clip
from .lora import apply_lora, has_lora, merge_lora, trainable_summary
from .open_clip_builder import NANO_MODEL, TINY_MODEL, build_open_clip

__all__ = ['LoadReport', 'NANO_MODEL', 'TINY_MODEL', 'apply_lora', 'build_open_clip',
           'checkpoint_files', 'checkpoint_logit_scale', 'has_lora', 'load_tower_state',
           'lora_state_dict', 'map_legacy_keys', 'merge_lora', 'read_state_dict',
           'start_classifier_logit_scale', 'trainable_summary', 'with_clip']
