"""An application that cannot be imported."""
raise ImportError('this app is broken on purpose')
