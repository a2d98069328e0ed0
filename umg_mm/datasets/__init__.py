"""datasets of umg_mm."""
from .vocabulary import Vocabulary, list_vocabularies, load_vocabulary

__all__ = ['Vocabulary', 'list_vocabularies', 'load_vocabulary']
