# Not executable, no shebang: runs through `interpreter .py python3`.
import os
import sys

sys.stdout.write("Content-Type: text/plain\r\n\r\n")
sys.stdout.write("python says hi to %s\n" % os.environ.get("QUERY_STRING", ""))
