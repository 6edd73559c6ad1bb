#!/bin/sh
# Answers the first line of the body before reading the rest: proves stdin is streamed.
IFS= read -r first
printf 'Content-Type: text/plain\n\nfirst=%s\n' "$first"
rest=$(cat)
printf 'rest=%s\n' "$rest"
