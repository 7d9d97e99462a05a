#!/usr/bin/env python3
"""A tiny in-memory S3 look-alike on 127.0.0.1 for the S3 backend's tests.

By default it behaves like the broken stores the backend must refuse: every
PUT answers 200 and If-None-Match is ignored. Options turn it into other
test doubles:

  --cond            honour If-None-Match: * (412 when the key exists)
  --fail N          answer 503 SlowDown to the first N requests
  --ambiguous N     apply the first N conditional PUTs, then answer 500
                    (a write that landed although the client saw an error)
  --fail-cond N     answer 500 to the first N conditional PUTs without
                    applying them
  --status CODE     answer CODE (with an S3 error body) to every request
  --delay MS        hold every request MS milliseconds before answering

Keys under .../_probe/ (the backend's create-if-absent probe) are exempt
from --fail, --ambiguous and --fail-cond. Signatures are not checked.
Prints the port on the first line of stdout, then serves until killed.
Usage: fake-s3-nocond.py [PORT] [options]
"""
import argparse
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CODES = {403: "AccessDenied", 404: "NoSuchKey", 412: "PreconditionFailed",
         429: "SlowDown", 500: "InternalError", 503: "SlowDown"}


class State:
    """Objects and failure counters, shared by the handler threads."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.objects = {}
        self.args = args
        self.fail = args.fail
        self.ambiguous = args.ambiguous
        self.fail_cond = args.fail_cond


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, *a):
        pass

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def error(self, status):
        code = CODES.get(status, "Error%d" % status)
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s"
                "</Code><Message>test</Message></Error>" % code).encode()
        self.reply(status, body, {"Content-Type": "application/xml"})

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self):
        st = self.state
        body = self.read_body() if self.command == "PUT" else b""
        path = self.path.split("?", 1)[0]
        exempt = "/_probe/" in path
        if st.args.delay:
            time.sleep(st.args.delay / 1000.0)
        if st.args.status:
            return self.error(st.args.status)
        with st.lock:
            if not exempt and st.fail > 0:
                st.fail -= 1
                return self.error(503)
            cond = self.headers.get("If-None-Match") == "*"
            if self.command == "PUT":
                if cond and not exempt and st.fail_cond > 0:
                    st.fail_cond -= 1
                    return self.error(500)
                if cond and st.args.cond and path in st.objects:
                    return self.error(412)
                st.objects[path] = body
                if cond and not exempt and st.ambiguous > 0:
                    st.ambiguous -= 1
                    return self.error(500)
                return self.reply(200, b"", {"ETag": '"x"'})
            if self.command == "DELETE":
                st.objects.pop(path, None)
                return self.reply(204)
            data = st.objects.get(path)
        if data is None:
            return self.error(404)
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            a = int(a)
            b = int(b) if b else len(data) - 1
            if a >= len(data):
                return self.error(416)
            part = data[a:b + 1]
            return self.reply(206, part, {"Content-Range": "bytes %d-%d/%d" % (
                a, a + len(part) - 1, len(data))})
        return self.reply(200, data)

    do_GET = do_PUT = do_HEAD = do_DELETE = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", nargs="?", type=int, default=0)
    ap.add_argument("--cond", action="store_true")
    ap.add_argument("--fail", type=int, default=0)
    ap.add_argument("--ambiguous", type=int, default=0)
    ap.add_argument("--fail-cond", type=int, default=0)
    ap.add_argument("--status", type=int, default=0)
    ap.add_argument("--delay", type=int, default=0)
    args = ap.parse_args()
    Handler.state = State(args)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 256
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
