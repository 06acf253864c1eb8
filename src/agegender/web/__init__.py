"""The web app: a JSON API and a phone-friendly page over the same Predictor (``agegender serve``)."""
