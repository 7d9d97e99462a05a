#!/usr/bin/env python3
"""A fake of the AWS endpoints that hand out credentials, and of S3 checking
that requests are signed with them, on 127.0.0.1, for the credential
provider tests (tests/unit/test_cred_chain.c).

One server answers them all:
  POST /                         STS: AssumeRole (SigV4-signed, service sts,
                                 by known credentials) and
                                 AssumeRoleWithWebIdentity (--web-token)
  GET /federation/credentials    SSO GetRoleCredentials (--sso-token)
  POST /token                    SSO OIDC CreateToken, grant refresh_token
                                 (--oidc-refresh): a new access token, the
                                 --sso-token, and a new refresh token
  GET /container/...             container credentials (under
                                 /container/auth/, Authorization: --auth)
  PUT /latest/api/token, GET /latest/meta-data/iam/security-credentials/...
                                 EC2 instance metadata, IMDSv2 only
  GET /__log                     what happened: "issued PROVIDER N" lines,
                                 then "req KEYID METHOD PATH" per S3 request
  anything else                  S3, path-style, in memory: every request
                                 must be signed (SigV4) by credentials this
                                 server issued or was given with --static;
                                 issued ones past their expiry get 400
                                 ExpiredToken

Options:
  --static ID:SECRET   long-term credentials S3 and STS accept (repeatable)
  --lifetime SECS      lifetime of issued credentials (default 3600)
  --token-len N        length of issued session tokens (default 64)
  --expired-token N    answer 400 ExpiredToken to the first N S3 requests
  --slow SECS          the container, metadata, SSO and STS credential
                       answers after the first of each take SECS seconds
                       (the credentials' lifetime starts after the wait)
  --web-token T        the web identity token STS accepts
  --sso-token T        the SSO access token the portal accepts
  --oidc-refresh T     the refresh token OIDC accepts (with clientId
                       "client-1" and clientSecret "client-secret-1")
  --auth T             the Authorization /container/auth/ wants
  --bucket-region R    the bucket is in region R: S3 requests signed for
                       another region get 301 PermanentRedirect (400
                       AuthorizationHeaderMalformed with --redirect-400)
                       with x-amz-bucket-region: R
Prints the port on the first line of stdout, then serves until killed or
until the process that started it ends.
Nothing but 127.0.0.1 is ever listened on or contacted.
"""
import argparse
import datetime
import importlib.util
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_spec = importlib.util.spec_from_file_location(
    "fakes3", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "fake-s3-nocond.py"))
fakes3 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fakes3)


def iso(t):
    """ISO-8601 UTC of Unix time t."""
    return datetime.datetime.fromtimestamp(
        int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class State:
    """Credentials, objects and the log, shared by the handler threads."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.creds = {}         # key id -> (secret, token, expires or 0)
        for s in args.static:
            k, _, v = s.partition(":")
            self.creds[k] = (v, None, 0)
        self.issued = {}        # provider -> count
        self.requests = []      # (key id, method, path)
        self.objects = {}
        self.expired_token = args.expired_token

    def issue(self, provider):
        """New temporary credentials from provider: (id, secret, token,
        expires). With --slow, all but the first of each provider wait."""
        if self.args.slow and self.issued.get(provider, 0) > 0:
            time.sleep(self.args.slow)
        with self.lock:
            n = self.issued.get(provider, 0) + 1
            self.issued[provider] = n
            kid = "ASIA%s%04d" % (provider.upper()[:8], n)
            secret = "secret-%s-%d-%s" % (provider, n, secrets.token_hex(8))
            token = ("tok%s%d-" % (provider, n)).ljust(
                self.args.token_len, "T")[:self.args.token_len]
            exp = int(time.time()) + self.args.lifetime
            self.creds[kid] = (secret, token, exp)
            return kid, secret, token, exp

    def lookup(self, kid):
        """(secret, token) of a known key id, for signature checks."""
        with self.lock:
            c = self.creds.get(kid)
        return (c[0], c[1]) if c else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the
    # body waits for the client's delayed ACK (40 ms a request).
    disable_nagle_algorithm = True
    state = None

    def log_message(self, *a):
        pass

    def reply(self, status, body=b"", ctype="application/xml", headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def s3_error(self, status, code, headers=None):
        self.reply(status, "<?xml version=\"1.0\"?><Error><Code>%s</Code>"
                   "<Message>fake</Message></Error>" % code, headers=headers)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def sts(self, raw):
        st = self.state
        form = dict(urllib.parse.parse_qsl(raw.decode()))
        action = form.get("Action")
        if action == "AssumeRoleWithWebIdentity":
            if (not st.args.web_token
                    or form.get("WebIdentityToken") != st.args.web_token
                    or not form.get("RoleArn")):
                return self.reply(403, "<ErrorResponse><Error><Code>"
                                  "AccessDenied</Code></Error>"
                                  "</ErrorResponse>")
            provider = "webid"
        elif action == "AssumeRole":
            if not fakes3.signature_ok("POST", self.path, self.headers, raw,
                                       st.lookup):
                return self.reply(403, "<ErrorResponse><Error><Code>"
                                  "SignatureDoesNotMatch</Code></Error>"
                                  "</ErrorResponse>")
            provider = "sts"
        else:
            return self.reply(400, "<ErrorResponse><Error><Code>"
                              "InvalidAction</Code></Error></ErrorResponse>")
        kid, secret, token, exp = st.issue(provider)
        self.reply(200, "<%sResponse><%sResult><Credentials><AccessKeyId>%s"
                   "</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>"
                   "<SessionToken>%s</SessionToken><Expiration>%s"
                   "</Expiration></Credentials></%sResult></%sResponse>"
                   % (action, action, kid, secret, token, iso(exp), action,
                      action))

    def oidc(self, raw):
        st = self.state
        try:
            req = json.loads(raw.decode())
        except ValueError:
            req = {}
        if (not st.args.oidc_refresh or req.get("grantType") != "refresh_token"
                or req.get("refreshToken") != st.args.oidc_refresh
                or req.get("clientId") != "client-1"
                or req.get("clientSecret") != "client-secret-1"):
            return self.reply(400, json.dumps({"error": "invalid_grant"}),
                              "application/json")
        with st.lock:
            n = st.issued.get("oidc", 0) + 1
            st.issued["oidc"] = n
        self.reply(200, json.dumps({"accessToken": st.args.sso_token,
                                    "expiresIn": 3600, "tokenType": "Bearer",
                                    "refreshToken": "refresh-%d" % (n + 1)}),
                   "application/json")

    def creds_json(self, provider, sso=False):
        kid, secret, token, exp = self.state.issue(provider)
        if sso:
            doc = {"roleCredentials": {"accessKeyId": kid,
                                       "secretAccessKey": secret,
                                       "sessionToken": token,
                                       "expiration": exp * 1000}}
        else:
            doc = {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": kid,
                   "SecretAccessKey": secret, "Token": token,
                   "Expiration": iso(exp), "LastUpdated": iso(time.time())}
        self.reply(200, json.dumps(doc), "application/json")

    def s3(self, raw):
        st = self.state
        path = self.path.split("?", 1)[0]
        kid = fakes3.signature_ok(self.command, self.path, self.headers, raw,
                                  st.lookup)
        if not kid:
            return self.s3_error(403, "SignatureDoesNotMatch")
        auth = self.headers.get("Authorization") or ""
        region = auth.split("Credential=", 1)[1].split("/")[2]
        if st.args.bucket_region and region != st.args.bucket_region:
            hdr = {"x-amz-bucket-region": st.args.bucket_region}
            if st.args.redirect_400:
                return self.s3_error(400, "AuthorizationHeaderMalformed", hdr)
            return self.s3_error(301, "PermanentRedirect", hdr)
        with st.lock:
            exp = st.creds[kid][2]
            st.requests.append((kid, self.command, path))
            if "/_probe/" not in path and st.expired_token > 0:
                st.expired_token -= 1
                expired = True
            else:
                expired = exp and time.time() > exp
        if expired:
            return self.s3_error(400, "ExpiredToken")
        with st.lock:
            if self.command == "PUT":
                if (self.headers.get("If-None-Match") == "*"
                        and path in st.objects):
                    return self.s3_error(412, "PreconditionFailed")
                st.objects[path] = raw
                return self.reply(200, b"", headers={"ETag": '"x"'})
            if self.command == "DELETE":
                st.objects.pop(path, None)
                return self.reply(204)
            data = st.objects.get(path)
        if data is None:
            return self.s3_error(404, "NoSuchKey")
        self.reply(200, data, "application/octet-stream")

    def handle_any(self):
        st = self.state
        raw = self.body() if self.command in ("PUT", "POST") else b""
        path = self.path.split("?", 1)[0]
        if path == "/__log":
            with st.lock:
                lines = ["issued %s %d" % kv for kv in sorted(st.issued.items())]
                lines += ["req %s %s %s" % r for r in st.requests]
            return self.reply(200, "\n".join(lines) + "\n", "text/plain")
        if self.command == "POST" and path == "/":
            return self.sts(raw)
        if self.command == "POST" and path == "/token":
            return self.oidc(raw)
        if path == "/federation/credentials" and self.command == "GET":
            q = dict(urllib.parse.parse_qsl(self.path.partition("?")[2]))
            if (not st.args.sso_token or self.headers.get(
                    "x-amz-sso_bearer_token") != st.args.sso_token
                    or not q.get("account_id") or not q.get("role_name")):
                return self.reply(401, "{}", "application/json")
            return self.creds_json("sso", sso=True)
        if path.startswith("/container/") and self.command == "GET":
            # Paths under /container/auth/ want --auth (full-URI agents);
            # others want no Authorization at all (the ECS agent).
            want = st.args.auth if path.startswith("/container/auth/") else None
            if self.headers.get("Authorization") != want:
                return self.reply(401, "{}", "application/json")
            return self.creds_json("container")
        if path == "/latest/api/token" and self.command == "PUT":
            if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                return self.reply(400, "", "text/plain")
            return self.reply(200, "imds-session-token", "text/plain")
        if path.startswith("/latest/meta-data/"):
            if self.headers.get("X-aws-ec2-metadata-token") != \
                    "imds-session-token":
                return self.reply(401, "", "text/plain")
            base = "/latest/meta-data/iam/security-credentials/"
            if path == base:
                return self.reply(200, "fake-role", "text/plain")
            if path == base + "fake-role":
                return self.creds_json("imds")
            return self.reply(404, "", "text/plain")
        return self.s3(raw)

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = handle_any


def orphan_watch(parent):
    """Exits when the test that started us is gone (a crashed test must
    not leave us holding its output pipe)."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--static", action="append", default=[])
    ap.add_argument("--lifetime", type=int, default=3600)
    ap.add_argument("--token-len", type=int, default=64)
    ap.add_argument("--expired-token", type=int, default=0)
    ap.add_argument("--slow", type=float, default=0)
    ap.add_argument("--web-token", default="")
    ap.add_argument("--sso-token", default="")
    ap.add_argument("--oidc-refresh", default="")
    ap.add_argument("--auth", default="")
    ap.add_argument("--bucket-region", default="")
    ap.add_argument("--redirect-400", action="store_true")
    args = ap.parse_args()
    Handler.state = State(args)
    ThreadingHTTPServer.daemon_threads = True
    # A client hanging up early is not news.
    ThreadingHTTPServer.handle_error = lambda self, request, address: None
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(srv.server_address[1], flush=True)
    threading.Thread(target=orphan_watch, args=(os.getppid(),),
                     daemon=True).start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
