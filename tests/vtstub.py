#!/usr/bin/env python3
"""A stand-in for the VirusTotal v3 API, for tests/80-vt.bats: HTTPS on
loopback with a test certificate, answers from a plan, and a log of every
request it was sent (one JSON object a line).

  vtstub.py CERT KEY APIKEY PLAN LOG PORTFILE

PLAN is a JSON object: sha256 -> list of answers, taken one per request
for that hash (the last one repeats). An answer: "known" (70 engines, none
flags it), "malicious" (3 of 70), "unknown" (404), "401", "429", "500",
"slow" (answers after 30 s), "malformed". A hash not in the plan is
unknown. "_upload_verdict" -> "malicious" or "known" says what an upload's
analysis finds (completed at the second poll).
"""
import hashlib
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

cert, key, apikey, plan_path, log_path, port_path = sys.argv[1:7]
with open(plan_path) as f:
    plan = json.load(f)
lock = threading.Lock()
asked = {}      # sha -> requests so far
analyses = {}   # id -> polls so far
port = 0


def stats(malicious):
    return {"harmless": 0, "type-unsupported": 4, "suspicious": 0,
            "confirmed-timeout": 0, "timeout": 0, "failure": 0,
            "malicious": malicious, "undetected": 66 - malicious}


def file_report(sha, malicious):
    return {"data": {"type": "file", "id": sha,
                     "links": {"self": "https://www.virustotal.com/api/v3/files/" + sha},
                     "attributes": {"last_analysis_date": 1763822000,
                                    "meaningful_name": "x",
                                    "last_analysis_stats": stats(malicious),
                                    "last_analysis_results": {"EngineA": {"category": "undetected"}}}}}


def multipart_file(ctype, body):
    """The "file" part of a multipart/form-data body: (filename, bytes)."""
    b = ctype.split("boundary=", 1)[1].strip('"').encode()
    for part in body.split(b"--" + b)[1:]:
        head, _, data = part.partition(b"\r\n\r\n")
        if b'name="file"' in head:
            fn = head.split(b'filename="', 1)[1].split(b'"', 1)[0].decode() if b"filename=" in head else None
            return fn, data[:-2] if data.endswith(b"\r\n") else data
    return None, None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, obj=None, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def note(self, extra):
        entry = {"t": time.time(), "method": self.command, "path": self.path,
                 "headers": {k.lower(): v for k, v in self.headers.items()}}
        entry.update(extra)
        with lock, open(log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def authorized(self):
        if self.headers.get("x-apikey") != apikey:
            self.reply(401, {"error": {"code": "WrongCredentialsError", "message": "bad key"}})
            return False
        return True

    def do_GET(self):
        self.note({})
        if not self.authorized():
            return
        p = self.path
        if p == "/api/v3/files/upload_url":
            return self.reply(200, {"data": "https://127.0.0.1:%d/upload/big" % port})
        if p.startswith("/api/v3/analyses/"):
            aid = p.rsplit("/", 1)[1]
            with lock:
                n = analyses.get(aid)
                if n is None:
                    return self.reply(404, {"error": {"code": "NotFoundError"}})
                analyses[aid] = n + 1
            if n == 0:
                return self.reply(200, {"data": {"type": "analysis", "id": aid,
                                                 "attributes": {"status": "queued", "stats": {}}}})
            m = 3 if plan.get("_upload_verdict") == "malicious" else 0
            return self.reply(200, {"data": {"type": "analysis", "id": aid,
                                             "attributes": {"status": "completed", "date": 1763822500,
                                                            "stats": stats(m)}}})
        if p.startswith("/api/v3/files/"):
            sha = p.rsplit("/", 1)[1]
            with lock:
                n = asked.get(sha, 0)
                asked[sha] = n + 1
            answers = plan.get(sha, ["unknown"])
            a = answers[min(n, len(answers) - 1)]
            if a == "known":
                return self.reply(200, file_report(sha, 0))
            if a == "malicious":
                return self.reply(200, file_report(sha, 3))
            if a == "unknown":
                return self.reply(404, {"error": {"code": "NotFoundError", "message": "not found"}})
            if a == "401":
                return self.reply(401, {"error": {"code": "WrongCredentialsError"}})
            if a == "429":
                return self.reply(429, {"error": {"code": "QuotaExceededError"}})
            if a == "500":
                return self.reply(500, raw=b"oops")
            if a == "slow":
                time.sleep(30)
                return self.reply(200, file_report(sha, 0))
            if a == "malformed":
                return self.reply(200, raw=b'{"data": {"id": "' + sha.encode() + b'", "attributes": {"last_analysis_stats": {"malicious": "many"}}}}')
        self.reply(404, {"error": {"code": "NotFoundError"}})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        fn, data = multipart_file(self.headers.get("Content-Type", ""), body)
        self.note({"body_len": len(body), "filename": fn,
                   "file_sha256": hashlib.sha256(data).hexdigest() if data is not None else None,
                   "file_len": len(data) if data is not None else None})
        if self.path == "/api/v3/files" and not self.authorized():
            return
        if self.path not in ("/api/v3/files", "/upload/big") or data is None:
            return self.reply(400, {"error": {"code": "BadRequestError"}})
        aid = "an-" + hashlib.sha256(data).hexdigest()[:16]
        with lock:
            analyses[aid] = 0
        self.reply(200, {"data": {"type": "analysis", "id": aid}})


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
port = srv.server_address[1]
with open(port_path + ".tmp", "w") as f:
    f.write(str(port))
import os
os.rename(port_path + ".tmp", port_path)
srv.serve_forever()
