#!/usr/bin/env python3
"""Checks of tests/90-hostile.bats: what the pipeline made of the hostile
process of tests/bin/hostile.c (its facts, in hex, in h.json).

  hostile.py records H.JSON OUT      the records: valid JSON, exact values
  hostile.py sqlite H.JSON DB        executables and connections rows
  hostile.py csv H.JSON CSV          snitch-store's CSV log, read by csv
  hostile.py web H.JSON EXES NAMES CMDLINES   snitch-web's answers
  hostile.py urlname H.JSON NAMES    the name snitch-web shows, %-encoded
  hostile.py remote H.JSON ROWS NAME the rows of a PostgreSQL or MariaDB copy

Strings in records are JSON in which a byte of invalid UTF-8 is \\udcXX
(docs/records.md): Python's surrogateescape, so s.encode('utf-8',
'surrogateescape') gives the bytes back.
"""
import csv
import json
import os
import sqlite3
import sys
import urllib.parse

ELLIPSIS = "\u2026".encode()
# snitch-resolve's --cmdline-max (default)
CMDLINE_MAX = 8192


def fail(msg):
    print("hostile.py: " + msg, file=sys.stderr)
    sys.exit(1)


def b(s):
    return s.encode("utf-8", "surrogateescape")


class Facts:
    def __init__(self, path):
        with open(path) as f:
            h = json.loads(f.read())
        self.pid = h["pid"]
        self.send = h["send_bytes"]
        self.exe = bytes.fromhex(h["exe_hex"])
        self.comm = bytes.fromhex(h["comm_hex"])
        self.argv = [bytes.fromhex(a) for a in h["argv_hex"]]
        self.fill_args = h["fill_args"]
        self.fill_len = h["fill_len"]
        # the name: the comm at exec (the file name's first 15 bytes, as
        # snitch-resolve first saw the process) or the one it set later
        self.names = {os.path.basename(self.exe)[:15], self.comm}

    def check_cmdline(self, args, where):
        """args: the command line as bytes; the hostile arguments exactly,
        then the 1 MiB of fill cut at --cmdline-max, marked."""
        n = len(self.argv)
        if args[:n] != self.argv:
            for i, (got, want) in enumerate(zip(args, self.argv)):
                if got != want:
                    fail(f"{where}: argument {i} is {got!r}, not {want!r}")
            fail(f"{where}: {len(args)} arguments, not at least {n}")
        rest = args[n:]
        if not rest:
            fail(f"{where}: the 1 MiB of arguments is missing")
        last = rest[-1]
        if not last.endswith(ELLIPSIS):
            fail(f"{where}: the cut command line does not end with an ellipsis: ...{last[-20:]!r}")
        body = b"\0".join(rest)[: -len(ELLIPSIS)]
        if body.strip(b"A\0") != b"" or len(rest) > self.fill_args:
            fail(f"{where}: the fill is not what was given")
        total = len(b"\0".join(args)) - len(ELLIPSIS)
        if not CMDLINE_MAX - 2 <= total <= CMDLINE_MAX:
            fail(f"{where}: the command line kept {total} bytes, not --cmdline-max {CMDLINE_MAX}")

    def check_name(self, name, where):
        if name not in self.names:
            fail(f"{where}: name {name!r}, not one of {self.names!r}")


def records(facts, out):
    flows = []
    with open(out, "rb") as f:
        for no, line in enumerate(f, 1):
            if len(line) > 1 << 20:
                fail(f"{out}:{no}: a line of {len(line)} bytes, over 1 MiB")
            try:
                r = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                fail(f"{out}:{no}: not valid JSON in UTF-8: {e}")
            if r.get("type") == "flow" and r.get("pid") == facts.pid:
                flows.append(r)
    if not flows:
        fail("no flow record of the hostile process")
    for r in flows:
        if b(r["exe_path"]) != facts.exe:
            fail(f"flow: exe_path {b(r['exe_path'])!r}, not {facts.exe!r}")
        if b(r["comm"]) != facts.comm:
            fail(f"flow: comm {b(r['comm'])!r}, not {facts.comm!r}")
        facts.check_name(b(r["name"]), "flow")
        facts.check_cmdline([b(a) for a in r["cmdline"]], "flow")
    sent = sum(r["send_bytes"] for r in flows)
    if sent != facts.send:
        fail(f"flows: {sent} bytes sent, not {facts.send}")
    rows = [json.loads(l) for l in open(out, encoding="utf-8") if '"type":"row"' in l]
    mine = [r for r in rows if r.get("exe_path") is not None and b(r["exe_path"]) == facts.exe]
    if sum(r["send_bytes"] for r in mine) != facts.send:
        fail("row records: the bytes sent do not add up")
    for r in mine:
        facts.check_cmdline([b(a) for a in r["cmdline"]], "row record")
    print(f"records: {len(flows)} flow records, {len(mine)} row records, {sent} bytes: exact")


def sqlite(facts, db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.text_factory = bytes
    exes = con.execute("SELECT id, path, name, cmdline FROM executables WHERE CAST(path AS BLOB) = ?",
                       (facts.exe,)).fetchall()
    if len(exes) != 1:
        fail(f"sqlite: {len(exes)} executables rows with the path, not 1")
    eid, path, name, cmdline = exes[0]
    facts.check_name(name, "sqlite executables.name")
    args = [b(a) for a in json.loads(cmdline.decode("utf-8"))]
    facts.check_cmdline(args, "sqlite executables.cmdline")
    sent, recv = con.execute("SELECT sum(send_bytes), sum(recv_bytes) FROM connections "
                             "WHERE exe_id = ?", (eid,)).fetchone()
    if sent != facts.send:
        fail(f"sqlite: {sent} bytes sent, not {facts.send}")
    print(f"sqlite: path, name, cmdline exact; {sent} bytes")


def csvlog(facts, path):
    want_path = facts.exe.decode("utf-8", "surrogateescape")
    mine = []
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as f:
        for no, row in enumerate(csv.reader(f, strict=True), 1):
            if len(row) != 25:
                fail(f"csv: record {no} has {len(row)} fields, not 25: {row[:6]!r}")
            if row[4] == want_path:
                mine.append(row)
    if not mine:
        fail("csv: no row with the hostile path")
    for row in mine:
        facts.check_name(b(row[5]), "csv name")
        # the arguments joined by spaces: the hostile ones exactly
        want = b" ".join(facts.argv) + b" "
        if not b(row[6]).startswith(want):
            fail(f"csv: cmdline {b(row[6])[:300]!r} does not start with {want!r}")
        if not b(row[6]).endswith(ELLIPSIS):
            fail("csv: the cut command line lost its ellipsis")
    sent = sum(int(r[1]) for r in mine)
    if sent != facts.send:
        fail(f"csv: {sent} bytes sent, not {facts.send}")
    print(f"csv: {len(mine)} rows, path, name, cmdline exact; {sent} bytes")


def web(facts, exes, names, cmdlines):
    def load(p):
        with open(p, "rb") as f:
            data = f.read()
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            fail(f"web: {p} is not valid JSON in UTF-8: {e}")

    e = [x for x in load(exes)["executables"] if x["exe"] is not None and b(x["exe"]) == facts.exe]
    if len(e) != 1:
        fail(f"web executables: {len(e)} entries with the path, not 1")
    facts.check_name(b(e[0]["name"]), "web executables")
    if e[0]["sent"] != facts.send:
        fail(f"web executables: sent {e[0]['sent']}, not {facts.send}")
    n = [x for x in load(names)["rows"] if x.get("name") is not None and b(x["name"]) in facts.names]
    if len(n) != 1 or n[0]["sent"] != facts.send:
        fail(f"web group by name: {n!r}")
    c = [x for x in load(cmdlines)["rows"] if x.get("cmdline") is not None
         and "DROP TABLE" in x["cmdline"]]
    if len(c) != 1:
        fail(f"web group by cmdline: {len(c)} rows with the command line")
    facts.check_cmdline([b(a) for a in json.loads(c[0]["cmdline"])], "web cmdline")
    print("web: valid JSON; path, name, cmdline round-trip")


def remote(facts, rows, server):
    """rows: path|name|cmdline in hex, bytes sent; a string's bytes of
    invalid UTF-8 are U+FFFD there (TEXT is UTF-8), each byte one; the
    command line is its JSON text, exact."""
    def fffd(raw):
        return "".join("\ufffd" if 0xdc80 <= ord(c) <= 0xdcff else c
                       for c in raw.decode("utf-8", "surrogateescape")).encode()

    mine = []
    for line in open(rows):
        path, name, cmdline, sent = line.rstrip("\n").split("|")
        path = bytes.fromhex(path)
        if path == fffd(facts.exe):
            mine.append((bytes.fromhex(name), bytes.fromhex(cmdline), int(sent)))
        elif b"evil" in path:
            fail(f"{server}: path {path!r}, not {fffd(facts.exe)!r}")
    if len(mine) != 1:
        fail(f"{server}: {len(mine)} executables with the path, not 1")
    name, cmdline, sent = mine[0]
    if name not in {fffd(n) for n in facts.names}:
        fail(f"{server}: name {name!r}")
    facts.check_cmdline([b(a) for a in json.loads(cmdline.decode("utf-8"))], server + " cmdline")
    if sent != facts.send:
        fail(f"{server}: {sent} bytes sent, not {facts.send}")
    print(f"{server}: path and name with U+FFFD, cmdline exact; {sent} bytes")


def urlname(facts, names):
    """the name as snitch-web's group by name shows it, %-encoded"""
    with open(names, encoding="utf-8") as f:
        rows = json.load(f)["rows"]
    n = [b(x["name"]) for x in rows if x.get("name") is not None and b(x["name"]) in facts.names]
    if len(n) != 1:
        fail(f"web group by name: {len(n)} rows with the name")
    print(urllib.parse.quote_from_bytes(n[0], safe=""))


def main():
    what, facts = sys.argv[1], Facts(sys.argv[2])
    {"records": records, "sqlite": sqlite, "csv": csvlog, "web": web,
     "urlname": urlname, "remote": remote}[what](facts, *sys.argv[3:])


if __name__ == "__main__":
    main()
