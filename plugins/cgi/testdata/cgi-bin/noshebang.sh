printf 'Content-Type: text/plain\n\nno shebang\n'
