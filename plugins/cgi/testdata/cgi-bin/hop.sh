#!/bin/sh
# A local redirect to /hop/N-1 while N (the query, n=N) is above 0: a chain of internal
# redirects that alternates with the test's `hop` handler.
n=${QUERY_STRING#n=}
if [ "$n" -gt 0 ]; then
  printf 'Location: /hop/%s\n\n' "$((n - 1))"
else
  printf 'Content-Type: text/plain\n\nlanded in cgi\n'
fi
