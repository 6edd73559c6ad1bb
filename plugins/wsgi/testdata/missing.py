"""An application whose dependency is not installed for the interpreter that runs it (a venv's python forgotten)."""
import gatekit_test_no_such_module  # noqa: F401


def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'never\n']
