"""The trivial ASGI app of the bench's `asgi` scenario: the same fixed answer from every server.

It answers lifespan as an app with start-up work would, so that no server has to guess.
"""

BODY = b'Hello, world!\n'
START = {'type': 'http.response.start', 'status': 200,
         'headers': [(b'content-type', b'text/plain; charset=utf-8'), (b'content-length', b'%d' % len(BODY))]}
END = {'type': 'http.response.body', 'body': BODY}


async def application(scope, receive, send):
    if scope['type'] == 'lifespan':
        while True:
            message = await receive()
            if message['type'] == 'lifespan.startup':
                await send({'type': 'lifespan.startup.complete'})
            elif message['type'] == 'lifespan.shutdown':
                await send({'type': 'lifespan.shutdown.complete'})
                return
    await send(START)
    await send(END)
