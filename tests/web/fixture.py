#!/usr/bin/env python3
"""Flow records of a made-up desktop's day, for snitch-store (make screenshots).

  fixture.py NOW_S > records.ndjson

A dozen programs over the 24 hours before NOW_S, each with its own
domains, ports and rhythm (a browser busy in the day, a sync client
steady, an update in the morning that changes firefox's sha256, a health
check that is sometimes refused). The numbers are drawn from a fixed seed:
the same NOW_S gives the same file.
Addresses are public ones of large networks (for the countries), assigned
to the made-up names at random.
"""
import hashlib
import json
import math
import random
import sys

PROGRAMS = [
    # path, name, cmdline, parent, uid, proto, rport, domains, bytes/hour (sent, received), shape
    ('/usr/lib/firefox/firefox', 'firefox', ['/usr/lib/firefox/firefox'], '/usr/bin/gnome-shell', 1000,
     'tcp', 443, ['www.wikipedia.org', 'github.com', 'news.ycombinator.com', 'www.youtube.com',
                  'fonts.gstatic.com', 'lwn.net'], (9e6, 180e6), 'day'),
    ('/usr/lib/thunderbird/thunderbird', 'thunderbird', ['/usr/lib/thunderbird/thunderbird'],
     '/usr/bin/gnome-shell', 1000, 'tcp', 993, ['imap.example.com', 'smtp.example.com'], (2e6, 12e6), 'day'),
    ('/usr/bin/syncthing', 'syncthing', ['/usr/bin/syncthing', 'serve', '--no-browser'],
     '/usr/lib/systemd/systemd', 1000, 'tcp', 22000, ['relay.syncthing.example'], (15e6, 14e6), 'flat'),
    ('/usr/bin/ssh', 'ssh', ['ssh', 'build.example.org'], '/usr/bin/bash', 1000, 'tcp', 22,
     ['build.example.org'], (4e6, 40e6), 'day'),
    ('/usr/lib/apt/methods/http', 'http', ['/usr/lib/apt/methods/http'], '/usr/bin/apt', 0, 'tcp', 80,
     ['deb.debian.org', 'security.debian.org'], (0.3e6, 95e6), 'morning'),
    ('/usr/bin/git', 'git-remote-http', ['git', 'fetch', 'origin'], '/usr/bin/bash', 1000, 'tcp', 443,
     ['github.com', 'salsa.debian.org'], (0.8e6, 25e6), 'day'),
    ('/usr/share/code/code', 'code', ['/usr/share/code/code', '--type=utility'], '/usr/bin/gnome-shell',
     1000, 'tcp', 443, ['marketplace.visualstudio.com', 'update.code.example'], (1e6, 6e6), 'day'),
    ('/usr/sbin/chronyd', 'chronyd', ['/usr/sbin/chronyd', '-F', '1'], '/usr/lib/systemd/systemd', 0,
     'udp', 123, ['2.debian.pool.ntp.org'], (3e3, 3e3), 'flat'),
    ('/usr/lib/systemd/systemd-resolved', 'systemd-resolve', ['/usr/lib/systemd/systemd-resolved'],
     '/usr/lib/systemd/systemd', 102, 'udp', 53, [None], (0.2e6, 0.4e6), 'flat'),
    ('/usr/bin/curl', 'curl', ['curl', '-fsS', 'https://api.example.net/v1/health'], '/usr/sbin/cron', 1000,
     'tcp', 443, ['api.example.net'], (0.05e6, 0.2e6), 'flat'),
    ('/usr/bin/python3.11', 'python3', ['python3', 'backup.py'], '/usr/sbin/cron', 1000, 'tcp', 443,
     ['s3.backup.example'], (120e6, 2e6), 'night'),
    ('/opt/spotify/spotify', 'spotify', ['/opt/spotify/spotify'], '/usr/bin/gnome-shell', 1000, 'tcp', 4070,
     ['audio-ak.spotify.example', 'spclient.example'], (1e6, 60e6), 'afternoon'),
]


# Public addresses of large networks, so that the pictures show countries
# (from the GeoIP database); which name gets which is made up.
PUBLIC = ['151.101.2.132', '140.82.121.3', '185.199.108.153', '2a00:1450:4001:81c::200e',
          '104.16.132.229', '13.107.42.14', '2606:4700::6810:84e5', '193.0.14.129',
          '91.189.91.38', '130.239.18.119', '203.119.86.101', '200.160.2.3', '45.60.20.1',
          '151.139.128.10', '2001:67c:2e8:22::c100:68b', '202.12.27.33', '194.58.192.46']


def shape(kind, hour):
    if kind == 'flat':
        return 1.0
    if kind == 'day':
        return max(0.05, math.sin(math.pi * (hour - 7) / 14)) if 7 <= hour <= 21 else 0.05
    if kind == 'morning':
        return 3.0 if 8 <= hour < 9 else 0.0
    if kind == 'night':
        return 4.0 if 2 <= hour < 3 else 0.0
    if kind == 'afternoon':
        return 1.0 if 13 <= hour < 18 else 0.0
    return 1.0


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def main():
    now = int(sys.argv[1])
    rnd = random.Random(42)
    refused = random.Random(7)  # its own seed: the traffic stays as it was
    start = now - 86400
    update_at = start + 9 * 3600  # firefox updated in the morning
    addr = {}
    out = sys.stdout
    step = 300  # one record per program per 5 minutes
    for t in range(start - start % step, now, step):
        hour = (t // 3600) % 24
        for (path, name, cmd, parent, uid, proto, rport, domains, rate, kind) in PROGRAMS:
            f = shape(kind, hour) * rnd.uniform(0.4, 1.6)
            if f <= 0 or rnd.random() < 0.15:
                continue
            dom = rnd.choice(domains)
            key = dom or path
            if key not in addr:
                n = len(addr)
                addr[key] = PUBLIC[n] if n < len(PUBLIC) else '203.0.113.%d' % n
            ts = (t + rnd.randrange(step)) * 10**9
            version = 'new' if path.endswith('firefox') and t >= update_at else 'old'
            rec = {
                'v': 1, 'type': 'flow', 'phase': 'update', 'ts_ns': ts, 'from_ns': ts - 10**6,
                'to_ns': ts, 'pid': 1000 + PROGRAMS.index(next(p for p in PROGRAMS if p[0] == path)),
                'comm': name[:15], 'uid': uid, 'exe_path': path, 'name': name, 'cmdline': cmd,
                'exe_sha256': sha(path + version),
                'parent_exe_path': parent, 'parent_name': parent.rsplit('/', 1)[1][:15],
                'parent_cmdline': [parent], 'parent_exe_sha256': sha(parent),
                'gparent_exe_path': '/usr/lib/systemd/systemd', 'gparent_name': 'systemd',
                'gparent_cmdline': ['/usr/lib/systemd/systemd', '--user'],
                'gparent_exe_sha256': sha('systemd'),
                'family': 'inet6' if ':' in addr[key] else 'inet', 'proto': proto,
                'laddr': '2001:db8::2' if ':' in addr[key] else '192.0.2.2',
                'lport': 32768 + rnd.randrange(28000), 'raddr': addr[key], 'rport': rport,
                'domain': dom, 'netns': 4026531840, 'container_runtime': '', 'container_id': '',
                'send_bytes': int(rate[0] / 12 * f), 'recv_bytes': int(rate[1] / 12 * f),
                'send_calls': None, 'recv_calls': None,
            }
            if proto == 'tcp':
                rec['outcome'] = 'connected'
            out.write(json.dumps(rec, separators=(',', ':')) + '\n')
            # the health check's server is down now and then: refused, 0 bytes
            if path == '/usr/bin/curl' and refused.random() < 0.15:
                att = dict(rec, ts_ns=ts + 10**9, from_ns=ts + 10**9 - 10**6, to_ns=ts + 10**9,
                           phase='end', lport=0, send_bytes=0, recv_bytes=0, outcome='refused')
                out.write(json.dumps(att, separators=(',', ':')) + '\n')


if __name__ == '__main__':
    main()
