"""Text side of UMG-CLIP: the text encoder and prompt templates."""
from .templates import TEMPLATE_SETS, load_templates
from .umg_clip_text_encoder import UMGCLIPTextEncoder

__all__ = ['TEMPLATE_SETS', 'UMGCLIPTextEncoder', 'load_templates']
