"""A small Chrome DevTools Protocol client over --remote-debugging-pipe.

Chromium reads commands on its fd 3 and writes answers and events on its
fd 4, each a JSON text ended by a NUL byte: no WebSocket, no package
beyond Python's standard library. Used by tests/web/browser.py.
"""
import base64
import json
import os
import select
import subprocess
import tempfile
import time


class CDPError(Exception):
    pass


class Browser:
    def __init__(self, chromium='chromium', width=1400, height=900):
        self.profile = tempfile.mkdtemp(prefix='snitch-chromium.')
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def fds():
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        args = [chromium, '--headless=new', '--remote-debugging-pipe',
                '--user-data-dir=' + self.profile, '--no-first-run',
                '--no-default-browser-check', '--disable-gpu', '--disable-extensions',
                '--disable-background-networking', '--disable-sync',
                '--disable-component-update', '--hide-scrollbars', '--mute-audio',
                '--window-size=%d,%d' % (width, height), '--lang=en-US']
        if os.geteuid() == 0:
            args.append('--no-sandbox')  # root: chromium's sandbox refuses it
        self.proc = subprocess.Popen(args, preexec_fn=fds, close_fds=False,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.next_id = 0
        self.buf = b''
        self.events = []
        self.session = None
        self.width, self.height = width, height

    def close(self):
        try:
            self.call('Browser.close', session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.to_child, self.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        subprocess.run(['rm', '-rf', self.profile], check=False)

    def _read_message(self, deadline):
        while b'\0' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError('no answer from chromium in time')
            r, _, _ = select.select([self.from_child], [], [], left)
            if not r:
                continue
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                raise CDPError('chromium closed its pipe (exit %s)' % self.proc.poll())
            self.buf += chunk
        msg, self.buf = self.buf.split(b'\0', 1)
        return json.loads(msg)

    def call(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        msg = {'id': self.next_id, 'method': method, 'params': params or {}}
        if session and self.session:
            msg['sessionId'] = self.session
        data = json.dumps(msg).encode() + b'\0'
        while data:
            n = os.write(self.to_child, data)
            data = data[n:]
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get('id') == self.next_id:
                if 'error' in m:
                    raise CDPError('%s: %s' % (method, m['error']))
                return m.get('result', {})
            if 'method' in m:
                self.events.append(m)

    def pump(self, seconds):
        """Read events for a while (they arrive between calls too)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                m = self._read_message(deadline)
                if 'method' in m:
                    self.events.append(m)
        except CDPError as e:
            if 'in time' not in str(e):
                raise

    def open_page(self):
        target = self.call('Target.createTarget', {'url': 'about:blank'}, session=False)
        att = self.call('Target.attachToTarget', {'targetId': target['targetId'], 'flatten': True},
                        session=False)
        self.session = att['sessionId']
        for m in ('Page.enable', 'Runtime.enable', 'Log.enable'):
            self.call(m)
        self.set_size(self.width, self.height)

    def set_size(self, width, height):
        self.call('Emulation.setDeviceMetricsOverride',
                  {'width': width, 'height': height, 'deviceScaleFactor': 1, 'mobile': False})

    def navigate(self, url, timeout=20):
        self.events = [e for e in self.events if e.get('method') != 'Page.loadEventFired']
        self.call('Page.navigate', {'url': url})
        deadline = time.monotonic() + timeout
        while not any(e.get('method') == 'Page.loadEventFired' for e in self.events):
            if time.monotonic() > deadline:
                raise CDPError('page %s did not load in %d s' % (url, timeout))
            self.pump(0.1)

    def eval(self, expr, timeout=30):
        r = self.call('Runtime.evaluate', {'expression': expr, 'returnByValue': True,
                                           'awaitPromise': True}, timeout=timeout)
        if 'exceptionDetails' in r:
            raise CDPError('evaluating %r: %s' % (expr[:80], r['exceptionDetails']))
        return r['result'].get('value')

    def wait_for(self, expr, timeout=15, what=None):
        deadline = time.monotonic() + timeout
        while True:
            v = self.eval(expr)
            if v:
                return v
            if time.monotonic() > deadline:
                raise CDPError('timed out waiting for %s' % (what or expr))
            self.pump(0.1)

    def screenshot(self, path, full=True):
        if full:
            h = self.eval('Math.ceil(document.documentElement.scrollHeight)')
            self.set_size(self.width, max(self.height, int(h)))
            self.pump(0.3)
        r = self.call('Page.captureScreenshot', {'format': 'png'})
        with open(path, 'wb') as f:
            f.write(base64.b64decode(r['data']))
        if full:
            self.set_size(self.width, self.height)

    def console_errors(self):
        """Console errors, uncaught exceptions and failed loads seen so far."""
        out = []
        for e in self.events:
            m, p = e.get('method'), e.get('params', {})
            if m == 'Runtime.exceptionThrown':
                d = p.get('exceptionDetails', {})
                out.append('exception: %s' % (d.get('exception', {}).get('description') or d.get('text')))
            elif m == 'Runtime.consoleAPICalled' and p.get('type') in ('error', 'assert', 'warning'):
                out.append('console.%s: %s' % (p['type'], ' '.join(
                    str(a.get('value', a.get('description', ''))) for a in p.get('args', []))))
            elif m == 'Log.entryAdded' and p.get('entry', {}).get('level') in ('error', 'warning'):
                en = p['entry']
                out.append('log %s: %s %s' % (en.get('level'), en.get('text'), en.get('url', '')))
        return out
