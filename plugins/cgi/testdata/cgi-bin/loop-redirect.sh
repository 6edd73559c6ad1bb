#!/bin/sh
printf 'Location: /cgi-bin/loop-redirect.sh\n\n'
