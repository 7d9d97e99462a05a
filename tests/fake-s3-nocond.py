#!/usr/bin/env python3
"""A tiny in-memory S3 look-alike on 127.0.0.1 for the S3 backend's tests.

By default it behaves like the broken stores the backend must refuse: every
PUT answers 200 and If-None-Match is ignored. Options turn it into other
test doubles:

  --cond            honour If-None-Match: * (412 when the key exists)
  --cond-status N   answer N instead of 412 (409: AWS's
                    ConditionalRequestConflict)
  --fail N          answer 503 SlowDown to the first N requests
  --ambiguous N     apply the first N conditional PUTs, then answer 500
                    (a write that landed although the client saw an error)
  --fail-cond N     answer 500 to the first N conditional PUTs without
                    applying them
  --status CODE     answer CODE (with an S3 error body) to every request
  --delay MS        hold every request MS milliseconds before answering
  --verify          check every request's SigV4 signature against
                    AWS_SECRET_ACCESS_KEY of our environment (and, when
                    AWS_SESSION_TOKEN is set, that it was sent and signed):
                    403 SignatureDoesNotMatch otherwise
  --huge SIZE       a GET of any key named HEAD answers SIZE generated
                    bytes (without storing them)
  --chunked         send GET bodies chunked, without a Content-Length

Keys under .../_probe/ (the backend's create-if-absent probe) are exempt
from --fail, --ambiguous and --fail-cond. Signatures are checked only with
--verify.
Prints the port on the first line of stdout, then serves until killed.
Usage: fake-s3-nocond.py [PORT] [options]
"""
import argparse
import hashlib
import hmac
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CODES = {403: "AccessDenied", 404: "NoSuchKey", 412: "PreconditionFailed",
         429: "SlowDown", 500: "InternalError", 503: "SlowDown"}


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def hmac256(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def env_lookup(key_id):
    """The credentials of our environment, if key_id is theirs."""
    if key_id != os.environ.get("AWS_ACCESS_KEY_ID"):
        return None
    return (os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
            os.environ.get("AWS_SESSION_TOKEN"))


def signature_ok(command, raw_path, headers, body, lookup=env_lookup):
    """Recomputes the SigV4 signature of a request (AWS's algorithm, written
    from its description) and compares it with the Authorization header.
    lookup(key_id) gives (secret, token or None), or None for a stranger.
    Returns the key id on success, else False."""
    auth = headers.get("Authorization") or ""
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return False
    fields = dict(f.strip().split("=", 1) for f in auth[17:].split(","))
    cred = fields["Credential"].split("/")
    signed = fields["SignedHeaders"].split(";")
    known = lookup(cred[0])
    if known is None:
        return False
    secret, token = known
    if token and (headers.get("x-amz-security-token") != token
                  or "x-amz-security-token" not in signed):
        return False
    payload = headers.get("x-amz-content-sha256") or ""
    if command in ("PUT", "POST") and payload != sha256_hex(body):
        return False
    path, _, query = raw_path.partition("?")
    lines = [command, path, query]
    for name in signed:
        lines.append(name + ":" + " ".join((headers.get(name) or "").split()))
    lines += ["", ";".join(signed), payload]
    creq = "\n".join(lines)
    date, scope = headers.get("x-amz-date") or "", "/".join(cred[1:])
    sts = "\n".join(["AWS4-HMAC-SHA256", date, scope,
                     sha256_hex(creq.encode())])
    key = ("AWS4" + secret).encode()
    for part in cred[1:]:
        key = hmac256(key, part)
    want = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    return cred[0] if hmac.compare_digest(want, fields["Signature"]) else False


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
    # Replies go out as two writes (headers, then body): without this each
    # waits about 40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
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

    def reply_chunked(self, status, body):
        self.send_response(status)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(0, len(body), 65536):
            part = body[i:i + 65536]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        self.wfile.write(b"0\r\n\r\n")

    def reply_huge(self, size):
        """Streams size bytes; stops quietly when the client hangs up."""
        block = b"x" * 65536
        self.send_response(200)
        if self.state.args.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        try:
            while size > 0:
                part = block[:min(size, len(block))]
                if self.state.args.chunked:
                    part = b"%x\r\n%s\r\n" % (len(part), part)
                self.wfile.write(part)
                size -= min(size, len(block))
            if self.state.args.chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def error(self, status, code=None):
        code = code or CODES.get(status, "Error%d" % status)
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
        if st.args.verify and not signature_ok(self.command, self.path,
                                               self.headers, body):
            return self.error(403, "SignatureDoesNotMatch")
        if (st.args.huge and self.command == "GET"
                and path.rsplit("/", 1)[-1] == "HEAD"):
            return self.reply_huge(st.args.huge)
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
                    if st.args.cond_status == 409:
                        return self.error(409, "ConditionalRequestConflict")
                    return self.error(st.args.cond_status)
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
        if st.args.chunked and self.command == "GET":
            return self.reply_chunked(200, data)
        return self.reply(200, data)

    do_GET = do_PUT = do_HEAD = do_DELETE = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", nargs="?", type=int, default=0)
    ap.add_argument("--cond", action="store_true")
    ap.add_argument("--cond-status", type=int, default=412)
    ap.add_argument("--fail", type=int, default=0)
    ap.add_argument("--ambiguous", type=int, default=0)
    ap.add_argument("--fail-cond", type=int, default=0)
    ap.add_argument("--status", type=int, default=0)
    ap.add_argument("--delay", type=int, default=0)
    ap.add_argument("--verify", action="store_true")
    ap.add_argument("--huge", type=int, default=0)
    ap.add_argument("--chunked", action="store_true")
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
