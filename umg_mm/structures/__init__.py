"""The lowest layer of umg_mm: data types shared by every other layer (vocabularies and the
seen / held-out split of their classes)."""
from .seen_classes import SeenClasses
from .vocabulary import Vocabulary, join_things_stuff, list_vocabularies, load_vocabulary

__all__ = ['SeenClasses', 'Vocabulary', 'join_things_stuff', 'list_vocabularies',
           'load_vocabulary']
