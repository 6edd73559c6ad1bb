"""gatekit_spawner: starts CGI scripts for one gatekit worker, with posix_spawn.

Node can only fork(2) its own, large process to start a child, and fork's cost grows with
the memory of the process that forks. posix_spawn from this small process costs about half
as much and does not block the worker. Stdlib only; run as

    python3 -I -S gatekit_spawner.py SOCKET_PATH WORKER_PID

It listens on SOCKET_PATH (inside a folder only gatekit's user can enter) and accepts
connections from WORKER_PID only (its parent, or its grandparent when python3 is a
wrapper). Both ways, messages are the plain frames of gatekit (lib/pool/plain-frames.ts): 1
byte of kind, a 4-byte big-endian payload length, then the payload.

Each connection starts with one frame:
- A {"id": N, "argv": [...], "env": {...}, "cwd": DIR, "stdin": BOOL} asks for a script. The
  connection becomes the script's stdout. stdin is /dev/null, or, when "stdin" is true,
  a second connection that starts with I {"id": N} (the two may arrive in either order).
- The script's stderr comes back here through a pipe.

What happens is told on this process's stdout, in frames whose payload starts with two
big-endian 32-bit numbers, a and b:

    S id pid        the script started
    F id errno      it could not start; the rest of the payload says why
    X pid code      it ended: its exit code, or minus the signal that killed it
    E pid 0         a piece of its stderr; nothing after a and b is the end of it

It exits when its stdin (a pipe from gatekit) closes, which happens too when gatekit's worker
dies, however it died: it then kills the process groups of the scripts still running (nobody
reads their output any more), and removes its socket and folder.
"""

import errno
import json
import os
import selectors
import signal
import socket
import struct
import sys
import traceback

HEADER = struct.Struct('>cI')
NUMBERS = struct.Struct('>Ii')
MAX_FRAME = 16 << 20
UCRED = struct.Struct('3i')
# signals this process ignores or catches that a script must get at their defaults
DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD, signal.SIGINT)

out = sys.stdout.buffer


def tell(kind, a, b, payload=b''):
    out.write(HEADER.pack(kind, NUMBERS.size + len(payload)) + NUMBERS.pack(a, b) + payload)
    out.flush()


class Incoming:
    """Incoming is an accepted connection whose frame is still being read."""

    def __init__(self, conn):
        self.conn = conn
        self.buf = b''
        self.need = HEADER.size
        self.kind = None

    def read(self):
        """read takes what has arrived (never past the frame); returns (kind, JSON payload)
        once whole, or None. Raises EOFError when the connection closes first."""
        data = self.conn.recv(self.need - len(self.buf))
        if not data:
            raise EOFError
        self.buf += data
        if len(self.buf) < self.need:
            return None
        if self.kind is None:
            self.kind, n = HEADER.unpack(self.buf)
            if n > MAX_FRAME:
                raise ValueError('frame too large')
            self.buf, self.need = b'', n
            return None if n else (self.kind, {})
        return self.kind, json.loads(self.buf)


class Spawner:
    def __init__(self, path, worker):
        self.worker = worker
        self.sel = selectors.DefaultSelector()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(512)
        self.listener.setblocking(False)
        self.sel.register(self.listener, selectors.EVENT_READ, self.accept)
        self.wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.sel.register(self.wake_r, selectors.EVENT_READ, self.reap)
        self.sel.register(sys.stdin.fileno(), selectors.EVENT_READ, self.parent_input)
        self.asks = {}    # id -> (socket, request) waiting for its stdin connection
        self.inputs = {}  # id -> socket that arrived before its request
        self.scripts = set()  # pids of the scripts started and not yet reaped
        self.running = True

    def serve(self):
        tell(b'R', os.getpid(), 0)
        while self.running:
            for key, _ in self.sel.select():
                try:
                    key.data(key.fileobj)
                except Exception:
                    traceback.print_exc()

    def parent_input(self, fd):
        if not os.read(fd, 4096):
            self.running = False

    def accept(self, listener):
        while True:
            try:
                conn, _ = listener.accept()
            except BlockingIOError:
                return
            pid, _, _ = UCRED.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, UCRED.size))
            if pid != self.worker:
                sys.stderr.write('refused a connection from pid %d: only pid %d may ask\n' % (pid, self.worker))
                sys.stderr.flush()
                conn.close()
                continue
            conn.setblocking(False)
            self.sel.register(conn, selectors.EVENT_READ, self.reader(Incoming(conn)))

    def reader(self, incoming):
        def on_readable(conn):
            try:
                frame = incoming.read()
            except (EOFError, OSError, ValueError):
                self.drop(conn)
                return
            if frame is not None:
                self.sel.unregister(conn)
                self.route(conn, *frame)
        return on_readable

    def route(self, conn, kind, frame):
        if kind == b'I':
            n = frame['id']
            ask = self.asks.pop(n, None)
            if ask:
                self.sel.unregister(ask[0])
                self.spawn(ask[0], ask[1], conn)
            else:
                self.park(conn, n, self.inputs)
        elif kind != b'A':
            self.drop(conn)
        elif frame.get('stdin'):
            n = frame['id']
            stdin = self.inputs.pop(n, None)
            if stdin:
                self.sel.unregister(stdin)
                self.spawn(conn, frame, stdin)
            else:
                self.park(conn, n, self.asks, frame)
        else:
            self.spawn(conn, frame, None)

    def park(self, conn, n, table, frame=None):
        """park keeps one half of a pair until the other arrives; it goes if gatekit closes it."""
        table[n] = (conn, frame) if frame is not None else conn

        def gone(_):
            table.pop(n, None)
            self.drop(conn)
        self.sel.register(conn, selectors.EVENT_READ, gone)

    def drop(self, conn):
        try:
            self.sel.unregister(conn)
        except (KeyError, ValueError):
            pass
        conn.close()

    def spawn(self, conn, ask, stdin):
        n = ask['id']
        # O_NONBLOCK belongs to the open socket, which the script shares: it must block
        conn.setblocking(True)
        if stdin is not None:
            stdin.setblocking(True)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        actions = [(os.POSIX_SPAWN_DUP2, conn.fileno(), 1), (os.POSIX_SPAWN_DUP2, err_w, 2)]
        if stdin is None:
            actions.insert(0, (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0))
        else:
            actions.insert(0, (os.POSIX_SPAWN_DUP2, stdin.fileno(), 0))
        try:
            os.chdir(ask['cwd'])
            argv = ask['argv']
            try:
                pid = os.posix_spawn(argv[0], argv, ask['env'], file_actions=actions, setsid=True, setsigdef=DEFAULT_SIGNALS)
            except OSError as e:
                if e.errno != errno.ENOEXEC:
                    raise
                # no #! line: run it with the shell, as execvp (and so the fork path) does
                argv = ['/bin/sh'] + argv
                pid = os.posix_spawn(argv[0], argv, ask['env'], file_actions=actions, setsid=True, setsigdef=DEFAULT_SIGNALS)
        except (OSError, TypeError, ValueError, KeyError) as e:
            os.close(err_r)
            tell(b'F', n, getattr(e, 'errno', 0) or 0, (getattr(e, 'strerror', None) or str(e)).encode())
        else:
            self.scripts.add(pid)
            tell(b'S', n, pid)
            os.set_blocking(err_r, False)
            self.sel.register(err_r, selectors.EVENT_READ, self.stderr_reader(pid))
        finally:
            os.close(err_w)
            conn.close()
            if stdin is not None:
                stdin.close()

    def stderr_reader(self, pid):
        def on_readable(fd):
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                return
            tell(b'E', pid, 0, data)
            if not data:
                self.sel.unregister(fd)
                os.close(fd)
        return on_readable

    def reap(self, fd):
        try:
            while os.read(fd, 512):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.scripts.discard(pid)
            tell(b'X', pid, os.waitstatus_to_exitcode(status))

    def kill_scripts(self):
        """kill_scripts ends the process group of every script still running (each leads its own)."""
        for pid in self.scripts:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass


def main(path, worker):
    spawner = None
    try:
        spawner = Spawner(path, worker)
        spawner.serve()
    finally:
        if spawner is not None:
            spawner.kill_scripts()
        # gatekit removes the folder too, unless it was killed first
        for remove in (lambda: os.unlink(path), lambda: os.rmdir(os.path.dirname(path))):
            try:
                remove()
            except OSError:
                pass


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]))
