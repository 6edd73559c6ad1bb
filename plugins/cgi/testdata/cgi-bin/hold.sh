#!/bin/sh
# Holds its process slot until the client finishes the request body.
echo "pid $$" >&2
cat > /dev/null
printf 'Content-Type: text/plain\n\nreleased\n'
