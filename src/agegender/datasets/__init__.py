"""One module per face-image source; each turns its native labels into unified manifest records."""
