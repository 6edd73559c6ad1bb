#!/bin/sh
printf 'Content-Type: text/plain\n\nhidden files must never run\n'
