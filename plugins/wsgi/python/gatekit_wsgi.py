"""gatekit_wsgi: the Python side of gatekit's `wsgi` plugin (stdlib only, Python 3.8+).

gatekit's pool (lib/python/gatekit_pool.py) runs the keeper, and loads this module in each
worker process: `gatekit_pool.py worker DIR gatekit_wsgi.py APP THREADS MAX_REQUESTS PROCESSES`
calls worker(), which imports APP (module:callable) once, listens on its own socket in DIR and
serves the links gatekit's Node workers open to it: many requests framed on each link, as
streams (see gatekit_pool.py for the link frames). With THREADS 1 the application runs inline in
the loop that reads the links (a sync worker); otherwise on THREADS threads (gthread). A link
takes THREADS + PREFETCH streams of its Node worker at once (HELLO says so); those beyond THREADS
wait their turn here, so that a busy worker finds its next requests read in one go. Gatekit
RECALLs one that waits too long (behind a slow request), and it comes BACK unless it started:
no request waits here behind a slow one from the same Node worker for long.

Frames of a request (stream), besides the link's:
  gatekit -> worker:  H head: a flag digit (1: a body follows; 2: gatekit may RECALL it), then
                      the environ, NUL-separated latin-1: the values of CGI_KEYS in their
                      order, then the other entries as key, value, ...  B body chunk
                      E end of body
  worker -> gatekit:  S status NUL key NUL value ...  D body chunk  F finished
                      W whole response (4-byte head length, the S payload, the body)
                      X error (traceback text, utf-8)  L a line for the error log (utf-8)
F, W and X end a stream: gatekit counts it done then, and drops any later frame of it.
"""

import collections
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback

from gatekit_pool import ABORT, BACK, GOAWAY, LINK_HEAD, HeadCache, MAX_LINK_FRAME, PAUSE, PING, PONG, RECALL, RESUME, announce, hello, link_frame, listen_links, load_or_fail

H, B, E = 0x48, 0x42, 0x45
S, D, F, W, X, L = 0x53, 0x44, 0x46, 0x57, 0x58, 0x4c
HOP_BY_HOP = frozenset(('connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailers', 'transfer-encoding', 'upgrade'))
DRAIN_TIMEOUT = 10  # seconds a stopping worker waits for gatekit to finish and close its links
READ_SIZE = 256 * 1024
WHOLE_MAX = 1 << 20  # a one-piece body up to this size goes in a W frame with its head
BODY_HIGH = 1 << 20  # request bytes held for one stream before gatekit is asked to PAUSE it
PREFETCH = 16  # streams a link takes beyond `threads`, waiting their turn here: more read per wake-up, fewer syscalls per request
WATCH_TICK = 0.01  # seconds an inline application call runs before the watchdog reads the links (and streams what it kept)
KEEP_MAX = 256 * 1024  # body bytes a sync worker keeps to send with the head, at most


CGI_KEYS = ('REQUEST_METHOD', 'SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING', 'RAW_URI', 'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL',
            'REMOTE_ADDR', 'REMOTE_PORT', 'wsgi.url_scheme')  # every head's first values, in this order (names that need not travel)
WHOLE_HEAD = struct.Struct('>BIII')  # a W frame's header, and the length of its head
HEADER_NAMES = {}  # header name -> whether it is passed on (False: hop-by-hop), for the names already checked


def header_name(name):
    """header_name checks a response header name: True to pass it on, False for a hop-by-hop one."""
    if type(name) is not str:
        raise TypeError('header names must be str: %r' % (name,))
    if not name or ':' in name or '\0' in name or '\n' in name or '\r' in name:
        raise ValueError('bad header name %r' % (name,))
    keep = name.lower() not in HOP_BY_HOP
    if len(HEADER_NAMES) < 1000:
        HEADER_NAMES[name] = keep
    return keep


def start_head(status, headers):
    """start_head checks start_response's status and headers and encodes them as an S payload:
    the status, then names and values, NUL-separated latin-1 (hop-by-hop headers dropped)."""
    if type(status) is not str or len(status) < 4 or not status[:3].isdigit() or status[3] != ' ':
        raise ValueError('bad status %r: want "200 OK"' % (status,))
    parts = [status]
    known = HEADER_NAMES
    for name, value in headers:
        keep = known.get(name)
        if keep is None:
            keep = header_name(name)
        if keep:
            parts.append(name)
            parts.append(value)
    try:
        head = '\0'.join(parts)
    except TypeError:
        raise TypeError('header values must be str: %r' % (headers,))
    if '\n' in head or '\r' in head or head.count('\0') != len(parts) - 1:
        raise ValueError('a header value holds a line break or a NUL: %r' % (headers,))
    return head.encode('latin-1')


HEADS = HeadCache(start_head)  # the heads already checked and encoded, for the starts that repeat


def data_frames(sid, data):
    """data_frames are the D frames of a piece of the body, cut to MAX_LINK_FRAME."""
    if len(data) <= MAX_LINK_FRAME:
        return (LINK_HEAD.pack(D, sid, len(data)), data)
    return [link_frame(D, sid, bytes(data[i:i + MAX_LINK_FRAME])) for i in range(0, len(data), MAX_LINK_FRAME)]


class ClientGone(ConnectionError):
    """ClientGone is raised by a write (or a read of wsgi.input) once the client has left."""


# ---------------------------------------------------------------- the application's side

class Input(object):
    """Input is wsgi.input: the request body, from the stream's body frames."""

    def __init__(self, stream):
        self._s = stream
        self._buf = b''
        self._pos = 0

    def _fill(self):
        data = self._s.take()
        if not data:
            return False
        self._buf = self._buf[self._pos:] + data if self._pos < len(self._buf) else data
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


class NoInput(Input):
    """NoInput is the wsgi.input of a request without a body (one object serves them all)."""

    def __init__(self):
        Input.__init__(self, None)

    def _fill(self):
        return False


NO_INPUT = NoInput()


class Errors(object):
    """Errors is wsgi.errors: lines go to gatekit's error log, tagged with the request id."""

    def __init__(self, stream):
        self._s = stream
        self._buf = ''

    def write(self, s):
        if isinstance(s, bytes):
            s = s.decode('utf-8', 'replace')
        self._buf += s
        if '\n' in self._buf:
            lines, _, self._buf = self._buf.rpartition('\n')
            self._s.log(lines)

    def writelines(self, seq):
        for s in seq:
            self.write(s)

    def flush(self):
        if self._buf:
            self._s.log(self._buf)
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


# ---------------------------------------------------------------- streams and links

class Stream(object):
    """Stream is one request on a link: its head, its body as it comes, start_response, and writes."""

    # what most requests keep, as class defaults: a new stream sets three attributes
    body_follows = 0    # a body follows the head
    recallable = 0      # gatekit may RECALL it while it waits its turn
    started = False
    chunks = None       # body chunks received and not yet read by the app
    held = 0            # their size
    ended = False       # the whole body is here (E)
    paused = False      # gatekit asked this stream to wait (its client reads slowly)
    gone = False        # the client left (ABORT), or the link closed
    asked = False       # this side asked gatekit to PAUSE the body
    status = None
    headers = None
    sent = False        # the head went out (S or W)
    kept = None         # sync worker: the response's body chunks, kept to go out whole with the head (W)
    kept_size = 0
    streaming = False   # the response goes out piece by piece (S, D..., F)

    def __init__(self, link, sid, head):
        self.link = link
        self.sid = sid
        self.head = head
        flags = head[0] - 48 if head else 0  # '0'..'3': 1 a body follows, 2 gatekit may RECALL it
        if flags:
            self.body_follows = flags & 1
            self.recallable = flags & 2

    # -- the body, as the link's reader delivers it

    def body(self, data):
        if self.chunks is None:
            self.chunks = collections.deque()
        self.chunks.append(data)
        self.held += len(data)
        if self.held > BODY_HIGH and not self.asked:
            self.asked = True
            self.link.send_now(link_frame(PAUSE, self.sid))

    def take(self):
        """take returns the next body chunk, waiting for it; b'' at the end of the body."""
        if not self.chunks and not self.ended:
            self.link.worker.wait(lambda: self.chunks or self.ended or self.gone)
        if self.chunks:
            with self.link.worker.lock:  # the reader may be adding to them (a watchdog, the main thread)
                data = self.chunks.popleft()
                self.held -= len(data)
                resume = self.asked and self.held < BODY_HIGH // 2
                if resume:
                    self.asked = False
            if resume:
                self.link.send_now(link_frame(RESUME, self.sid))
            return data
        if self.gone and not self.ended:
            raise ClientGone('the client left before it sent the whole body')
        return b''

    # -- the response

    def send(self, data, flush=False):
        if self.gone:
            raise ClientGone('the client left')
        link = self.link
        if data:
            link.send(data)
        if flush:
            link.flush()
        if self.paused:
            link.flush()
            link.worker.wait(lambda: not self.paused or self.gone)

    def log(self, text):
        if not self.gone:
            self.link.send(link_frame(L, self.sid, text.encode('utf-8', 'replace')))
            self.link.flush()  # a line goes to the log when it is written, not with the response

    def start_response(self, status, headers, exc_info=None):
        if exc_info:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError('start_response called a second time without exc_info')
        self.headers = HEADS.head(status, headers)
        self.status = status
        return self.write

    def take_head(self):
        if self.status is None:
            raise AssertionError('the application sent a body before calling start_response')
        self.sent = True
        return link_frame(S, self.sid, self.headers)

    def write(self, data):
        """write sends a piece of the body. A sync worker keeps the pieces, to send the response
        whole (W) when it ends, until they pass KEEP_MAX or the app runs long between them (the
        watchdog then streams what is kept): a slow generator still streams."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError('the application must send bytes, not %s' % type(data).__name__)
        if self.status is None:
            raise AssertionError('the application sent a body before calling start_response')
        if self.gone:
            raise ClientGone('the client left')
        link = self.link
        if link.batched and not self.streaming:
            with link.lock:
                if not self.streaming:  # else the watchdog turned it to streaming meanwhile
                    if data:
                        if self.kept is None:
                            self.kept = [data]
                        else:
                            self.kept.append(data)
                        self.kept_size += len(data)
                    if self.kept_size <= KEEP_MAX:
                        return
                    self.stream_locked()
            self.send(b'', flush=True)
            return
        out = b'' if self.sent else self.take_head()
        if data:
            out += b''.join(data_frames(self.sid, data))
        if out:
            self.send(out, flush=True)  # a streamed response goes out piece by piece

    def stream_locked(self):
        """stream_locked turns the response to streaming: the head and what is kept go to the link's
        output (with the link's lock held)."""
        out = self.link.out
        if not self.sent:
            out.append(self.take_head())
        if self.kept:
            for d in self.kept:
                out.extend(data_frames(self.sid, d))
        self.kept = None
        self.kept_size = 0
        self.streaming = True

    def finish(self):
        """finish ends the response: whole (W) when it was kept, else the F frame."""
        if self.gone:
            raise ClientGone('the client left')
        link = self.link
        if not link.batched:
            self.send((b'' if self.sent else self.take_head()) + link_frame(F, self.sid))
            return
        with link.lock:
            if self.streaming or self.kept_size > WHOLE_MAX:
                self.stream_locked()
                link.out.append(link_frame(F, self.sid))
                return
            kept = self.kept
            self.whole_locked(b'' if kept is None else kept[0] if len(kept) == 1 else b''.join(kept))

    def whole(self, data):
        """whole sends the head and a one-piece body in one W frame, ending the stream."""
        if self.gone:
            raise ClientGone('the client left')
        link = self.link
        if link.batched:
            with link.lock:
                self.whole_locked(data)
        else:
            self.sent = True
            link.send_now(b''.join((WHOLE_HEAD.pack(W, self.sid, 4 + len(self.headers) + len(data), len(self.headers)), self.headers, data)))

    def whole_locked(self, data):
        head = self.headers
        self.sent = True
        self.link.out.append(b''.join((WHOLE_HEAD.pack(W, self.sid, 4 + len(head) + len(data), len(head)), head, data)))

    def send_file(self, wrapper):
        f = wrapper.filelike
        try:
            fd = f.fileno()
            st = os.fstat(fd)
        except (AttributeError, OSError, ValueError):
            return False
        if not hasattr(os, 'sendfile') or not (st.st_mode & 0o170000 == 0o100000) or self.status is None:
            return False
        pos = f.tell() if hasattr(f, 'tell') else 0
        left = st.st_size - pos
        link = self.link
        with link.lock:
            self.stream_locked()
        self.send(b'', flush=True)
        while left > 0:
            if self.gone:
                raise ClientGone('the client left')
            n = min(left, MAX_LINK_FRAME)
            with link.lock:
                link.flush_locked()
                link.sock.sendall(LINK_HEAD.pack(D, self.sid, n))
                sent = 0
                while sent < n:
                    k = os.sendfile(link.sock.fileno(), fd, pos + sent, n - sent)
                    if k == 0:
                        raise IOError('file shrank while it was sent')
                    sent += k
            pos += n
            left -= n
        return True


class Link(object):
    """Link is one connection from a gatekit Node worker: its streams, and the frames read and
    to write. With `batched` (a sync worker), what its one app thread sends gathers until
    flush(), once per batch of requests; otherwise (threads) each send goes out at once. Control
    frames (send_now) go out at once from any thread; writes hold the link's lock."""

    __slots__ = ('sock', 'fd', 'worker', 'buf', 'streams', 'out', 'lock', 'batched', 'closed')

    def __init__(self, sock, worker, batched):
        self.sock = sock
        self.fd = sock.fileno()
        self.worker = worker
        self.buf = b''
        self.streams = {}
        self.out = []
        self.lock = threading.Lock()
        self.batched = batched
        self.closed = False

    def send(self, data):
        if self.batched:
            if data:
                with self.lock:
                    self.out.append(data)
        else:
            self.send_now(data)

    def send_now(self, data):
        with self.lock:
            self.write(data)

    def flush(self):
        if self.out:
            with self.lock:
                self.flush_locked()

    def flush_locked(self):
        out = self.out
        if out:
            self.out = []
            self.write(out[0] if len(out) == 1 else b''.join(out))

    def write(self, data):
        if self.closed:
            return
        try:
            self.sock.sendall(data)
        except OSError:  # gatekit went away: the reader sees the link close
            self.closed = True


# ---------------------------------------------------------------- the worker

class Worker(object):
    """Worker serves the links of gatekit's Node workers. With threads 1 the application runs
    inline, in the loop that reads the links, and a watchdog thread reads them while a call runs
    long (so that RECALL, ABORT and new links get an answer meanwhile); otherwise the main
    thread reads the links and `threads` threads run the application. Reading the links and the
    queue of streams waiting to run are guarded by one lock."""

    def __init__(self, app, threads, max_requests, processes):
        self.app = app
        self.threads = threads
        self.inline = threads == 1
        self.max_requests = max_requests
        self.served = 0
        self.stopping = False
        self.draining = False
        self.deadline = 0.0
        self.links = {}
        self.lock = threading.Lock()
        self.queue = collections.deque()         # streams waiting to run, oldest first
        self.jobs = threading.Condition(self.lock)  # threads: a stream was queued
        self.news = threading.Condition(self.lock)  # threads: a frame came for the streams that wait
        self.waiters = 0
        self.app_since = 0.0  # inline: when the running application call began; 0 while the loop reads the links
        self.current = None   # inline: the stream the application runs
        self.count_lock = threading.Lock()
        self.wake_r, self.wake_w = os.pipe()
        self.rbuf = bytearray(READ_SIZE)  # what read() receives into (with the lock held)
        self.rview = memoryview(self.rbuf)
        self.base = {
            'wsgi.version': (1, 0), 'wsgi.multithread': threads > 1, 'wsgi.multiprocess': processes > 1,
            'wsgi.run_once': False, 'wsgi.file_wrapper': FileWrapper, 'wsgi.input_terminated': True,
            'SERVER_SOFTWARE': 'gatekit', 'wsgi.input': NO_INPUT, 'wsgi.errors': None,
        }
        self.base.update(dict.fromkeys(CGI_KEYS, ''))
        self.hello = hello(threads + PREFETCH, threads)
        self.errors = Errors(None) if self.inline else None

    def stop(self, *_):
        self.stopping = True
        try:
            os.write(self.wake_w, b'x')
        except OSError:
            pass

    def run(self, listener, path, keeper):
        self.listener, self.path, self.keeper = listener, path, keeper
        listener.setblocking(False)
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.ep = select.epoll()
        for fd in (listener.fileno(), self.wake_r, keeper.fileno()):
            self.ep.register(fd, select.EPOLLIN)
        if self.inline:
            threading.Thread(target=self.watchdog, name='gatekit-wsgi-watch', daemon=True).start()
            self.serve_inline()
            return
        for _ in range(self.threads):
            threading.Thread(target=self.serve_jobs, daemon=True).start()
        while not self.finished():
            self.poll(self.poll_timeout())

    # -- the loops

    def serve_inline(self):
        queue, lock = self.queue, self.lock
        while not self.finished():
            self.poll(0 if queue else self.poll_timeout())
            while True:
                with lock:
                    if not queue:
                        self.app_since = 0.0
                        break
                    s = queue.popleft()
                    s.started = True
                    self.current = s
                    self.app_since = time.monotonic()
                self.handle(s)
            for link in list(self.links.values()):
                link.flush()

    def watchdog(self):
        """watchdog reads the links while the inline application call has run for WATCH_TICK, and
        sends what the call wrote so far (a slow generator streams) and the answers of the
        requests that ran before it in the batch (they do not wait for a slow one)."""
        while True:
            time.sleep(WATCH_TICK)
            with self.lock:
                if not self.app_since or time.monotonic() - self.app_since <= WATCH_TICK:
                    continue
                self.events(self.ep.poll(0))
                s = self.current
                if s is not None and s.kept is not None and not s.streaming:
                    with s.link.lock:
                        s.stream_locked()
                for link in list(self.links.values()):  # the answers of the batch's requests done before this one too
                    link.flush()

    def serve_jobs(self):
        queue = self.queue
        while True:
            with self.jobs:
                while not queue:
                    self.jobs.wait()
                s = queue.popleft()
                s.started = True
            self.handle(s)

    def wait(self, done):
        """wait returns once done() holds: inline, the loop reads the links meanwhile (new requests
        wait their turn in the queue); on a thread, it sleeps until the main thread has news."""
        if self.inline:
            with self.lock:
                since, self.app_since = self.app_since, 0.0  # the watchdog keeps off
            try:
                while not done():
                    for link in list(self.links.values()):
                        link.flush()
                    self.poll(self.poll_timeout())
            finally:
                self.app_since = since
            return
        with self.news:
            self.waiters += 1
            try:
                while not done():
                    self.news.wait()
            finally:
                self.waiters -= 1

    def finished(self):
        return self.draining and (not self.links or time.monotonic() > self.deadline)

    def poll_timeout(self):
        return max(0.0, self.deadline - time.monotonic()) if self.draining else None

    def poll(self, timeout):
        events = self.ep.poll(-1 if timeout is None else timeout)
        if events:
            with self.lock:
                self.events(events)

    def events(self, events):
        """events handles what epoll reported (with the lock held)."""
        for fd, _ in events:
            link = self.links.get(fd)
            if link is not None:
                self.read(link)
            elif fd == self.wake_r:
                os.read(self.wake_r, 64)
                if self.stopping:
                    self.drain()
            elif fd == self.listener.fileno():
                self.accept()
            else:
                self.keeper_news()
        if self.waiters:
            self.news.notify_all()

    def accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:  # BlockingIOError: no more for now
                return
            sock.setblocking(True)
            link = Link(sock, self, self.inline)
            self.links[link.fd] = link
            self.ep.register(link.fd, select.EPOLLIN)
            link.write(self.hello)
            if self.draining:
                link.write(link_frame(GOAWAY, 0))

    def keeper_news(self):
        try:
            if self.keeper.recv(64):
                return
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self.ep.unregister(self.keeper.fileno())
        self.stop()  # the keeper went away: finish and exit, a new incarnation joins the new keeper

    def drain(self):
        """drain starts the end of this worker: no new links, GOAWAY on each link, and the
        prefetched streams that have not started go back to gatekit; the worker exits once
        gatekit has closed its links, or after DRAIN_TIMEOUT."""
        if self.draining:
            return
        self.draining = True
        self.deadline = time.monotonic() + DRAIN_TIMEOUT
        for s in (self.listener, self.keeper):
            try:
                self.ep.unregister(s.fileno())
            except (OSError, ValueError):
                pass
            s.close()  # the keeper counts this worker out: a new incarnation takes its place
        try:
            os.unlink(self.path)
        except OSError:
            pass
        for s in [s for s in self.queue if s.recallable]:
            self.recall(s)
        for link in list(self.links.values()):
            link.send_now(link_frame(GOAWAY, 0))

    # -- reading frames (with the lock held)

    def read(self, link):
        try:
            n = link.sock.recv_into(self.rbuf, READ_SIZE, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            n = 0
        if not n:
            self.close_link(link)
            return
        data = self.rview[:n].tobytes()  # recv() would allocate READ_SIZE bytes each time (an mmap), then shrink them
        buf = link.buf + data if link.buf else data
        pos, n = 0, len(buf)
        unpack = LINK_HEAD.unpack_from
        while n - pos >= 9:
            kind, sid, length = unpack(buf, pos)
            end = pos + 9 + length
            if end > n:
                break
            self.frame(link, kind, sid, buf[pos + 9:end])
            pos = end
        link.buf = buf[pos:] if pos < n else b''

    def frame(self, link, kind, sid, payload):
        if kind == H:
            s = link.streams[sid] = Stream(link, sid, payload)
            self.queue.append(s)
            if not self.inline:
                self.jobs.notify()
            return
        s = link.streams.get(sid)
        if s is None:  # a stream this worker has finished: the rest of its body goes nowhere
            if sid == 0 and kind == PING:
                link.send_now(link_frame(PONG, 0))
            return
        if kind == B:
            s.body(payload)
        elif kind == E:
            s.ended = True
        elif kind == PAUSE:
            s.paused = True
        elif kind == RESUME:
            s.paused = False
        elif kind == ABORT:
            s.gone = True
        elif kind == RECALL:
            self.recall(s)

    def recall(self, s):
        """recall gives a prefetched stream that has not started back to gatekit (BACK)."""
        if s.started or not s.recallable:
            return
        try:
            self.queue.remove(s)
        except ValueError:
            return
        s.link.streams.pop(s.sid, None)
        s.link.send_now(link_frame(BACK, s.sid))

    def close_link(self, link):
        del self.links[link.fd]
        self.ep.unregister(link.fd)
        link.closed = True
        link.sock.close()
        for s in link.streams.values():
            s.gone = True

    # -- serving one request

    def environ(self, s):
        items = s.head[2:].decode('latin-1').split('\0')  # after the flags: the values of CGI_KEYS, then keys and values
        environ = self.base.copy()  # it has every key set below: the copy is a clone, that grows only for the headers
        environ.update(zip(CGI_KEYS, items))
        if len(items) > len(CGI_KEYS):
            rest = iter(items[len(CGI_KEYS):])
            environ.update(zip(rest, rest))
        environ['wsgi.input'] = Input(s) if s.body_follows else NO_INPUT
        errors = self.errors
        if errors is None:
            environ['wsgi.errors'] = Errors(s)
        else:  # inline, one request at a time: one wsgi.errors serves them all, each in turn
            errors._s = s
            environ['wsgi.errors'] = errors
        return environ

    def handle(self, s):
        if s.gone:  # the client left while the request waited its turn
            s.link.send(link_frame(F, s.sid))
            s.link.streams.pop(s.sid, None)
            return
        try:
            environ = self.environ(s)
            try:
                self.respond(s, environ)
            except ClientGone:
                s.link.send(link_frame(F, s.sid))  # ends the stream for gatekit, which dropped the client
            except BaseException as e:
                self.failed(s, environ, e)
                if isinstance(e, (KeyboardInterrupt, SystemExit)):
                    raise
        except Exception:
            sys.stderr.write('gatekit-wsgi: request failed: %s' % traceback.format_exc())
        finally:
            s.link.streams.pop(s.sid, None)
            if self.max_requests:
                self.count()

    def count(self):
        with self.count_lock:
            self.served += 1
            if self.served != self.max_requests:
                return
        for link in list(self.links.values()):  # with the last answer, so that gatekit sends nothing after it
            link.send(link_frame(GOAWAY, 0))
        self.stop()

    def failed(self, s, environ, e):
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            self.stop()
        text = traceback.format_exc()
        if s.gone:
            sys.stderr.write('gatekit-wsgi: exception in the application after the client left:\n%s' % text)
            return
        environ['wsgi.errors'].flush()
        s.link.send(link_frame(X, s.sid, text.encode('utf-8', 'replace')))

    def respond(self, s, environ):
        result = self.app(environ, s.start_response)
        try:
            if type(result) is list and len(result) == 1 and type(result[0]) is bytes and len(result[0]) <= WHOLE_MAX and s.status is not None and s.kept is None and not s.sent:
                environ['wsgi.errors'].flush()
                s.whole(result[0])
                return
            if not (isinstance(result, FileWrapper) and s.send_file(result)):
                for data in result:
                    if data:
                        s.write(data)
        finally:
            close = getattr(result, 'close', None)
            if close is not None:
                close()
        environ['wsgi.errors'].flush()
        if s.status is None:
            raise AssertionError('the application returned without calling start_response')
        s.finish()


def worker(run_dir, spec, threads, max_requests, processes):
    app = load_or_fail(run_dir, spec, 'gatekit-wsgi')
    listener, path = listen_links(run_dir)
    keeper = announce(run_dir, path)
    Worker(app, int(threads), int(max_requests), int(processes)).run(listener, path, keeper)
