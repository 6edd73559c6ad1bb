#!/bin/sh
# An nph- script writes the whole HTTP response itself.
printf 'HTTP/1.1 203 Raw Answer\r\nX-Nph: yes\r\nContent-Type: text/plain\r\n\r\nraw body, unparsed\n'
