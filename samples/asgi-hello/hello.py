"""A stdlib-only ASGI 3.0 application: HTTP, a streamed response, a WebSocket echo, lifespan state."""
import asyncio
import time


async def application(scope, receive, send):
    if scope['type'] == 'lifespan':
        while True:
            msg = await receive()
            if msg['type'] == 'lifespan.startup':
                scope['state']['started'] = time.strftime('%H:%M:%S')
                await send({'type': 'lifespan.startup.complete'})
            elif msg['type'] == 'lifespan.shutdown':
                await send({'type': 'lifespan.shutdown.complete'})
                return
    if scope['type'] == 'websocket':
        await receive()  # websocket.connect
        await send({'type': 'websocket.accept'})
        while True:
            msg = await receive()
            if msg['type'] == 'websocket.disconnect':
                return
            await send({'type': 'websocket.send', 'text': 'echo: %s' % (msg.get('text') or msg.get('bytes', b'').decode('utf-8', 'replace'))})
    path = scope['path'][len(scope['root_path']):] or '/'
    if path == '/stream':
        await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'text/plain')]})
        for i in range(5):
            await send({'type': 'http.response.body', 'body': b'tick %d\n' % i, 'more_body': True})
            await asyncio.sleep(0.1)
        await send({'type': 'http.response.body', 'body': b''})
        return
    body = b'Hello, ASGI! (up since %s)\n' % scope['state'].get('started', '?').encode()
    await send({'type': 'http.response.start', 'status': 200,
                'headers': [(b'content-type', b'text/plain; charset=utf-8'), (b'content-length', b'%d' % len(body))]})
    await send({'type': 'http.response.body', 'body': body})
