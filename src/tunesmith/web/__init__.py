"""The studio: a local web page (and JSON API) to generate, hear, see and download music from trained models.

``tunesmith serve`` starts it; :func:`tunesmith.web.app.create_app` builds the app for tests and embedding.
"""
