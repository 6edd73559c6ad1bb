"""A FastAPI application with a JSON API and a WebSocket endpoint, served by gatekit's asgi plugin."""
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel


@asynccontextmanager
async def lifespan(app):
    yield {'notes': []}  # lifespan state, shared into every request as request.state


app = FastAPI(title='gatekit sample', lifespan=lifespan)


class Note(BaseModel):
    text: str


@app.get('/')
async def index():
    return {'hello': 'fastapi', 'served_by': 'gatekit'}


@app.get('/items/{item_id}')
async def item(item_id: int, q: str | None = None):
    return {'item_id': item_id, 'q': q}


@app.post('/notes', status_code=201)
async def add_note(note: Note, request: Request):
    request.state.notes.append(note.text)
    return {'count': len(request.state.notes), 'text': note.text}


@app.websocket('/ws')
async def chat(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_json({'echo': text, 'length': len(text)})
    except WebSocketDisconnect:
        pass
