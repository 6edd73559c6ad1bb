"""gatekit_wsgi: the Python side of gatekit's `wsgi` plugin (stdlib only, Python 3.8+).

gatekit's pool (core/python/gatekit_pool.py) runs the keeper, and loads this module in each
worker process: `gatekit_pool.py worker DIR gatekit_wsgi.py APP THREADS MAX_REQUESTS PROCESSES`
calls worker(), which imports APP (module:callable) once, then accepts one connection per
request on the pool's shared socket, like a Gunicorn sync (or gthread) worker.

Framing (both directions): 1 byte type, 4 bytes big-endian length, payload.
  gatekit -> worker:  H environ (NUL-separated key, value, ...; latin-1)  B body chunk  E end of body
  worker -> gatekit:  P pid (4 bytes)  S status NUL key NUL value ...  D body chunk  F finished
                      X error (traceback text, utf-8)  L a line for the error log (utf-8)
"""

import os
import select
import signal
import struct
import sys
import threading
import traceback

from gatekit_pool import HEAD, MAX_FRAME, frame, join_pool, load_or_fail, read_frame

HOP_BY_HOP = frozenset(('connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailers', 'transfer-encoding', 'upgrade'))
DRAIN_TIMEOUT = 10


# ---------------------------------------------------------------- worker

class Input(object):
    """Input is wsgi.input: the request body, streamed from gatekit frame by frame."""

    def __init__(self, rfile):
        self._rfile = rfile
        self._buf = b''
        self._pos = 0
        self._done = False

    def _fill(self):
        if self._done:
            return False
        kind, payload = read_frame(self._rfile)
        if kind == b'E':
            self._done = True
            return False
        if kind != b'B':
            raise ConnectionError('unexpected frame %r in request body' % kind)
        self._buf = self._buf[self._pos:] + payload if self._pos < len(self._buf) else payload
        self._pos = 0
        return True

    def _take(self, end):
        data = self._buf[self._pos:end]
        self._pos = end
        return data

    def read(self, size=-1):
        if size is None or size < 0:
            size = float('inf')
        parts = [self._take(min(len(self._buf), self._pos + size))]
        got = len(parts[0])
        while got < size and self._fill():
            part = self._take(min(len(self._buf), size - got))
            parts.append(part)
            got += len(part)
        return parts[0] if len(parts) == 1 else b''.join(parts)

    def readline(self, size=-1):
        limit = -1 if size is None or size < 0 else size
        while True:
            i = self._buf.find(b'\n', self._pos)
            if i >= 0 or 0 <= limit <= len(self._buf) - self._pos or not self._fill():
                break
        end = len(self._buf) if i < 0 else i + 1
        if 0 <= limit < end - self._pos:
            end = self._pos + limit
        return self._take(end)

    def readlines(self, hint=-1):
        lines, total = [], 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                return lines

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line


class Errors(object):
    """Errors is wsgi.errors: lines go to gatekit's error log, tagged with the request id."""

    def __init__(self, conn):
        self._conn = conn
        self._buf = ''

    def write(self, s):
        if isinstance(s, bytes):
            s = s.decode('utf-8', 'replace')
        self._buf += s
        if '\n' in self._buf:
            lines, _, self._buf = self._buf.rpartition('\n')
            self._conn.send_log(lines)

    def writelines(self, seq):
        for s in seq:
            self.write(s)

    def flush(self):
        if self._buf:
            self._conn.send_log(self._buf)
            self._buf = ''


class FileWrapper(object):
    """FileWrapper is wsgi.file_wrapper; regular files are sent with sendfile(2)."""

    def __init__(self, filelike, blksize=65536):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, 'close'):
            self.close = filelike.close

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration


class Exchange(object):
    """Exchange is one request on one accepted connection: start_response, write, and the frames."""

    def __init__(self, sock):
        self.sock = sock
        self.status = None
        self.headers = None
        self.sent = False
        self.lock = threading.Lock()

    def send(self, data):
        with self.lock:
            self.sock.sendall(data)

    def send_log(self, text):
        self.send(frame(b'L', text.encode('utf-8', 'replace')))

    def start_response(self, status, headers, exc_info=None):
        if exc_info:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError('start_response called a second time without exc_info')
        if type(status) is not str or len(status) < 4 or not status[:3].isdigit() or status[3] != ' ':
            raise ValueError('bad status %r: want "200 OK"' % (status,))
        parts = [status]
        for name, value in headers:
            if type(name) is not str or type(value) is not str:
                raise TypeError('header names and values must be str: %r' % ((name, value),))
            if name.lower() in HOP_BY_HOP:
                continue
            if '\n' in value or '\r' in value or '\0' in value or ':' in name:
                raise ValueError('bad header %r' % ((name, value),))
            parts.append(name)
            parts.append(value)
        self.status = status
        self.headers = '\0'.join(parts).encode('latin-1')
        return self.write

    def head(self):
        if self.status is None:
            raise AssertionError('the application sent a body before calling start_response')
        self.sent = True
        return frame(b'S', self.headers)

    def write(self, data):
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError('the application must send bytes, not %s' % type(data).__name__)
        out = b'' if self.sent else self.head()
        if data:
            out += frame(b'D', data) if len(data) <= MAX_FRAME else b''.join(frame(b'D', data[i:i + MAX_FRAME]) for i in range(0, len(data), MAX_FRAME))
        if out:
            self.send(out)

    def send_file(self, wrapper):
        f = wrapper.filelike
        try:
            fd = f.fileno()
            st = os.fstat(fd)
        except (AttributeError, OSError, ValueError):
            return False
        if not hasattr(os, 'sendfile') or not (st.st_mode & 0o170000 == 0o100000):
            return False
        pos = f.tell() if hasattr(f, 'tell') else 0
        left = st.st_size - pos
        if self.status is None:
            return False
        self.write(b'')
        while left > 0:
            n = min(left, MAX_FRAME)
            with self.lock:
                self.sock.sendall(HEAD.pack(b'D', n))
                sent = 0
                while sent < n:
                    k = os.sendfile(self.sock.fileno(), fd, pos + sent, n - sent)
                    if k == 0:
                        raise IOError('file shrank while it was sent')
                    sent += k
            pos += n
            left -= n
        return True


class Worker(object):
    """Worker serves requests on the shared pool socket, one connection per request."""

    def __init__(self, run_dir, app, threads, max_requests, processes):
        self.run_dir = run_dir
        self.app = app
        self.threads = threads
        self.max_requests = max_requests
        self.served = 0
        self.stopping = False
        self.count_lock = threading.Lock()
        self.wake_r, self.wake_w = os.pipe()
        self.base = {
            'wsgi.version': (1, 0), 'wsgi.multithread': threads > 1, 'wsgi.multiprocess': processes > 1,
            'wsgi.run_once': False, 'wsgi.file_wrapper': FileWrapper, 'wsgi.input_terminated': True,
            'SERVER_SOFTWARE': 'gatekit',
        }
        self.pid = struct.pack('>I', os.getpid())

    def stop(self, *_):
        self.stopping = True
        try:
            os.write(self.wake_w, b'x')
        except OSError:
            pass

    def run(self, listener, link):
        listener.setblocking(False)
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        threading.Thread(target=self.watch_keeper, args=(link,), daemon=True).start()
        if self.threads == 1:
            self.loop(listener)
            return
        pool = [threading.Thread(target=self.loop, args=(listener,)) for _ in range(self.threads)]
        for t in pool:
            t.start()
        while any(t.is_alive() for t in pool):
            for t in pool:
                t.join(0.5)

    def watch_keeper(self, link):
        try:
            while link.recv(64):
                pass
        except OSError:
            pass
        self.stop()  # the keeper went away: finish and exit, a new incarnation gets the new pool

    def loop(self, listener):
        watch = [listener.fileno(), self.wake_r]
        while not self.stopping:
            try:  # under load a connection is already waiting: accept first, select only when idle
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                if self.wake_r in select.select(watch, [], [])[0]:
                    return
                continue
            conn.setblocking(True)
            try:
                self.serve(conn)
            except ConnectionError:  # gatekit went away mid-request: nothing to answer
                pass
            except Exception:
                sys.stderr.write('gatekit-wsgi: request failed: %s' % traceback.format_exc())
            finally:
                conn.close()
            if self.max_requests:
                with self.count_lock:
                    self.served += 1
                    if self.served >= self.max_requests:
                        self.stop()

    def serve(self, sock):
        sock.sendall(frame(b'P', self.pid))
        rfile = sock.makefile('rb', 65536)
        kind, payload = read_frame(rfile)
        if kind != b'H':
            raise ConnectionError('expected a request head, got %r' % kind)
        items = payload.decode('latin-1').split('\0')
        environ = dict(zip(items[::2], items[1::2]))
        environ.update(self.base)
        ex = Exchange(sock)
        environ['wsgi.input'] = body = Input(rfile)
        environ['wsgi.errors'] = errors = Errors(ex)
        try:
            self.respond(ex, environ)
        except ConnectionError:
            raise
        except BaseException as e:
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                self.stop()
            text = traceback.format_exc()
            try:
                errors.flush()
                ex.send(frame(b'X', text.encode('utf-8', 'replace')))
            except OSError:
                pass
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
        if not body._done:
            # The app left part of the body unread: read on until gatekit, which stops sending
            # once it has the whole response, ends it, so that it never writes to a closed socket.
            sock.settimeout(DRAIN_TIMEOUT)
            while body._fill():
                body._pos = len(body._buf)

    def respond(self, ex, environ):
        result = self.app(environ, ex.start_response)
        try:
            if type(result) is list and len(result) == 1 and not ex.sent:
                data = result[0]
                environ['wsgi.errors'].flush()
                ex.send(ex.head() + (frame(b'D', data) if data else b'') + frame(b'F'))
                return
            if isinstance(result, FileWrapper) and ex.send_file(result):
                pass
            else:
                for data in result:
                    if data:
                        ex.write(data)
            if not ex.sent:
                ex.write(b'')
        finally:
            close = getattr(result, 'close', None)
            if close is not None:
                close()
        environ['wsgi.errors'].flush()
        ex.send(frame(b'F'))


def worker(run_dir, spec, threads, max_requests, processes):
    app = load_or_fail(run_dir, spec, 'gatekit-wsgi')
    listener, link = join_pool(run_dir)
    Worker(run_dir, app, int(threads), int(max_requests), int(processes)).run(listener, link)
