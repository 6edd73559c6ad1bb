"""Stdlib-only ASGI test applications for gatekit's asgi plugin."""
import asyncio
import contextvars
import json
import os
import time
import sys


async def read_body(receive):
    body, chunks = b'', 0
    while True:
        msg = await receive()
        if msg['type'] == 'http.disconnect':
            raise ConnectionError('client went away')
        body += msg.get('body', b'')
        chunks += 1
        if not msg.get('more_body'):
            return body, chunks


async def answer(send, status, body, ctype=b'text/plain'):
    await send({'type': 'http.response.start', 'status': status, 'headers': [(b'content-type', ctype), (b'content-length', b'%d' % len(body))]})
    await send({'type': 'http.response.body', 'body': body})


def jsonable(scope):
    out = {}
    for k, v in scope.items():
        if isinstance(v, bytes):
            v = v.decode('latin-1')
        elif k == 'headers':
            v = [[n.decode('latin-1'), x.decode('latin-1')] for n, x in v]
        elif k == 'state':
            v = {a: b for a, b in v.items() if isinstance(b, (str, int))}
        out[k] = v
    return out


REQUEST_TAG = contextvars.ContextVar('request_tag', default='unset')


async def eager(scope, receive, send, path, qs):
    """eager answers the paths that check how an app's first step runs (gatekit starts it at once)."""
    if path == '/ctx':  # what this request sees of a ContextVar that every request sets
        seen = REQUEST_TAG.get()
        REQUEST_TAG.set(qs)
        if 'wait' in qs:
            await asyncio.sleep(0.05)
        return await answer(send, 200, ('%s %s' % (seen, REQUEST_TAG.get())).encode())
    if path == '/task':  # the current task, before and after a wait, and in asyncio.timeout
        first = asyncio.current_task()
        if hasattr(asyncio, 'timeout'):  # Python 3.11+: it needs a current task
            async with asyncio.timeout(5):
                await asyncio.sleep(0)
        else:
            await asyncio.sleep(0)
        same = first is asyncio.current_task() and first is not None
        return await answer(send, 200, b'one task' if same else b'tasks differ: %r' % first)
    if path == '/yield-none':  # a bare yield (asyncio.sleep(0)) in the first step
        await asyncio.sleep(0)
        return await answer(send, 200, b'after sleep(0)')
    if path == '/cancel-self':  # the task cancels itself in its first step: the app sees CancelledError at its next wait
        asyncio.current_task().cancel()
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            return await answer(send, 200, b'cancelled')
        return await answer(send, 200, b'not cancelled')
    if path == '/cancel-later':  # the task is cancelled while it waits, after its first step
        asyncio.get_running_loop().call_later(0.05, asyncio.current_task().cancel)
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return await answer(send, 200, b'cancelled while waiting')
        return await answer(send, 200, b'not cancelled')
    if path == '/boom-after-wait':
        await asyncio.sleep(0.01)
        raise ValueError('boom after a wait')
    if path == '/exit':  # SystemExit from the first step ends the worker, as from a Task
        print('exiting pid %d' % os.getpid(), flush=True)
        raise SystemExit(0)
    return await answer(send, 404, b'not found\n')


async def lifespan(scope, receive, send):
    while True:
        msg = await receive()
        if msg['type'] == 'lifespan.startup':
            scope['state']['greeting'] = 'hello from lifespan'
            scope['state']['pid'] = os.getpid()
            print('lifespan startup in pid %d' % os.getpid(), flush=True)
            await send({'type': 'lifespan.startup.complete'})
        elif msg['type'] == 'lifespan.shutdown':
            print('lifespan shutdown in pid %d' % os.getpid(), flush=True)
            await send({'type': 'lifespan.shutdown.complete'})
            return


async def http(scope, receive, send):
    path = scope['path'][len(scope['root_path']):] or '/'
    qs = scope['query_string'].decode()
    if path == '/':
        return await answer(send, 200, b'hello from asgi\n')
    if path.startswith('/eager/'):
        return await eager(scope, receive, send, path[6:], qs)
    if path == '/scope':
        return await answer(send, 200, json.dumps(jsonable(scope)).encode(), b'application/json')
    if path == '/pid':
        return await answer(send, 200, str(os.getpid()).encode())
    if path == '/state':
        return await answer(send, 200, json.dumps({'greeting': scope['state'].get('greeting'), 'pid': scope['state'].get('pid')}).encode())
    if path == '/echo':
        body, chunks = await read_body(receive)
        await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'x-chunks', str(chunks).encode())]})
        await send({'type': 'http.response.body', 'body': body})
        return
    if path == '/stream':
        n = int(qs or '3')
        await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'text/plain')]})
        for i in range(n):
            await send({'type': 'http.response.body', 'body': b'chunk %d\n' % i, 'more_body': True})
            await asyncio.sleep(0.01)
        await send({'type': 'http.response.body', 'body': b'', 'more_body': False})
        return
    if path == '/big':  # N pieces of 64 KiB, as fast as the client takes them
        n = int(qs or '100')
        await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-length', b'%d' % (n * 65536))]})
        for i in range(n):
            await send({'type': 'http.response.body', 'body': bytes([97 + i % 26]) * 65536, 'more_body': True})
        await send({'type': 'http.response.body', 'body': b''})
        print('big sent %d' % n, flush=True)
        return
    if path == '/forever':
        await send({'type': 'http.response.start', 'status': 200, 'headers': []})
        await send({'type': 'http.response.body', 'body': b'started\n', 'more_body': True})
        msg = await receive()
        while msg['type'] != 'http.disconnect':
            msg = await receive()
        print('saw http.disconnect on %s' % qs, flush=True)
        return
    if path == '/slow':
        print('sleeping %s in pid %d' % (qs, os.getpid()), flush=True)
        await asyncio.sleep(float(qs or '1'))
        return await answer(send, 200, b'slept')
    if path == '/block':
        print('blocking the event loop for %s s in pid %d' % (qs, os.getpid()), flush=True)
        time.sleep(float(qs or '5'))  # a blocking call in async code: the loop stalls
        return await answer(send, 200, b'blocked')
    if path == '/boom':
        raise ValueError('boom on purpose')
    if path == '/boom-late':
        await send({'type': 'http.response.start', 'status': 200, 'headers': []})
        await send({'type': 'http.response.body', 'body': b'partial', 'more_body': True})
        raise ValueError('late boom on purpose')
    if path == '/silent':
        return
    if path == '/headers':
        await send({'type': 'http.response.start', 'status': 201, 'headers': [(b'set-cookie', b'a=1'), (b'set-cookie', b'b=2'), (b'x-app', b'yes')]})
        await send({'type': 'http.response.body', 'body': b'created'})
        return
    if path == '/bad-header':  # a NUL is refused by the worker (500), a name with a space by gatekit (502); lists pass
        headers = {b'nul': [(b'x-bad', b'a\0b')], b'name': [(b'bad name', b'x')], b'list': [[b'x-pair', b'as a list']]}[scope['query_string']]
        await send({'type': 'http.response.start', 'status': 200, 'headers': headers})
        await send({'type': 'http.response.body', 'body': b'should not be seen'})
        return
    return await answer(send, 404, b'not found\n')


async def websocket(scope, receive, send):
    path = scope['path'][len(scope['root_path']):]
    msg = await receive()
    assert msg['type'] == 'websocket.connect', msg
    if path == '/ws-deny':
        await send({'type': 'websocket.close', 'code': 1000})
        return
    if path == '/ws-boom':
        raise RuntimeError('websocket boom before accept')
    sub = scope['subprotocols'][-1] if scope['subprotocols'] else None
    await send({'type': 'websocket.accept', 'subprotocol': sub, 'headers': [(b'x-ws', b'yes')]})
    while True:
        msg = await receive()
        if msg['type'] == 'websocket.disconnect':
            print('websocket.disconnect code %s' % msg.get('code'), flush=True)
            return
        text = msg.get('text')
        if text == 'close':
            await send({'type': 'websocket.close', 'code': 4001, 'reason': 'bye'})
            return
        if text == 'boom':
            raise RuntimeError('websocket boom after accept')
        if text is not None and text.startswith('flood '):  # N binary messages of 64 KiB, as fast as the client takes them
            n = int(text.split()[1])
            for i in range(n):
                await send({'type': 'websocket.send', 'bytes': bytes([i % 256]) * 65536})
            print('flood sent %d' % n, flush=True)
            continue
        if text == 'scope':
            await send({'type': 'websocket.send', 'text': json.dumps(jsonable(scope))})
        elif text is not None:
            await send({'type': 'websocket.send', 'text': 'echo: ' + text})
        else:
            await send({'type': 'websocket.send', 'bytes': msg['bytes'][::-1]})


async def application(scope, receive, send):
    if scope['type'] == 'lifespan':
        return await lifespan(scope, receive, send)
    if scope['type'] == 'websocket':
        return await websocket(scope, receive, send)
    return await http(scope, receive, send)


async def no_lifespan(scope, receive, send):
    """An app that does not speak lifespan: it raises at once, as many do."""
    if scope['type'] != 'http':
        raise ValueError('only http, not %s' % scope['type'])
    await answer(send, 200, b'no lifespan here')


async def failing_startup(scope, receive, send):
    if scope['type'] == 'lifespan':
        await receive()
        await send({'type': 'lifespan.startup.failed', 'message': 'the database is not there'})
        return
    await answer(send, 200, b'never')
