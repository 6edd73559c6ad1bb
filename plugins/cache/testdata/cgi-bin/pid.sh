#!/bin/sh
# Each run is a new process: a cached answer shows the pid of the run that made it.
printf 'Content-Type: text/plain\r\nCache-Control: max-age=60\r\n\r\npid %s\n' "$$"
