#!/bin/sh
printf "Status: 418 I'm a teapot\nContent-Type: text/plain\nX-Script: status\nSet-Cookie: a=1\nSet-Cookie: b=2\nConnection: keep-alive\n\nshort and stout\n"
