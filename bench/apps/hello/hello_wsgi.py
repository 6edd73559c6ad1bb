"""The trivial WSGI app of the bench's `wsgi` scenario: the same fixed answer from every server.

The app does next to nothing, so what is measured is the server: its HTTP handling and how it
hands each request to a Python process.
"""

BODY = b'Hello, world!\n'
HEADERS = [('Content-Type', 'text/plain; charset=utf-8'), ('Content-Length', str(len(BODY)))]


def application(environ, start_response):
    start_response('200 OK', HEADERS)
    return [BODY]
