"""gatekit_asgi: the Python side of gatekit's `asgi` plugin (ASGI 3.0; stdlib only, Python 3.8+).

gatekit's pool (core/python/gatekit_pool.py) runs the keeper, and loads this module in each
worker process: `gatekit_pool.py worker DIR gatekit_asgi.py APP MAX_REQUESTS DRAIN_MS` calls
worker(), which imports APP (module:callable) once, runs the lifespan startup, joins the pool,
and then serves on an asyncio event loop: every connection gatekit's Node workers open on the
pool's shared socket is one HTTP request or one WebSocket, accepted concurrently, so many
requests from many Node workers are in flight in each Python process at once.

Framing (both directions): 1 byte type, 4 bytes big-endian length, payload.
  gatekit -> worker:  H scope (JSON array, see scope())  B body chunk / binary message
                      E end of body  T text message (utf-8)  C client closed (2-byte code, reason)
  worker -> gatekit:  S status NUL name NUL value ... (latin-1)  D body chunk  F response complete
                      A accept (subprotocol NUL name NUL value ...)  T text  B binary
                      C close (2-byte code, reason)  X error (traceback, utf-8)
A connection that ends is http.disconnect (or websocket.disconnect) for the application.
"""

import asyncio
import collections
import json
import os
import signal
import struct
import sys
import threading
import time
import traceback

from gatekit_pool import HEAD, MAX_FRAME, fail, join_pool, load_or_fail

CODE = struct.Struct('>H')
HOP_BY_HOP = frozenset((b'connection', b'keep-alive', b'proxy-authenticate', b'proxy-authorization', b'te', b'trailers', b'transfer-encoding', b'upgrade'))
READ_HIGH = 1 << 20  # request bytes queued for the app before reading from gatekit pauses
LIFESPAN_WAIT = 60


class ClientDisconnected(OSError):
    """ClientDisconnected is raised by a WebSocket send() after the client went away."""


class Conn(asyncio.Protocol):
    """Conn is one connection from gatekit: one HTTP request or one WebSocket, and its app task."""

    def __init__(self, worker):
        self.w = worker
        self.t = None
        self.buf = b''
        self.queue = collections.deque()
        self.queued = 0
        self.waiter = None
        self.drain = None
        self.paused = False
        self.reading = True
        self.gone = False
        self.ws = False
        self.head = None      # http: the encoded response start, sent with the first body
        self.started = False  # http: response started; websocket: accepted
        self.done = False     # http: response complete; websocket: closed by the app
        self.body_end = False  # http: gatekit sent the whole request body (E)
        self.discard = False   # http: the app is done; the rest of the body is read only to be dropped
        self.running = False  # the app task runs (the request head came)

    # -- transport side

    def connection_made(self, transport):
        self.t = transport
        self.w.conns.add(self)

    def connection_lost(self, exc):
        self.gone = True
        if not self.running:  # gatekit gave up before sending the head: no task will count it out
            self.w.conns.discard(self)
        self.wake()
        if self.drain is not None and not self.drain.done():
            self.drain.set_result(None)

    def pause_writing(self):
        self.paused = True

    def resume_writing(self):
        self.paused = False
        if self.drain is not None and not self.drain.done():
            self.drain.set_result(None)

    def data_received(self, data):
        buf = self.buf + data if self.buf else data
        pos, n = 0, len(buf)
        while n - pos >= 5:
            kind, length = HEAD.unpack_from(buf, pos)
            end = pos + 5 + length
            if end > n:
                break
            self.frame(kind, buf[pos + 5:end])
            pos = end
        self.buf = buf[pos:] if pos < n else b''

    def frame(self, kind, payload):
        if kind == b'H':
            scope = self.w.scope(payload)
            self.ws = scope['type'] == 'websocket'
            if self.ws:
                self.push({'type': 'websocket.connect'}, 0)
            self.running = True
            self.w.loop.create_task(self.run(scope))
        elif self.discard:  # the app returned: what is left of the body goes nowhere, and E ends it
            if kind == b'E':
                self.t.close()
        elif kind == b'B':
            msg = {'type': 'websocket.receive', 'bytes': payload} if self.ws else {'type': 'http.request', 'body': payload, 'more_body': True}
            self.push(msg, len(payload))
        elif kind == b'E':
            self.body_end = True
            q = self.queue
            if q and q[-1]['type'] == 'http.request':
                q[-1]['more_body'] = False
            else:
                self.push({'type': 'http.request', 'body': b'', 'more_body': False}, 0)
        elif kind == b'T':
            self.push({'type': 'websocket.receive', 'text': payload.decode('utf-8')}, len(payload))
        elif kind == b'C':
            code = CODE.unpack_from(payload)[0] if len(payload) >= 2 else 1005
            self.push({'type': 'websocket.disconnect', 'code': code, 'reason': payload[2:].decode('utf-8', 'replace')}, 0)

    def push(self, msg, size):
        self.queue.append(msg)
        self.queued += size
        if self.queued > READ_HIGH and self.reading:
            self.reading = False
            self.t.pause_reading()
        self.wake()

    def wake(self):
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    # -- application side

    async def receive(self):
        while not self.queue:
            if self.gone or (self.done and not self.ws):
                return {'type': 'websocket.disconnect', 'code': 1006, 'reason': ''} if self.ws else {'type': 'http.disconnect'}
            self.waiter = self.w.loop.create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        msg = self.queue.popleft()
        if self.queued:
            self.queued -= len(msg.get('body') or msg.get('bytes') or msg.get('text') or b'')
            if not self.reading and self.queued < READ_HIGH // 2 and not self.gone:
                self.reading = True
                self.t.resume_reading()
        return msg

    async def send(self, message):
        if self.ws:
            return await self.send_ws(message)
        kind = message['type']
        if kind == 'http.response.start':
            if self.started:
                raise RuntimeError('http.response.start sent twice')
            self.started = True
            self.head = status_head(message)
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
        out = [self.head] if self.head else []
        self.head = None
        if body:
            out.extend(data_frames(b'D', body))
        if not more:
            out.append(b'F\0\0\0\0')
        self.t.write(b''.join(out) if len(out) != 1 else out[0])
        if self.paused:
            await self.wait_drain()

    async def send_ws(self, message):
        kind = message['type']
        if self.gone:
            raise ClientDisconnected('the WebSocket client went away')
        if kind == 'websocket.accept':
            if self.started or self.done:
                raise RuntimeError('websocket.accept sent twice, or after websocket.close')
            self.started = True
            parts = [(message.get('subprotocol') or '').encode('latin-1')]
            for name, value in message.get('headers') or ():
                parts.append(bytes(name))
                parts.append(bytes(value))
            self.t.write(frame(b'A', b'\0'.join(parts)))
        elif kind == 'websocket.send':
            if not self.started or self.done:
                raise RuntimeError('websocket.send before websocket.accept or after websocket.close')
            text = message.get('text')
            self.t.write(frame(b'T', text.encode('utf-8')) if text is not None else frame(b'B', bytes(message.get('bytes') or b'')))
            if self.paused:
                await self.wait_drain()
        elif kind == 'websocket.close':
            if self.done:
                raise RuntimeError('websocket.close sent twice')
            self.done = True
            reason = (message.get('reason') or '').encode('utf-8')
            self.t.write(frame(b'C', CODE.pack(message.get('code') or 1000) + reason))
        else:
            raise RuntimeError('unexpected ASGI message %r in a websocket scope' % kind)

    async def wait_drain(self):
        if self.paused and not self.gone:
            self.drain = self.w.loop.create_future()
            await self.drain

    async def run(self, scope):
        try:
            await self.w.app(scope, self.receive, self.send)
            self.finish()
        except BaseException as e:
            self.error(traceback.format_exc())
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
        finally:
            if not self.t.is_closing():
                self.close_after_body()
            self.w.finished(self)

    def close_after_body(self):
        """close_after_body closes the connection, once gatekit has sent the whole request body:
        closing on a body still coming would fail gatekit's writes (EPIPE) before it has read
        the response, so an app that answers without reading the body drops the rest first."""
        if self.ws or self.body_end or self.gone:
            self.t.close()
            return
        self.discard = True
        self.queue.clear()
        self.queued = 0
        if not self.reading:
            self.reading = True
            self.t.resume_reading()

    def finish(self):
        """finish checks that the app answered: an HTTP response completed, a WebSocket closed."""
        if self.ws:
            if not self.started and not self.done:
                self.error('the ASGI application returned without accepting or closing the WebSocket')
            elif not self.done and not self.gone:
                self.done = True
                self.t.write(frame(b'C', CODE.pack(1000)))
        elif not self.done:
            self.error('the ASGI application returned without %s the response' % ('completing' if self.started else 'starting'))

    def error(self, text):
        if self.gone or self.done:  # nobody to answer (any more): the traceback goes to the error log directly
            sys.stderr.write('gatekit-asgi: exception in the ASGI application%s:\n%s' % (' after its response' if self.done else '', text))
            sys.stderr.flush()
            return
        self.t.write(frame(b'X', text.encode('utf-8', 'replace')))


def frame(kind, payload):
    return HEAD.pack(kind, len(payload)) + payload


def data_frames(kind, data):
    if len(data) <= MAX_FRAME:
        return (HEAD.pack(kind, len(data)), data)
    out = []
    for i in range(0, len(data), MAX_FRAME):
        piece = data[i:i + MAX_FRAME]
        out.append(HEAD.pack(kind, len(piece)))
        out.append(piece)
    return out


def status_head(message):
    status = message['status']
    parts = [b'%d' % status]
    for name, value in message.get('headers') or ():
        name, value = bytes(name), bytes(value)
        if name.lower() in HOP_BY_HOP:
            continue
        parts.append(name)
        parts.append(value)
    payload = b'\0'.join(parts)
    if payload.count(b'\0') != len(parts) - 1 or not 100 <= status <= 999:
        raise ValueError('bad status or a NUL byte in a header: %r' % (message,))
    return frame(b'S', payload)


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


class Worker(object):
    """Worker serves connections from the pool's shared socket on one asyncio event loop."""

    def __init__(self, run_dir, app, spec, max_requests, drain_ms):
        self.run_dir = run_dir
        self.app = app
        self.spec = spec
        self.max_requests = max_requests
        self.drain = drain_ms / 1000.0
        self.served = 0
        self.conns = set()
        self.state = {}
        self.loop = None
        self.stopping = None
        self.failure = None

    def scope(self, payload):
        (kind, version, method, scheme, path, raw_path, query, root, client, cport, server, sport, headers, subprotocols) = json.loads(payload)
        h = [(headers[i].encode('latin-1'), headers[i + 1].encode('latin-1')) for i in range(0, len(headers), 2)]
        scope = {
            'type': kind, 'asgi': {'version': '3.0', 'spec_version': '2.3'}, 'http_version': version,
            'scheme': scheme, 'path': path, 'raw_path': raw_path.encode('latin-1'), 'query_string': query.encode('latin-1'),
            'root_path': root, 'headers': h, 'client': (client, cport), 'server': (server, sport), 'state': self.state.copy(),
        }
        if kind == 'websocket':
            scope['subprotocols'] = subprotocols
        else:
            scope['method'] = method
        return scope

    def finished(self, conn):
        self.conns.discard(conn)
        self.served += 1
        if self.max_requests and self.served >= self.max_requests:
            self.stop()

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
        listener, link = join_pool(self.run_dir)
        listener.setblocking(False)
        server = await self.loop.create_unix_server(lambda: Conn(self), sock=listener, backlog=4096)
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(sig, self.stop)
        link.setblocking(False)
        self.loop.add_reader(link.fileno(), self.keeper_gone, link)
        if self.drain > 0:
            LoopWatch(self.loop, self.drain).start()
        await self.stopping
        server.close()
        self.loop.remove_reader(link.fileno())
        link.close()  # the keeper counts this worker out: a new incarnation takes its place
        await self.wait_idle()
        if failed is None:
            why = await lifespan.step('shutdown')
            if why:
                sys.stderr.write('gatekit-asgi: lifespan shutdown failed: %s\n' % why)

    def keeper_gone(self, link):
        try:
            if link.recv(64):
                return
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self.stop()

    async def wait_idle(self):
        until = self.loop.time() + self.drain
        while self.conns and self.loop.time() < until:
            await asyncio.sleep(0.02)


def worker(run_dir, spec, max_requests, drain_ms):
    app = load_or_fail(run_dir, spec, 'gatekit-asgi')
    w = Worker(run_dir, app, spec, int(max_requests), int(drain_ms))
    asyncio.run(w.main())
    if w.failure:
        fail(run_dir, 'gatekit-asgi: the lifespan startup of %s failed: %s' % (spec, w.failure), fatal='lifespan startup failed: %s' % w.failure)
