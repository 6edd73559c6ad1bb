"""An application that cannot be imported."""
raise ImportError('this asgi app is broken on purpose')
