#!/bin/sh
# A CGI script in plain shell: the header, a blank line, then the body.
name=$(printf '%s' "$QUERY_STRING" | sed -n 's/^.*name=\([^&]*\).*$/\1/p')
printf 'Content-Type: text/plain; charset=utf-8\r\n'
printf 'Cache-Control: no-store\r\n'
printf '\r\n'
printf 'Hello, %s!\n\n' "${name:-stranger}"
printf 'SCRIPT_NAME=%s\nPATH_INFO=%s\nQUERY_STRING=%s\nREQUEST_METHOD=%s\nSERVER_SOFTWARE=%s\nREMOTE_ADDR=%s\n' \
  "$SCRIPT_NAME" "$PATH_INFO" "$QUERY_STRING" "$REQUEST_METHOD" "$SERVER_SOFTWARE" "$REMOTE_ADDR"
