"""gowsgi, a WSGI server in Go running the app on embedded CPython.

The server is a binary, installed as bin/gowsgi beside this environment's
python; ``python -m gowsgi`` runs it with the same arguments.
"""
