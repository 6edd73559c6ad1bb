"""gatekit_asgi: the Python side of gatekit's `asgi` plugin (ASGI 3.0; stdlib only, Python 3.8+).

gatekit's pool (lib/python/gatekit_pool.py) runs the keeper, and loads this module in each
worker process: `gatekit_pool.py worker DIR gatekit_asgi.py APP MAX_REQUESTS DRAIN_MS` calls
worker(), which imports APP (module:callable) once, runs the lifespan startup, listens on its
own socket in DIR, and then serves on an asyncio event loop (uvloop's when it is installed, as
Uvicorn does): each gatekit Node worker keeps one link to it, and every HTTP request or
WebSocket is a stream of a link (see gatekit_pool.py for the link frames), so many requests
from many Node workers are in flight in each Python process at once.

Frames of a stream, besides the link's:
  gatekit -> worker:  H head: a flag digit (1: body frames follow), then the scope's fields,
                      NUL-separated latin-1 (see Worker.scope)  B body chunk / binary message
                      E end of body  T text message (utf-8)  C client closed (2-byte code, reason)
  worker -> gatekit:  S status NUL name NUL value ... (latin-1)  D body chunk
                      W whole response (4-byte length of the S payload, it, the body)
                      A accept (subprotocol NUL name NUL value ...)  T text  B binary
                      C close (2-byte code, reason)  X error (traceback, utf-8)  F finished
F, W and X end a stream for gatekit. ABORT (the client left) is http.disconnect, or
websocket.disconnect, for the application; PAUSE holds the application's next send() until
RESUME; a stream that gatekit sends more than READ_HIGH bytes the application has not received
yet is asked to PAUSE.
"""

import asyncio
import collections
import collections.abc
import contextvars
import os
import signal
import struct
import sys
import threading
import time
import traceback

from gatekit_pool import ABORT, AckFile, GOAWAY, LINK_HEAD, HeadCache, MAX_LINK_FRAME, PAUSE, PING, PONG, RESUME, announce, fail, hello, link_frame, listen_links, load_or_fail

H, B, E, T, C = 0x48, 0x42, 0x45, 0x54, 0x43
S, D, F, W, X, A = 0x53, 0x44, 0x46, 0x57, 0x58, 0x41
CODE = struct.Struct('>H')
WHOLE_HEAD = struct.Struct('>BIII')  # a W frame's header, and the length of its head
HOP_BY_HOP = frozenset((b'connection', b'keep-alive', b'proxy-authenticate', b'proxy-authorization', b'te', b'trailers', b'transfer-encoding', b'upgrade'))
READ_HIGH = 1 << 20  # request bytes queued for the app before gatekit is asked to PAUSE the stream
LIFESPAN_WAIT = 60
WHOLE_MAX = 1 << 20  # a complete body up to this size goes in one W frame with its head
YIELD_EVERY = 256 * 1024  # bytes a stream sends before its send() lets the event loop run
HTTP_DISCONNECT = {'type': 'http.disconnect'}


def no_body():
    """no_body is the one http.request message of a request without a body."""
    return {'type': 'http.request', 'body': b'', 'more_body': False}


class ClientDisconnected(OSError):
    """ClientDisconnected is raised by a WebSocket send() after the client went away."""


class Link(asyncio.Protocol):
    """Link is one connection from a gatekit Node worker: its streams by id, the frames read,
    and the frames to write, gathered and written once per turn of the event loop."""

    def __init__(self, worker):
        self.w = worker
        self.t = None
        self.buf = b''
        self.streams = {}
        self.out = []
        self.queued = False
        self.blocked = None  # a future while the transport is full (pause_writing)
        self.acks = None  # the link's AckFile

    def connection_made(self, transport):
        self.t = transport
        self.w.links.add(self)
        self.acks = AckFile.open(self.w.run_dir)
        transport.write(hello(0, 0, 0, self.acks))
        if self.w.draining:
            transport.write(link_frame(GOAWAY, 0))

    def connection_lost(self, exc):
        self.w.links.discard(self)
        if self.acks is not None:
            self.acks.close()
        for s in list(self.streams.values()):
            s.lost()
        self.unblock()

    def pause_writing(self):
        self.blocked = self.w.loop.create_future()

    def resume_writing(self):
        self.unblock()

    def unblock(self):
        if self.blocked is not None:
            if not self.blocked.done():
                self.blocked.set_result(None)
            self.blocked = None

    def send(self, data):
        self.out.append(data)
        if not self.queued:
            self.queued = True
            self.w.loop.call_soon(self.flush)

    def flush(self):
        self.queued = False
        out = self.out
        if not out:
            return
        self.out = []
        if not self.t.is_closing():
            self.t.write(out[0] if len(out) == 1 else b''.join(out))

    def data_received(self, data):
        buf = self.buf + data if self.buf else data
        pos, n = 0, len(buf)
        unpack = LINK_HEAD.unpack_from
        heads = None
        while n - pos >= 9:
            kind, sid, length = unpack(buf, pos)
            end = pos + 9 + length
            if end > n:
                break
            if kind == H:
                if heads is None:
                    heads = []
                heads.append(self.open(sid, buf[pos + 9:end]))
            else:
                self.frame(kind, sid, buf[pos + 9:end])
            pos = end
        self.buf = buf[pos:] if pos < n else b''
        if heads:
            self.start(heads)

    def open(self, sid, payload):
        scope = self.w.scope(payload)
        s = self.streams[sid] = Stream(self, sid, scope['type'] == 'websocket', payload[0] == 49)  # '1': body frames follow
        return s, scope

    def start(self, heads):
        """start acknowledges the heads read (AckFile) and starts their apps at once (see
        start_eager): an app that answers without waiting sends its whole answer in this turn,
        and the answers of all of them go out in one write, now."""
        if self.acks is not None:
            self.acks.ack(heads[-1][0].sid)
        queued, self.queued = self.queued, True  # the apps' send()s gather in self.out
        loop = self.w.loop
        try:
            for s, scope in heads:
                start_eager(loop, s.run(scope))
        finally:
            if not queued:
                self.queued = False
                self.flush()

    def frame(self, kind, sid, payload):
        s = self.streams.get(sid)
        if s is not None:  # else a stream this worker has finished: what is left of its body goes nowhere
            s.frame(kind, payload)
        elif sid == 0 and kind == PING:
            self.send(link_frame(PONG, 0))


class Stream(object):
    """Stream is one HTTP request or one WebSocket on a link, and its app task."""

    ws = False
    waiter = None      # the future receive() waits on
    drain = None       # the future send() waits on while gatekit has the stream paused
    paused = False     # gatekit asked this stream to PAUSE (its client reads slowly)
    asked = False      # this side asked gatekit to PAUSE the request bytes
    gone = False       # the client left (ABORT), or the link closed
    head = None        # http: the encoded response start, sent with the first body
    started = False    # http: response started; websocket: accepted
    done = False       # http: response complete; websocket: closed by the app
    ended = False      # the stream's last frame (F, W or X) was sent
    queued = 0         # request bytes in the queue
    queue = None       # the messages for receive(); made when first needed (see inbox)
    unyielded = 0      # bytes sent since the app's send() last let the event loop run

    def __init__(self, link, sid, ws, body_follows):
        self.link = link
        self.sid = sid
        if ws:
            self.ws = True
            self.queue = collections.deque(({'type': 'websocket.connect'},))
        elif body_follows:
            self.queue = collections.deque()
        # else an HTTP request without a body: no queue until one is needed (an app that answers
        # without calling receive() never makes one)

    def inbox(self):
        """inbox is the queue of messages for receive(); a request without a body gets it made here, its empty body first."""
        if self.queue is None:
            self.queue = collections.deque((no_body(),))
        return self.queue

    # -- frames from gatekit

    def frame(self, kind, payload):
        if kind == B:
            msg = {'type': 'websocket.receive', 'bytes': payload} if self.ws else {'type': 'http.request', 'body': payload, 'more_body': True}
            self.push(msg, len(payload))
        elif kind == E:
            q = self.inbox()
            if q and q[-1]['type'] == 'http.request':
                q[-1]['more_body'] = False
            else:
                self.push({'type': 'http.request', 'body': b'', 'more_body': False}, 0)
        elif kind == T:
            self.push({'type': 'websocket.receive', 'text': payload.decode('utf-8')}, len(payload))
        elif kind == C:
            code = CODE.unpack_from(payload)[0] if len(payload) >= 2 else 1005
            self.push({'type': 'websocket.disconnect', 'code': code, 'reason': payload[2:].decode('utf-8', 'replace')}, 0)
        elif kind == PAUSE:
            self.paused = True
        elif kind == RESUME:
            self.paused = False
            self.wake_drain()
        elif kind == ABORT:
            self.lost()

    def lost(self):
        self.gone = True
        self.wake()
        self.wake_drain()

    def push(self, msg, size):
        self.inbox().append(msg)
        self.queued += size
        if self.queued > READ_HIGH and not self.asked:
            self.asked = True
            self.link.send(link_frame(PAUSE, self.sid))
        self.wake()

    def wake(self):
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def wake_drain(self):
        if self.drain is not None and not self.drain.done():
            self.drain.set_result(None)

    # -- the application's side

    async def receive(self):
        if self.queue is None:  # a request without a body: its one message
            return self.inbox().popleft()
        while not self.queue:
            if self.gone or (self.done and not self.ws):
                return {'type': 'websocket.disconnect', 'code': 1006, 'reason': ''} if self.ws else HTTP_DISCONNECT.copy()
            self.waiter = self.link.w.loop.create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        msg = self.queue.popleft()
        if self.queued:
            self.queued -= len(msg.get('body') or msg.get('bytes') or msg.get('text') or b'')
            if self.asked and self.queued < READ_HIGH // 2 and not self.gone:
                self.asked = False
                self.link.send(link_frame(RESUME, self.sid))
        return msg

    async def send(self, message):
        if self.ws:
            return await self.send_ws(message)
        kind = message['type']
        if kind == 'http.response.start':
            if self.started:
                raise RuntimeError('http.response.start sent twice')
            self.started = True
            status, headers = message['status'], message.get('headers') or ()
            try:  # a start seen before: HEADS's own lookup, without its call
                self.head = HEADS.heads[status, tuple(headers)]
            except (KeyError, TypeError):
                self.head = HEADS.head(status, headers)
            return
        if kind != 'http.response.body':
            raise RuntimeError('unexpected ASGI message %r in an http scope' % kind)
        if not self.started:
            raise RuntimeError('http.response.body sent before http.response.start')
        if self.done:
            raise RuntimeError('http.response.body sent after the response completed')
        body = message.get('body', b'')
        more = message.get('more_body', False)
        self.done = not more
        if self.gone:
            return
        head, self.head = self.head, None
        sid = self.sid
        if not more:
            self.ended = True
            if head is not None and len(body) <= WHOLE_MAX:  # the whole response in one frame
                self.link.send(b''.join((WHOLE_HEAD.pack(W, sid, 4 + len(head) + len(body), len(head)), head, body)))
                return
        out = [link_frame(S, sid, head)] if head is not None else []
        if body:
            out.extend(data_frames(sid, body))
        if not more:
            out.append(link_frame(F, sid))
        self.link.send(b''.join(out))
        await self.wait_drain(len(body))

    async def send_ws(self, message):
        kind = message['type']
        if self.gone:
            raise ClientDisconnected('the WebSocket client went away')
        sid = self.sid
        if kind == 'websocket.accept':
            if self.started or self.done:
                raise RuntimeError('websocket.accept sent twice, or after websocket.close')
            self.started = True
            parts = [(message.get('subprotocol') or '').encode('latin-1')]
            for name, value in message.get('headers') or ():
                parts.append(bytes(name))
                parts.append(bytes(value))
            self.link.send(link_frame(A, sid, b'\0'.join(parts)))
        elif kind == 'websocket.send':
            if not self.started or self.done:
                raise RuntimeError('websocket.send before websocket.accept or after websocket.close')
            text = message.get('text')
            data = link_frame(T, sid, text.encode('utf-8')) if text is not None else link_frame(B, sid, bytes(message.get('bytes') or b''))
            self.link.send(data)
            await self.wait_drain(len(data))
        elif kind == 'websocket.close':
            if self.done:
                raise RuntimeError('websocket.close sent twice')
            self.done = True
            reason = (message.get('reason') or '').encode('utf-8')
            self.link.send(link_frame(C, sid, CODE.pack(message.get('code') or 1000) + reason))
        else:
            raise RuntimeError('unexpected ASGI message %r in a websocket scope' % kind)

    async def wait_drain(self, sent):
        """wait_drain holds a send() while gatekit has the stream paused, or the link is full. An app
        that sends without ever waiting lets the loop run every YIELD_EVERY bytes: its output goes
        out, and gatekit's PAUSE comes in."""
        self.unyielded += sent
        if self.unyielded >= YIELD_EVERY and not self.paused and self.link.blocked is None:
            self.unyielded = 0
            await asyncio.sleep(0)
        while not self.gone and (self.paused or self.link.blocked is not None):
            if self.paused:
                self.drain = self.link.w.loop.create_future()
                await self.drain
            else:
                await self.link.blocked

    async def run(self, scope):
        link = self.link
        try:
            await link.w.app(scope, self.receive, self.send)
            if self.ws or not self.done:  # a completed HTTP response needs no check
                self.finish()
        except BaseException as e:
            self.error(traceback.format_exc())
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
        finally:
            if not self.ended:  # the stream ends for gatekit, whatever happened
                self.ended = True
                link.send(link_frame(F, self.sid))
            link.streams.pop(self.sid, None)
            link.w.finished()

    def finish(self):
        """finish checks that the app answered: an HTTP response completed, a WebSocket closed."""
        if self.ws:
            if not self.started and not self.done:
                self.error('the ASGI application returned without accepting or closing the WebSocket')
            elif not self.done and not self.gone:
                self.done = True
                self.link.send(link_frame(C, self.sid, CODE.pack(1000)))
        elif not self.done and not self.gone:
            self.error('the ASGI application returned without %s the response' % ('completing' if self.started else 'starting'))

    def error(self, text):
        if self.gone or self.ended or (self.done and not self.ws):  # nobody to answer (any more): the traceback goes to the error log
            sys.stderr.write('gatekit-asgi: exception in the ASGI application%s:\n%s' % (' after its response' if self.done else '', text))
            sys.stderr.flush()
            return
        self.ended = True
        self.link.send(link_frame(X, self.sid, text.encode('utf-8', 'replace')))


STATUS = {}  # status code -> its bytes in a start payload


def data_frames(sid, data):
    if len(data) <= MAX_LINK_FRAME:
        return (LINK_HEAD.pack(D, sid, len(data)), data)
    out = []
    for i in range(0, len(data), MAX_LINK_FRAME):
        piece = data[i:i + MAX_LINK_FRAME]
        out.append(LINK_HEAD.pack(D, sid, len(piece)))
        out.append(piece)
    return out


def status_head(status, headers):
    """status_head is the S payload of http.response.start: status, then header names and values."""
    parts = [STATUS.get(status) or b'%d' % status]
    for name, value in headers:
        if type(name) is not bytes or type(value) is not bytes:
            name, value = bytes(name), bytes(value)
        if name.lower() in HOP_BY_HOP:
            continue
        parts.append(name)
        parts.append(value)
    payload = b'\0'.join(parts)
    if payload.count(b'\0') != len(parts) - 1 or not 100 <= status <= 999:
        raise ValueError('bad status or a NUL byte in a header: %r' % ((status, headers),))
    if len(STATUS) < 1000:
        STATUS[status] = parts[0]
    return payload


HEADS = HeadCache(status_head)  # the heads already checked and encoded, for the starts that repeat


# ---------------------------------------------------------------- eager start
#
# An ASGI app that answers at once (receive() has the whole body, send() only gathers frames)
# does all its work in its coroutine's first step. Running that step in the turn that read the
# request, as Python 3.12's eager tasks do, spares it a Task, a scheduled step and a turn of the
# loop. Only a coroutine that waits gets a Task, which resumes it where it waits. On Python 3.12
# and later, that is asyncio's own eager Task. Before 3.12, the first step runs with no Task,
# and asyncio.current_task() (asyncio.timeout, TaskGroup, anyio and sniffio call it) makes one
# when the step asks for it: the step then runs as that Task, which resumes it afterwards.

class Resume(collections.abc.Coroutine):
    """Resume is the coroutine a Task runs for an app coroutine whose first step already ran: its
    first send() gives the Task what that step yielded (or ends as it ended), later sends and
    throws go to the app's coroutine, so cancellation and exceptions reach the app as in a Task."""

    __slots__ = ('coro', 'first', 'outcome', 'task')

    def __init__(self, coro):
        self.coro = coro
        self.first = True
        self.task = None
        self.outcome = None  # what the first step did: ('yield', value), ('return', value) or ('raise', exc)

    def send(self, value):
        if not self.first:
            return self.coro.send(value)
        self.first = False
        how, what = self.outcome
        if how == 'yield':
            return what
        if how == 'return':
            raise StopIteration(what)
        raise what

    def throw(self, typ, val=None, tb=None):
        self.first = False  # thrown before its first send (a Task cancelled at once): the app gets it where it waits
        if val is None and tb is None:
            return self.coro.throw(typ)
        return self.coro.throw(typ, val, tb)

    def close(self):
        self.coro.close()

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):
        return self.send(None)

    def __repr__(self):
        return '<Resume %r>' % (self.coro,)


class FirstStep(object):
    """FirstStep is the eager first step running now (Python before 3.12), for current_task()."""

    loop = None
    coro = None    # the coroutine whose first step runs now
    ctx = None     # the context it runs in
    resume = None  # its Resume, once a Task is made for it

    def task_now(self):
        """task_now is the Task of the running step, made (and entered) the first time it is asked for."""
        if self.resume is None:
            self.resume = Resume(self.coro)
            self.resume.task = task = new_task(self.loop, self.resume, self.ctx, True)
            asyncio.tasks._enter_task(self.loop, task)
        return self.resume.task


FIRST = FirstStep()
_current_task = asyncio.current_task
copy_context = contextvars.copy_context


def current_task(loop=None):
    """current_task is asyncio.current_task, and the Task of an eager first step (FirstStep)."""
    task = _current_task(loop)
    if task is None and FIRST.coro is not None and (loop or asyncio.get_running_loop()) is FIRST.loop:
        task = FIRST.task_now()
    return task


def new_task(loop, coro, ctx, inside=False):
    """new_task is a Task running `coro` in the context `ctx` (before Python 3.11, in a copy of
    it as it is now; `inside`: ctx is the current context)."""
    if sys.version_info >= (3, 11):
        return asyncio.Task(coro, loop=loop, context=ctx)
    return asyncio.Task(coro, loop=loop) if inside else ctx.run(asyncio.Task, coro, loop=loop)


def start_eager_312(loop, coro):
    """start_eager runs `coro`'s first step now, in an asyncio eager Task (Python 3.12+)."""
    asyncio.Task(coro, loop=loop, eager_start=True)


def start_eager_311(loop, coro):
    """start_eager runs `coro`'s first step now, in a copy of the context, with no Task unless it
    waits, or asks for its Task (current_task); a coroutine that ends at once leaves nothing behind."""
    first = FIRST
    ctx = first.ctx = copy_context()
    first.coro = coro
    first.loop = loop
    try:
        outcome = ('yield', ctx.run(coro.send, None))
    except StopIteration as e:
        if first.resume is None:
            return
        outcome = ('return', e.value)
    except BaseException as e:  # SystemExit, KeyboardInterrupt: ended as its Task would end
        outcome = ('raise', e)
    finally:
        resume, first.coro, first.ctx, first.resume = first.resume, None, None, None
        if resume is not None:
            asyncio.tasks._leave_task(loop, resume.task)
    if resume is None:
        resume = Resume(coro)
        new_task(loop, resume, ctx)
    resume.outcome = outcome


if sys.version_info >= (3, 12):
    start_eager = start_eager_312
else:
    start_eager = start_eager_311
    asyncio.current_task = asyncio.tasks.current_task = current_task  # before the app and its libraries are imported


class Lifespan(object):
    """Lifespan runs the application's lifespan scope: startup before serving, shutdown after."""

    def __init__(self, app, state, loop):
        self.app = app
        self.state = state
        self.loop = loop
        self.inbox = asyncio.Queue()
        self.answers = asyncio.Queue()
        self.asked = False
        self.task = None

    async def receive(self):
        self.asked = True
        return await self.inbox.get()

    async def send(self, message):
        await self.answers.put(message)

    async def step(self, event):
        """step sends lifespan.EVENT; it returns None when done, the failure message, or False when unsupported."""
        if self.task is None:
            scope = {'type': 'lifespan', 'asgi': {'version': '3.0', 'spec_version': '2.0'}, 'state': self.state}
            self.task = self.loop.create_task(self.app(scope, self.receive, self.send))
        elif self.task.done():
            return None
        self.inbox.put_nowait({'type': 'lifespan.' + event})
        answer = self.loop.create_task(self.answers.get())
        await asyncio.wait([answer, self.task], timeout=LIFESPAN_WAIT, return_when=asyncio.FIRST_COMPLETED)
        if answer.done():
            kind = answer.result()['type']
            if kind == 'lifespan.%s.complete' % event:
                return None
            if kind == 'lifespan.%s.failed' % event:
                return answer.result().get('message') or kind
            return 'unexpected %s during lifespan.%s' % (kind, event)
        answer.cancel()
        if not self.task.done():
            return 'no answer to lifespan.%s within %ds' % (event, LIFESPAN_WAIT)
        exc = self.task.exception()
        if exc is None:
            return False if not self.asked else None
        text = ''.join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        if not self.asked and event == 'startup':  # raised at once: the app does not speak lifespan
            return False
        sys.stderr.write('gatekit-asgi: lifespan.%s raised:\n%s' % (event, text))
        return '%s: %s' % (type(exc).__name__, exc)


class LoopWatch(object):
    """LoopWatch stops a worker whose event loop stays blocked past `limit` seconds.

    An application that calls blocking code from async code (time.sleep, a sync driver) stalls
    every request of its worker, not only its own. The loop stamps a heartbeat; a thread checks
    it, and when it is older than the limit it writes where the loop is stuck to stderr (the
    error log) and ends the process, which the pool replaces, as Gunicorn's arbiter does with a
    worker that stops notifying it.
    """

    def __init__(self, loop, limit):
        self.loop = loop
        self.limit = limit
        self.every = min(1.0, limit / 4)
        self.stamp = time.monotonic()
        self.main = threading.main_thread().ident

    def start(self):
        self.beat()
        threading.Thread(target=self.watch, name='gatekit-loop-watch', daemon=True).start()

    def beat(self):
        self.stamp = time.monotonic()
        self.loop.call_later(self.every, self.beat)

    def watch(self):
        while True:
            time.sleep(self.every)
            stalled = time.monotonic() - self.stamp
            if stalled > self.limit:
                stack = ''.join(traceback.format_stack(sys._current_frames().get(self.main)))
                sys.stderr.write('gatekit-asgi: event loop blocked for %.1fs (over timeout %.1fs): an application call that does not await; '
                                 'stopping worker pid %d. The loop is at:\n%s' % (stalled, self.limit, os.getpid(), stack))
                sys.stderr.flush()
                os._exit(70)


class Scopes(object):
    """Scopes builds the ASGI scopes from head payloads. A head holds, NUL-separated, latin-1
    (see scope.ts): a flag, type, http_version, method, scheme, path (utf-8), raw_path,
    query_string, root_path (utf-8), client host, client port, server host, server port,
    subprotocols (comma-separated), then header names (lowercase) and values. What repeats from
    request to request is decoded once and remembered (bounded, emptied when full): the four
    fields before the path, as a template dict each scope is copied from, the header block, as
    the tuple each scope's list of headers is copied from, the hosts and the ports."""

    MOST = 256
    PORTS = 4096  # a client's port repeats on each request of its connection; int() costs more than a lookup

    def __init__(self, state):
        self.state = state
        self.templates = {}
        self.headers = {}
        self.hosts = {}
        self.ports = {}

    def scope(self, payload):
        """scope is the ASGI scope of a head payload: a new dict, headers list and state copy each time."""
        p = payload.split(b'\0', 14)
        prefix = payload[2:5 + len(p[1]) + len(p[2]) + len(p[3]) + len(p[4])]  # type, version, method, scheme
        scope = (self.templates.get(prefix) or self.template(prefix)).copy()
        scope['asgi'] = {'version': '3.0', 'spec_version': '2.3'}
        scope['path'] = p[5].decode('utf-8', 'surrogateescape')
        scope['raw_path'] = p[6]
        scope['query_string'] = p[7]
        scope['root_path'] = p[8].decode('utf-8', 'surrogateescape') if p[8] else ''
        hosts, ports = self.hosts, self.ports
        scope['client'] = (hosts.get(p[9]) or self.host(p[9]), ports.get(p[10]) or self.port(p[10]))
        scope['server'] = (hosts.get(p[11]) or self.host(p[11]), ports.get(p[12]) or self.port(p[12]))
        scope['state'] = self.state.copy()
        block = p[14] if len(p) > 14 else b''
        scope['headers'] = list(self.headers.get(block) or self.header_pairs(block))
        if 'subprotocols' in scope:
            scope['subprotocols'] = [x for x in p[13].decode('latin-1').split(',') if x]
        return scope

    def template(self, prefix):
        kind, version, method, scheme = prefix.decode('latin-1').split('\0')
        t = {'type': kind, 'asgi': None, 'http_version': version, 'scheme': scheme}
        if kind == 'websocket':
            t['subprotocols'] = None
        else:
            t['method'] = method
        for key in SCOPE_KEYS:  # every key the scope gets, so that its copy never grows (a resize per scope)
            t[key] = None
        return remember(self.templates, prefix, t, self.MOST)

    def header_pairs(self, block):
        h = block.split(b'\0')
        return remember(self.headers, block, tuple(zip(h[0::2], h[1::2])), self.MOST)

    def host(self, raw):
        return remember(self.hosts, raw, raw.decode('latin-1'), self.MOST)

    def port(self, raw):
        return remember(self.ports, raw, int(raw or 0), self.PORTS)


SCOPE_KEYS = ('path', 'raw_path', 'query_string', 'root_path', 'client', 'server', 'state', 'headers')


def remember(cache, key, value, most):
    """remember stores a decoded value in a bounded cache, emptied when full, and returns it."""
    if len(cache) >= most:
        cache.clear()
    cache[key] = value
    return value


class Worker(object):
    """Worker serves the links of gatekit's Node workers on one asyncio event loop."""

    def __init__(self, run_dir, app, spec, max_requests, drain_ms):
        self.run_dir = run_dir
        self.app = app
        self.spec = spec
        self.max_requests = max_requests
        self.drain = drain_ms / 1000.0
        self.served = 0
        self.links = set()
        self.state = {}
        self.loop = None
        self.stopping = None
        self.draining = False
        self.gone_away = False
        self.failure = None
        self.scope = Scopes(self.state).scope

    def finished(self):
        self.served += 1
        if self.max_requests and self.served == self.max_requests:
            self.goaway()  # with the last answer, so that gatekit sends nothing after it
            self.stop()

    def goaway(self):
        if not self.gone_away:
            self.gone_away = True
            for link in list(self.links):
                link.send(link_frame(GOAWAY, 0))

    def stop(self, *_):
        if not self.stopping.done():
            self.stopping.set_result(None)

    async def main(self):
        self.loop = asyncio.get_running_loop()
        self.stopping = self.loop.create_future()
        lifespan = Lifespan(self.app, self.state, self.loop)
        failed = await lifespan.step('startup')
        if failed:
            self.failure = failed
            return
        listener, path = listen_links(self.run_dir)
        server = await self.loop.create_unix_server(lambda: Link(self), sock=listener, backlog=1024)
        keeper = announce(self.run_dir, path)
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(sig, self.stop)
        keeper.setblocking(False)
        self.loop.add_reader(keeper.fileno(), self.keeper_gone, keeper)
        if self.drain > 0:
            LoopWatch(self.loop, self.drain).start()
        await self.stopping
        self.draining = True
        server.close()
        try:
            os.unlink(path)
        except OSError:
            pass
        self.loop.remove_reader(keeper.fileno())
        keeper.close()  # the keeper counts this worker out: a new incarnation takes its place
        self.goaway()
        await self.wait_links()
        if failed is None:
            why = await lifespan.step('shutdown')
            if why:
                sys.stderr.write('gatekit-asgi: lifespan shutdown failed: %s\n' % why)

    def keeper_gone(self, keeper):
        try:
            if keeper.recv(64):
                return
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self.stop()

    async def wait_links(self):
        """wait_links waits until gatekit has closed every link (their streams done), at most the drain time."""
        until = self.loop.time() + self.drain
        while self.links and self.loop.time() < until:
            await asyncio.sleep(0.02)
        for link in list(self.links):
            link.t.close()


def run(main):
    """run runs main() on uvloop's event loop when uvloop is installed (as Uvicorn does), else on asyncio's; it says which."""
    try:
        import uvloop
    except ImportError:
        uvloop = None
    print('gatekit-asgi: worker %d runs on the %s event loop' % (os.getpid(), 'uvloop %s' % uvloop.__version__ if uvloop else 'asyncio'), flush=True)
    if uvloop is None:
        asyncio.run(main())
    elif sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main())
    else:
        uvloop.install()
        asyncio.run(main())


def worker(run_dir, spec, max_requests, drain_ms):
    app = load_or_fail(run_dir, spec, 'gatekit-asgi')
    w = Worker(run_dir, app, spec, int(max_requests), int(drain_ms))
    run(w.main)
    if w.failure:
        fail(run_dir, 'gatekit-asgi: the lifespan startup of %s failed: %s' % (spec, w.failure), fatal='lifespan startup failed: %s' % w.failure)
