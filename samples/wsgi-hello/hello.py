"""A WSGI application with nothing but the standard library (PEP 3333).

Serve it with gatekit (see gatekit.gate beside this file), with Gunicorn
(`gunicorn hello:application`), or with the standard library's wsgiref: `python3 hello.py`.
"""
import html
import os
from urllib.parse import parse_qs

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>hello, WSGI</title></head>
<body>
<h1>Hello from a WSGI app</h1>
<p>Served by Python process {pid}, mounted at <code>{script}</code>, path <code>{path}</code>.</p>
<form method="post" action="{script}/greet">
  <input name="name" placeholder="your name"> <button>Greet me</button>
</form>
<p><a href="{script}/stream">a streamed response</a></p>
</body></html>
"""


def application(environ, start_response):
    path = environ.get('PATH_INFO') or '/'
    script = environ.get('SCRIPT_NAME', '')
    if path == '/':
        body = PAGE.format(pid=os.getpid(), script=html.escape(script), path=html.escape(path)).encode()
        start_response('200 OK', [('Content-Type', 'text/html; charset=utf-8'), ('Content-Length', str(len(body)))])
        return [body]
    if path == '/greet' and environ['REQUEST_METHOD'] == 'POST':
        length = int(environ.get('CONTENT_LENGTH') or 0)
        form = parse_qs(environ['wsgi.input'].read(length).decode())
        name = form.get('name', ['stranger'])[0]
        body = ('Hello, %s!\n' % name).encode()
        start_response('200 OK', [('Content-Type', 'text/plain; charset=utf-8'), ('Content-Length', str(len(body)))])
        return [body]
    if path == '/stream':
        start_response('200 OK', [('Content-Type', 'text/plain; charset=utf-8')])
        return (('line %d\n' % i).encode() for i in range(1, 11))
    body = b'not found\n'
    start_response('404 Not Found', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]


if __name__ == '__main__':
    from wsgiref.simple_server import make_server
    make_server('127.0.0.1', 8000, application).serve_forever()
