"""The FastAPI app of the bench's `fastapi` scenario: one JSON endpoint whose answer is a pydantic model.

GET /items/{item_id}?q=... validates the path and query parameters, builds an Item (with nested
models) and lets FastAPI validate and serialise it through response_model, as a typical API
endpoint does. The answer is the same on every server and every request.
"""
from fastapi import FastAPI
from pydantic import BaseModel


class Price(BaseModel):
    amount: float
    currency: str


class Item(BaseModel):
    id: int
    name: str
    price: Price
    tags: list[str]
    in_stock: bool
    query: str | None = None


app = FastAPI(title='gatekit bench', docs_url=None, redoc_url=None, openapi_url=None)


@app.get('/items/{item_id}', response_model=Item)
async def read_item(item_id: int, q: str | None = None) -> Item:
    return Item(id=item_id, name='item %d' % item_id, price=Price(amount=item_id * 1.25, currency='EUR'),
                tags=['bench', 'json', 'pydantic'], in_stock=item_id % 2 == 0, query=q)
