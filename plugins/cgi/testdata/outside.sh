#!/bin/sh
printf 'Content-Type: text/plain\n\noutside the cgi folder: must never run\n'
