#!/bin/sh
printf 'Location: https://example.com/elsewhere?x=1\n\n'
