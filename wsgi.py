"""WSGI entry point: `gunicorn wsgi:app`, and `flask --app wsgi ...`."""

import gc

from app import create_app

app = create_app()
# What is built by now (modules, the app, its mappers, routes and catalogues) lives as long as the process: kept out
# of the collector's generations, so its full collections stop walking ~190,000 objects that never die.
gc.freeze()
