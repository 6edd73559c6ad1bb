"""A small Flask application served by gatekit (wsgi app:app)."""
import os

from flask import Flask, Response, jsonify, redirect, request, stream_with_context, url_for

app = Flask(__name__)


@app.get('/')
def index():
    return f'<h1>Hello from Flask</h1><p>process {os.getpid()}; <a href="{url_for("info")}">info</a></p>'


@app.get('/info')
def info():
    return jsonify(script_root=request.script_root, path=request.path, url=request.url,
                   info_url=url_for('info'), user_agent=request.headers.get('User-Agent'))


@app.post('/echo')
def echo():
    if request.is_json:
        return jsonify(got=request.get_json())
    return jsonify(form=request.form.to_dict(), files={k: len(f.read()) for k, f in request.files.items()})


@app.get('/go')
def go():
    return redirect(url_for('info'))


@app.get('/count/<int:n>')
def count(n):
    def lines():
        for i in range(n):
            yield f'{i}\n'
    return Response(stream_with_context(lines()), mimetype='text/plain')


@app.get('/fail')
def fail():
    raise RuntimeError('flask view failed')
