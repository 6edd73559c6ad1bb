#!/bin/sh
# Names its parent process: the spawn helper, or the gatekit worker when it forks.
printf 'Content-Type: text/plain\n\nppid=%s\n' "$PPID"
