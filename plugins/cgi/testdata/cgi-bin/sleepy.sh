#!/bin/sh
# Starts a grandchild, names it on stderr, then waits forever: the timeout must kill both.
sleep 300 &
echo "grandchild $!" >&2
wait
