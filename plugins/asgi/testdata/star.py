"""A Starlette application (from the venv) for gatekit's asgi framework tests."""
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket


@asynccontextmanager
async def lifespan(app):
    print('starlette startup', flush=True)
    yield {'db': 'connected'}
    print('starlette shutdown', flush=True)


async def home(request: Request):
    return JSONResponse({'url': str(request.url_for('home')), 'root_path': request.scope['root_path'], 'db': request.state.db})


async def upload(request: Request):
    n = 0
    async for chunk in request.stream():
        n += len(chunk)
    return PlainTextResponse('got %d bytes' % n)


async def stream(request: Request):
    async def gen():
        for i in range(3):
            yield 'part %d\n' % i
    return StreamingResponse(gen(), media_type='text/plain')


async def boom(request: Request):
    raise KeyError('starlette boom')


async def ws(websocket: WebSocket):
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text.upper())


app = Starlette(lifespan=lifespan, routes=[
    Route('/', home, name='home'), Route('/upload', upload, methods=['POST']), Route('/stream', stream), Route('/boom', boom),
    WebSocketRoute('/ws', ws),
])
