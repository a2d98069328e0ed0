"""The lowest layer of umg_mm: data types shared by every other layer (vocabularies)."""
from .vocabulary import Vocabulary, list_vocabularies, load_vocabulary

__all__ = ['Vocabulary', 'list_vocabularies', 'load_vocabulary']
