#!/bin/sh
echo "first complaint" >&2
echo "second complaint" >&2
printf 'Content-Type: text/plain\n\nok\n'
