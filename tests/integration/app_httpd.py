#!/usr/bin/env python3
"""HTTP/1.1 file server for the app_* tests (keep-alive, unlike
`python3 -m http.server`'s HTTP/1.0): app_httpd.py DIR ADDR PORT"""
import functools
import http.server
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass


def main():
    directory, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    handler = functools.partial(Handler, directory=directory)
    server = http.server.ThreadingHTTPServer((addr, port), handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
