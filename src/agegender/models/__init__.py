"""Keras 3 model builders. Every model predicts age group and gender in one step.

``two_hot`` models end in two softmax heads, ``age`` (8) and ``gender`` (2) — together the 10-dim
2-hot label; ``tuple`` models end in one 2-unit linear output, the seed's (age index, gender index).
"""

from agegender.models.build import build_model

__all__ = ["build_model"]
