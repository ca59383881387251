#!/usr/bin/env python3
"""A stand-in of snitch's live feed, for the screenshots of snitch top.

  feed.py SOCKET RECORDS

Listens on the unix socket SOCKET and, to each reader, publishes the flow
records of the last hour of RECORDS (tests/web/fixture.py's made-up day)
as if they happened now: each socket's first record as phase "new", the
hour's records spread over 10 s, stamped with the time they are sent.
Ends when the reader goes, or after 60 s.
"""
import json
import os
import socket
import sys
import time


def main():
    path, records = sys.argv[1], sys.argv[2]
    flows = []
    with open(records) as f:
        for line in f:
            r = json.loads(line)
            if r.get('type') == 'flow':
                flows.append(r)
    flows.sort(key=lambda r: r['ts_ns'])
    last = flows[-1]['ts_ns']
    hour = [r for r in flows if r['ts_ns'] > last - 3600 * 10**9]
    seen = set()
    for r in hour:
        key = (r.get('pid'), r.get('sock_cookie'))
        r['phase'] = 'update' if key in seen else 'new'
        seen.add(key)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(60)
    conn, _ = srv.accept()
    start = time.time()
    gap = 10.0 / max(len(hour), 1)
    try:
        for r in hour:
            now = time.time_ns()
            r['ts_ns'] = r['to_ns'] = now
            r['from_ns'] = now - 10**9
            conn.sendall((json.dumps(r, separators=(',', ':')) + '\n').encode())
            time.sleep(gap)
        # then stay, as a quiet feed does, until the reader goes
        conn.settimeout(max(1.0, 60 - (time.time() - start)))
        conn.recv(1)
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    conn.close()
    srv.close()
    os.unlink(path)


if __name__ == '__main__':
    main()
