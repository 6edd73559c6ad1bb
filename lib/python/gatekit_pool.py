"""gatekit_pool: the Python side of gatekit's application pools (stdlib only, Python 3.8+).

Shared by the plugins that serve Python applications (wsgi, asgi). Two roles, each a process
supervised by gatekit's master (lib/pool/pool.ts):

  keeper DIR    keeps the list of ready workers and their sockets, and tells watchers
                (gatekit's Node workers) about it, and whether the workers fail to load the
                application; it owns the pool's folder (removed when gatekit is gone).
  worker DIR MODULE ARGS...
                loads the plugin's Python file MODULE (e.g. gatekit_wsgi.py) and calls its
                worker(DIR, *ARGS), which loads the application (load_app), listens on its own
                socket (listen_links), tells the keeper (announce) and serves the links.

Keeper control protocol (DIR/keeper.sock), one line per message:
  ready PID SOCKET   a worker loaded its app and listens on DIR/SOCKET; it counts as ready while
                     this connection stays open (the keeper removes DIR/SOCKET once it closes)
  failed             a worker failed to load its app (the pool is "failing" until one is ready)
  watch              a watcher (a gatekit Node worker): gets the status now and on every change,
                     one JSON line: {"workers": [[PID, SOCKET], ...], "failing": false}

Links (DIR/w-PID.sock, one per worker): each gatekit Node worker keeps one connection, a link, to
every ready worker, and multiplexes its requests over it as streams. A frame is 1 byte kind,
4 bytes stream id, 4 bytes payload length (big-endian), then the payload. Stream 0 is the link:
  h HELLO   worker -> gatekit, first on every link: pid, capacity, running, flags (4 bytes
            each), then with flag 2 (ACK_FILE) the name of the link's ack file: the worker
            takes up to `capacity` streams of the link at once and runs up to `running` of
            them (0: no limit), the others wait their turn in the worker (prefetched)
  g GOAWAY  worker -> gatekit: the worker stops (SIGTERM, max_requests); gatekit sends no new
            stream, finishes those in flight, then closes the link
  i PING    gatekit -> worker: are you there? (after a request timed out on a silent link)
  o PONG    worker -> gatekit: the answer; until a frame comes, gatekit sends the link nothing new
On a stream, both ways: p PAUSE / r RESUME (stop, restart sending this stream's bytes: flow
control per stream, the link itself is always read); gatekit -> worker: a ABORT (the client
left), c RECALL (give back this prefetched stream if it has not started); worker -> gatekit:
b BACK (the stream did not start and never will here: gatekit sends it elsewhere; an answer
to RECALL, or sent by a stopping worker). The plugins define the other kinds
(lib/pool/exchange.ts, gatekit_wsgi.py, gatekit_asgi.py).

A worker that reads many heads before any of them starts (asgi) acknowledges them in the
link's ack file (AckFile, HELLO flag 2): the highest stream id whose head it has read, stored
before any of those streams can start. When the worker dies, gatekit reads it and sends the
streams it never read to another worker.

Both roles end when gatekit does, however it ended (kill -9 included): gatekit's supervisor
gives each a pipe as stdin that it never writes to, and that reads end-of-file once gatekit's
process is gone (watch_parent). The keeper then removes the pool's folder; a worker stops as
on SIGTERM, and is ended ORPHAN_GRACE seconds later if it has not.
"""

import hashlib
import importlib
import importlib.util
import json
import mmap
import os
import select
import shutil
import signal
import socket
import stat
import struct
import sys
import threading
import time
import traceback

# ---------------------------------------------------------------- links

LINK_HEAD = struct.Struct('>BII')  # kind, stream id, payload length
U32 = struct.Struct('>I')
HELLO, GOAWAY, PAUSE, RESUME, ABORT, RECALL, BACK = 0x68, 0x67, 0x70, 0x72, 0x61, 0x63, 0x62  # h g p r a c b
PING, PONG = 0x69, 0x6f  # i o
ACK_FILE = 2  # HELLO flag: the worker acknowledges the heads it read in the link's ack file (AckFile)
MAX_LINK_FRAME = 1 << 24  # the largest frame either side accepts (bigger data is cut in pieces)


def link_frame(kind, sid, payload=b''):
    """link_frame encodes one frame of a link (kind is an int)."""
    return LINK_HEAD.pack(kind, sid, len(payload)) + payload


class HeadCache(object):
    """HeadCache remembers the response heads an app repeats, checked and encoded by `encode(status,
    headers)`, keyed on (status, headers as a tuple): a repeating start skips the checks and the
    encoding. A head is remembered only once it passed; headers that cannot be a key (pairs given
    as lists) are checked every time. Full, it empties: heads that vary (a cookie, a date) must
    not crowd out those that repeat."""

    def __init__(self, encode, most=256):
        self.encode = encode
        self.most = most
        self.heads = {}

    def head(self, status, headers):
        key = None
        try:
            key = (status, tuple(headers))
            head = self.heads.get(key)
        except TypeError:
            return self.encode(status, headers if key is None else key[1])
        if head is None:
            head = self.encode(status, key[1])
            if len(self.heads) >= self.most:
                self.heads.clear()
            self.heads[key] = head
        return head


def hello(capacity, running, flags=0, ack_file=None):
    """hello is the HELLO frame a worker sends first on every link; with an AckFile, its name follows (flag ACK_FILE)."""
    if ack_file is not None:
        return link_frame(HELLO, 0, struct.pack('>IIII', os.getpid(), capacity, running, flags | ACK_FILE) + ack_file.name.encode())
    return link_frame(HELLO, 0, struct.pack('>IIII', os.getpid(), capacity, running, flags))


class AckFile(object):
    """AckFile is where a worker acknowledges the heads it read on one link: a 4-byte file in the
    pool's folder, mapped in memory, holding the highest stream id read. Storing it costs no
    system call and wakes nobody, unlike a frame; it outlives the process, so gatekit reads
    it once the link closes. `open` returns None when the file cannot be made (gatekit then
    counts every stream of the link as read: lost, never sent twice)."""

    made = 0

    def __init__(self, path, area):
        self.path = path
        self.name = os.path.basename(path)
        self.area = area

    @classmethod
    def open(cls, run_dir):
        cls.made += 1
        path = os.path.join(run_dir, 'ack-%d-%d' % (os.getpid(), cls.made))
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.ftruncate(fd, 4)
                return cls(path, mmap.mmap(fd, 4))
            finally:
                os.close(fd)
        except OSError:
            return None

    def ack(self, sid):
        """ack stores `sid` as the highest stream id read; the caller starts those streams after it."""
        U32.pack_into(self.area, 0, sid)

    def close(self):
        """close removes the file (the link closed normally: gatekit holds it open if it still needs it)."""
        try:
            os.unlink(self.path)
        except OSError:
            pass
        self.area.close()


# ---------------------------------------------------------------- parent watch

ORPHAN_GRACE = 10


def watch_parent(on_gone):
    """watch_parent calls on_gone, from a thread of its own, once gatekit is gone: the pipe that
    gatekit's supervisor gave as stdin reads end-of-file then. The pipe moves off fd 0 (which
    becomes /dev/null), so that application code cannot read it away. Without a pipe on stdin
    (started by hand), nothing is watched."""
    try:
        mode = os.fstat(0).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):  # libuv makes its pipes from socketpairs
            return
    except OSError:
        return
    fd = os.dup(0)  # not inherited by anything the application starts
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)

    def watch():
        try:
            while os.read(fd, 4096):
                pass
        except OSError:
            pass
        on_gone()
    threading.Thread(target=watch, name='gatekit-parent-watch', daemon=True).start()


def orphaned_worker():
    """orphaned_worker stops this worker as SIGTERM does (an ASGI app gets its lifespan shutdown),
    and ends it after ORPHAN_GRACE seconds if the application holds it up."""
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(ORPHAN_GRACE)
    os._exit(70)


# ---------------------------------------------------------------- keeper

def keeper(run_dir):
    """keeper keeps the pool's list of ready workers and tells watchers; it never runs application
    code. It removes the pool's folder and exits when gatekit is gone, and the generation's run
    folder that holds it once that is empty (a master killed with -9 removes nothing)."""
    def orphaned():
        shutil.rmtree(run_dir, ignore_errors=True)
        try:
            os.rmdir(os.path.dirname(run_dir))
        except OSError:
            pass  # another pool's folder is still there: its keeper removes it
        os._exit(0)
    watch_parent(orphaned)
    ctl_path = os.path.join(run_dir, 'keeper.sock')
    if os.path.exists(ctl_path):
        os.unlink(ctl_path)
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ctl.bind(ctl_path + '.tmp')
    ctl.listen(256)
    os.rename(ctl_path + '.tmp', ctl_path)  # the control socket appears only once it listens
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    Keeper(run_dir, ctl).serve()


class Keeper(object):
    """Keeper is the keeper's state: connections, ready workers (connection -> (pid, socket name)),
    watchers, and whether the application fails to load."""

    def __init__(self, run_dir, ctl):
        self.run_dir = run_dir
        self.ctl = ctl
        self.conns = {}  # socket -> bytes received, not yet a whole line
        self.workers = {}
        self.watchers = set()
        self.failing = False

    def serve(self):
        while True:
            ready, _, _ = select.select([self.ctl] + list(self.conns), [], [])
            for s in ready:
                if s is self.ctl:
                    c, _ = self.ctl.accept()
                    self.conns[c] = b''
                    continue
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b''
                if not data:
                    self.drop(s)
                    continue
                lines = (self.conns[s] + data).split(b'\n')
                self.conns[s] = lines.pop()
                for line in lines:
                    self.command(s, line.decode('ascii', 'replace').split())

    def command(self, s, words):
        if words[:1] == ['ready'] and len(words) == 3:
            self.ready(s, (int(words[1]), os.path.basename(words[2])))
        elif words == ['failed']:
            self.failing = True
            self.publish()
        elif words == ['watch']:
            self.watchers.add(s)
            self.send(s, self.status())

    def ready(self, s, worker):
        self.workers[s] = worker
        self.failing = False
        self.publish()

    def drop(self, s):
        self.conns.pop(s, None)
        self.watchers.discard(s)
        worker = self.workers.pop(s, None)
        s.close()
        if worker is not None:
            try:  # the worker is gone: nobody can connect to its socket any more
                os.unlink(os.path.join(self.run_dir, worker[1]))
            except OSError:
                pass
            self.publish()

    def status(self):
        workers = sorted(self.workers.values())
        return (json.dumps({'workers': [list(w) for w in workers], 'failing': self.failing}) + '\n').encode()

    def publish(self):
        msg = self.status()
        for w in list(self.watchers):
            self.send(w, msg)

    def send(self, w, msg):
        try:
            w.sendall(msg)
        except OSError:
            self.drop(w)


# ---------------------------------------------------------------- worker helpers

def load_app(spec):
    """load_app imports MODULE:CALLABLE (the callable may be dotted; default 'application')."""
    module_name, _, attr = spec.partition(':')
    obj = importlib.import_module(module_name)
    for part in (attr or 'application').split('.'):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError('%s is not callable' % spec)
    return obj


def connect_keeper(run_dir, line):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.path.join(run_dir, 'keeper.sock'))
    s.sendall(line)
    return s


def load_or_fail(run_dir, spec, label):
    """load_or_fail loads the application, or logs why it cannot (see load_failure), tells the
    keeper, and exits 3: gatekit's supervisor starts the worker again, with backoff."""
    sys.path.insert(0, os.getcwd())
    try:
        return load_app(spec)
    except BaseException as e:
        fail(run_dir, load_failure(run_dir, spec, label, e, traceback.format_exc()))


def load_failure(run_dir, spec, label, exc, text):
    """load_failure is what a worker logs when the application cannot be loaded: the traceback
    the first time the pool meets it (a marker file in the pool's folder, named after the
    traceback, remembers it for every worker and retry), then one line per retry. Each names
    the interpreter; an ImportError points at the plugin's `python` option (the usual cause
    is a virtualenv's interpreter not given)."""
    summary = traceback.format_exception_only(type(exc), exc)[-1].strip()
    line = '%s: cannot load the application %s with %s (%s)' % (label, spec, sys.executable, summary)
    if isinstance(exc, ImportError):
        line += "; is it installed for this interpreter? If it lives in a virtualenv, set the %s 'python' option to its interpreter " \
                '(python ./.venv/bin/python)' % label.replace('gatekit-', '')
    mark = os.path.join(run_dir, 'load-error-' + hashlib.sha256(text.encode('utf-8', 'replace')).hexdigest()[:16])
    try:
        os.close(os.open(mark, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return line + '; retrying with backoff (traceback logged once)'
    except OSError:
        pass
    return '%s: cannot load the application %s:\n%s%s; retrying with backoff' % (label, spec, text, line)


def fail(run_dir, text, fatal=None):
    """fail logs `text`, reports the failure to the keeper and exits 3. With `fatal` (a one-line
    message), the failure is a boot failure: gatekit's master stops the pool and refuses to start."""
    sys.stderr.write(text if text.endswith('\n') else text + '\n')
    sys.stderr.flush()
    if fatal is not None:
        try:
            with open(os.path.join(run_dir, 'fatal'), 'w') as f:
                f.write(fatal)
        except OSError:
            pass
    try:
        connect_keeper(run_dir, b'failed\n').close()
    except OSError:
        pass
    sys.exit(3)


def listen_links(run_dir):
    """listen_links binds this worker's own socket for links, DIR/w-PID.sock; returns (listener, path)."""
    path = os.path.join(run_dir, 'w-%d.sock' % os.getpid())
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1024)
    return listener, path


def announce(run_dir, path):
    """announce tells the keeper this worker is ready on `path`; the worker counts as ready while
    the returned connection stays open, which reads EOF when the keeper goes away."""
    return connect_keeper(run_dir, ('ready %d %s\n' % (os.getpid(), os.path.basename(path))).encode())


def main(argv):
    if len(argv) >= 2 and argv[0] == 'keeper':
        return keeper(argv[1])
    if len(argv) >= 3 and argv[0] == 'worker':
        watch_parent(orphaned_worker)
        sys.modules.setdefault('gatekit_pool', sys.modules[__name__])
        path = argv[2]
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module.worker(argv[1], *argv[3:])
    sys.stderr.write('usage: gatekit_pool.py keeper DIR | worker DIR MODULE.py ARGS...\n')
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
