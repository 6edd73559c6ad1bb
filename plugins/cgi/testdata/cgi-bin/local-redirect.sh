#!/bin/sh
# A local redirect (RFC 3875 6.2.2): the server serves the path instead.
printf 'Location: /cgi-bin/env.sh/redirected?from=local\n\nthis body is discarded\n'
