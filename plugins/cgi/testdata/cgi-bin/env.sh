#!/bin/sh
# Prints the environment the script got, one NAME=VALUE a line.
printf 'Content-Type: text/plain\n\n'
env
