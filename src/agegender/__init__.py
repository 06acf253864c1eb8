"""agegender: the 8 Adience age groups and gender of a face, in one step."""

__version__ = "0.1.0"
