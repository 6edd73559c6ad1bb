# A CGI script in Python (stdlib only). Not executable: `interpreter .py python3` runs it.
# GET shows a form; POST reads the form from stdin (CONTENT_LENGTH bytes) and answers
# with a redirect back to the form, as a well-behaved form handler does.
import html
import os
import sys
from urllib.parse import parse_qs, quote


def form(note):
    sys.stdout.write("Content-Type: text/html; charset=utf-8\r\n\r\n")
    sys.stdout.write(
        "<!doctype html><title>guestbook</title><h1>guestbook</h1>"
        "<p>%s</p>"
        '<form method="post"><input name="name" placeholder="name">'
        '<input name="message" placeholder="message"><button>sign</button></form>\n' % html.escape(note)
    )


def main():
    method = os.environ.get("REQUEST_METHOD", "GET")
    if method == "POST":
        length = int(os.environ.get("CONTENT_LENGTH") or 0)
        fields = parse_qs(sys.stdin.buffer.read(length).decode("utf-8", "replace"))
        name = fields.get("name", ["someone"])[0]
        sys.stderr.write("guestbook: signed by %s\n" % name)  # goes to gatekit's error log
        sys.stdout.write("Status: 303 See Other\r\n")
        sys.stdout.write("Location: %s?thanks=%s\r\n\r\n" % (os.environ["SCRIPT_NAME"], quote(name)))
        return
    query = parse_qs(os.environ.get("QUERY_STRING", ""))
    thanks = query.get("thanks", [""])[0]
    form("thank you, %s" % thanks if thanks else "sign the guestbook")


main()
