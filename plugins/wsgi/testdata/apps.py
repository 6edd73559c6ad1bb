"""WSGI test applications (stdlib only): one callable that dispatches on PATH_INFO."""
import hashlib
import json
import os
import signal
import sys
import time


def plain(start_response, body, status='200 OK', headers=()):
    start_response(status, [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))] + list(headers))
    return [body]


def hello(environ, start_response):
    return plain(start_response, b'hello from wsgi\n')


def environ_dump(environ, start_response):
    out = {k: v for k, v in environ.items() if isinstance(v, (str, bool, int))}
    out['wsgi.version'] = list(environ['wsgi.version'])
    out['wsgi.input'] = type(environ['wsgi.input']).__name__
    out['wsgi.file_wrapper'] = environ['wsgi.file_wrapper'].__name__
    body = json.dumps(out).encode()
    return plain(start_response, body)


def upload(environ, start_response):
    """reads the body in pieces (read(n), readline) and answers its length and sha256."""
    inp = environ['wsgi.input']
    h, n, lines = hashlib.sha256(), 0, 0
    mode = environ.get('QUERY_STRING', '')
    while True:
        chunk = inp.readline() if mode == 'lines' else inp.read(70001)
        if not chunk:
            break
        lines += chunk.endswith(b'\n')
        h.update(chunk)
        n += len(chunk)
    return plain(start_response, ('%d %s %d' % (n, h.hexdigest(), lines)).encode())


class Closing(object):
    def __init__(self, environ, chunks, size, fail_at=None):
        self.environ, self.chunks, self.size, self.fail_at = environ, chunks, size, fail_at

    def __iter__(self):
        for i in range(self.chunks):
            if i == self.fail_at:
                raise RuntimeError('failed mid-stream at chunk %d' % i)
            yield (b'%08d' % i) + b'x' * (self.size - 8)

    def close(self):
        self.environ['wsgi.errors'].write('iterable closed\n')


def first(environ, start_response):
    """answers the first 5 bytes of the body before reading the rest: proves the body streams."""
    return plain(start_response, b'first=' + environ['wsgi.input'].read(5))


def stream(environ, start_response):
    q = dict(p.split('=') for p in environ['QUERY_STRING'].split('&') if p)
    chunks, size = int(q.get('chunks', 10)), int(q.get('size', 1024))
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])
    return Closing(environ, chunks, size, int(q['fail']) if 'fail' in q else None)


def drip(environ, start_response):
    """yields a piece, then another a while later: the first must reach the client at once."""
    start_response('200 OK', [('Content-Type', 'text/plain')])
    yield b'first\n'
    time.sleep(float(environ['QUERY_STRING'] or '1.5'))
    yield b'second\n'


def boom(environ, start_response):
    raise ZeroDivisionError('boom in the app')


def exc_info(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    try:
        raise KeyError('late failure')
    except KeyError:
        start_response('503 Try Later', [('Content-Type', 'text/plain'), ('X-Handled', 'yes')], sys.exc_info())
    return [b'handled\n']


def writer(environ, start_response):
    write = start_response('200 OK', [('Content-Type', 'text/plain')])
    write(b'one ')
    write(b'two ')
    return [b'three\n']


def file_wrapper(environ, start_response):
    f = open(os.path.join(os.path.dirname(__file__), 'payload.bin'), 'rb')
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])
    return environ['wsgi.file_wrapper'](f, 8192)


def headers(environ, start_response):
    start_response('299 Custom Reason', [('Content-Type', 'text/plain'), ('Set-Cookie', 'a=1'), ('Set-Cookie', 'b=2'),
                                         ('X-Multi', 'x'), ('Connection', 'close')])
    return [b'ok']


BAD_HEADERS = {
    'crlf': [('Content-Type', 'text/plain'), ('X-Injected', 'a\r\nSet-Cookie: evil=1')],  # refused by the worker
    'name': [('Content-Type', 'text/plain'), ('Bad Name', 'x')],  # refused by gatekit (not an HTTP token)
    'list': [['Content-Type', 'text/plain'], ['X-Pair', 'as a list']],  # pairs as lists: accepted
}


def bad_header(environ, start_response):
    start_response('200 OK', BAD_HEADERS[environ['QUERY_STRING']])
    return [b'should not be seen']


def errors(environ, start_response):
    environ['wsgi.errors'].write('a line for the log\nand a second ')
    environ['wsgi.errors'].write('one\n')
    return plain(start_response, b'logged')


def slow(environ, start_response):
    environ['wsgi.errors'].write('sleeping in pid %d\n' % os.getpid())
    time.sleep(float(environ['QUERY_STRING'] or '1'))
    return plain(start_response, b'slept')


def pid(environ, start_response):
    return plain(start_response, str(os.getpid()).encode())


def die(environ, start_response):
    os.kill(os.getpid(), signal.SIGKILL)


def no_body_before_start(environ, start_response):
    return [b'no start_response']


ROUTES = {
    '/': hello, '/environ': environ_dump, '/upload': upload, '/stream': stream, '/boom': boom,
    '/exc_info': exc_info, '/write': writer, '/file': file_wrapper, '/headers': headers, '/bad_header': bad_header, '/errors': errors,
    '/slow': slow, '/drip': drip, '/pid': pid, '/die': die, '/nostart': no_body_before_start, '/first': first,
}


def application(environ, start_response):
    route = ROUTES.get(environ['PATH_INFO'])
    if route is None:
        return plain(start_response, b'not found: ' + environ['PATH_INFO'].encode('latin-1'), '404 Not Found')
    return route(environ, start_response)
