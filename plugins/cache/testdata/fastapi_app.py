"""A FastAPI endpoint with a freshness lifetime, for the cache tests."""
import itertools

from fastapi import FastAPI, Response

app = FastAPI()
calls = itertools.count(1)


@app.get('/items/{item}')
def item(item: int, response: Response):
    response.headers['Cache-Control'] = 'public, max-age=60'
    return {'item': item, 'call': next(calls)}
