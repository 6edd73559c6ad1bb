#!/bin/sh
# Answers without reading the request body.
printf 'Content-Type: text/plain\n\nnot reading that\n'
