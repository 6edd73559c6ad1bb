#!/bin/sh
# Sends its answer in two parts, half a second apart.
printf 'Content-Type: text/plain\n\nline1\n'
sleep 0.5
printf 'line2\n'
