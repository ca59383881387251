#!/usr/bin/env python3
"""The web UI in a real browser (Debian's chromium, headless, over CDP).

  browser.py SCENARIO BASE_URL DB ARTIFACTS_DIR

Scenarios: overview, explore, executables, roundtrip, errors (a page over
a database that cannot be read), hostile (tests/90-hostile.bats), signin (BASE_URL is the one-time sign-in
URL of a server with --token), screenshots (docs/screenshots/ for
make screenshots). Each checks what a user sees against SQL over DB,
that no console error was logged, and saves screenshots into
ARTIFACTS_DIR. Exit 0 when every check holds; else the failed check on
stderr and exit 1.
"""
import json
import os
import re
import sqlite3
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser, CDPError  # noqa: E402


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def digits(text):
    return int(re.sub(r'[^0-9]', '', text or '') or -1)


class Run:
    def __init__(self, base, db, art):
        self.base, self.art = base.rstrip('/'), art
        self.db = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
        os.makedirs(art, exist_ok=True)
        self.b = Browser()
        self.b.open_page()

    def q(self, sql, *args):
        return self.db.execute(sql, args).fetchone()[0]

    def loads(self):
        return int(self.b.eval('Number(document.body.dataset.loads || 0)'))

    def open(self, path):
        self.b.navigate(self.base + path)
        self.b.wait_for('Number(document.body.dataset.loads || 0) >= 1', what='the first load of ' + path)
        self.no_error_banner()

    def after(self, action_js, what):
        """Run action_js, then wait for the load it causes."""
        n = self.loads()
        self.b.eval(action_js)
        self.b.wait_for('Number(document.body.dataset.loads || 0) > %d' % n, what=what)
        self.no_error_banner()

    def no_error_banner(self):
        err = self.b.eval("document.getElementById('error').hidden ? '' : document.getElementById('error').textContent")
        check(not err, 'the page shows an error: %s' % err)

    def text(self, sel):
        return self.b.eval('(document.querySelector(%s) || {}).textContent' % json.dumps(sel))

    def search(self):
        return urllib.parse.parse_qs(self.b.eval('location.search').lstrip('?'), keep_blank_values=True)

    def shot(self, name):
        self.b.screenshot(os.path.join(self.art, name + '.png'))

    def no_console_errors(self):
        errs = self.b.console_errors()
        check(not errs, 'console errors: %s' % errs)

    def table_rows(self, table):
        return self.b.eval('''[...document.querySelectorAll('#%s tbody tr')].map(tr =>
            [...tr.querySelectorAll('td')].map(td => td.dataset.value !== undefined ? td.dataset.value : td.textContent))''' % table)

    # ---- scenarios ----

    def overview(self):
        self.open('/?range=all&units=bytes&top=3')
        sent, recv, conns = self.db.execute(
            'select sum(send_bytes), sum(recv_bytes), count(*) from connections').fetchone()
        for card, want in (('card-sent', sent), ('card-received', recv), ('card-connections', conns)):
            shown = self.text('#' + card)
            check(digits(shown) == want, '%s shows %r, SQL says %d' % (card, shown, want))
        exes = self.q('select count(distinct e.path) from connections c join executables e on e.id = c.exe_id')
        check(digits(self.text('#card-executables')) == exes, 'executables card')
        # the attempts that got nowhere, as the log has them; a click shows them by outcome
        failed = self.q("select count(*) from connections where outcome in ('refused', 'timeout', 'unreachable', 'error')")
        shown = self.text('#card-failed')
        check(failed > 0 and digits(shown) == failed, 'failed attempts card shows %r, SQL says %d' % (shown, failed))
        # the chart: Chart.js drew it, its bars sum to the total
        bars = self.b.eval('''(() => { const c = Chart.getChart('chart'); return c ?
            c.data.datasets.reduce((s, d) => s + d.data.reduce((a, b) => a + b, 0), 0) : -1; })()''')
        check(bars == sent + recv, 'the chart sums to %s, SQL says %d' % (bars, sent + recv))
        ndata = self.b.eval("Chart.getChart('chart').data.datasets.length")
        check(ndata == 4, 'the chart has %s datasets, expected the top 3 and other' % ndata)
        # the totals table: the top executable first, with its sums
        rows = self.table_rows('ov-table')
        top = self.db.execute('''select e.path, sum(send_bytes), sum(recv_bytes) from connections c
            join executables e on e.id = c.exe_id group by e.path
            order by sum(send_bytes + recv_bytes) desc limit 1''').fetchone()
        check(rows[0][0].endswith(top[0]) and int(rows[0][1]) == top[1] and int(rows[0][2]) == top[2],
              'first totals row %s, SQL says %s' % (rows[0], top))
        self.shot('overview-light')
        self.after("document.getElementById('card-failed').click()", 'failed attempts card')
        check(self.b.eval('location.pathname') == '/explore' and self.search().get('group') == ['outcome']
              and self.search().get('range') == ['all'], 'the card opens Explore by outcome: %s'
              % self.b.eval('location.href'))
        rows = self.table_rows('ex-table')
        check(any(r[0] == 'refused' for r in rows), 'Explore by outcome lists refused: %s' % rows)
        self.open('/?range=all&units=bytes&top=3')
        # sent only: the chart follows the switch
        self.after("document.querySelector('#metric [data-metric=sent]').click()", 'metric switch')
        bars = self.b.eval('''Chart.getChart('chart').data.datasets.reduce((s, d) =>
            s + d.data.reduce((a, b) => a + b, 0), 0)''')
        check(bars == sent, 'sent-only chart sums to %s, SQL says %d' % (bars, sent))
        check(self.search().get('metric') == ['sent'], 'the metric is in the URL')
        self.after("document.getElementById('theme').click()", 'theme switch')
        theme = self.b.eval('document.documentElement.dataset.theme')
        check(theme == 'dark', 'the theme button switched to %s' % theme)
        self.shot('overview-dark')
        # auto-refresh: the page loads again by itself
        self.after('''(() => { const s = document.getElementById('refresh'); s.value = '5';
            s.dispatchEvent(new Event('change')); })()''', 'refresh 5 s')
        n = self.loads()
        self.b.wait_for('Number(document.body.dataset.loads) > %d' % n, timeout=9, what='an automatic refresh')
        check(self.search().get('refresh') == ['5'], 'refresh=5 in the URL')
        self.no_console_errors()

    def explore(self):
        self.open('/explore?range=all&units=bytes&group=domain')
        rows = self.table_rows('ex-table')
        ndom = self.q('select count(distinct coalesce(domain_id, -1)) from connections')
        check(len(rows) == ndom, 'explore lists %d domains, SQL says %d' % (len(rows), ndom))
        self.shot('explore-domains')
        # a click keeps only that row: the filter is in the URL and changes the sums
        self.after('''[...document.querySelectorAll('#ex-table tbody tr')]
            .find(tr => tr.querySelector('td').textContent === 'example.org').click()''', 'filter click')
        check(self.search().get('f') == ['domain:example.org'], 'f=domain:example.org in %s' % self.search())
        self.after('''(() => { const s = document.getElementById('ex-group'); s.value = 'exe';
            s.dispatchEvent(new Event('change')); })()''', 'group by exe')
        rows = self.table_rows('ex-table')
        want = self.db.execute('''select e.path, sum(send_bytes) from connections c
            join executables e on e.id = c.exe_id join domains d on d.id = c.domain_id
            where d.name = 'example.org' group by e.path''').fetchall()
        check([(r[0], int(r[1])) for r in rows] == [(p, s) for p, s in want],
              'filtered rows %s, SQL says %s' % (rows, want))
        chips = self.b.eval("document.querySelectorAll('#filters .chip').length")
        check(chips == 1, '%s filter chips' % chips)
        # remove it; Alt-click excludes firefox
        self.after("document.querySelector('#filters .chip button').click()", 'remove filter')
        self.after('''[...document.querySelectorAll('#ex-table tbody tr')]
            .find(tr => tr.querySelector('td').textContent === '/usr/lib/firefox/firefox')
            .dispatchEvent(new MouseEvent('click', {bubbles: true, altKey: true}))''', 'exclude click')
        check(self.search().get('x') == ['exe:/usr/lib/firefox/firefox'], 'x= in %s' % self.search())
        paths = [r[0] for r in self.table_rows('ex-table')]
        check('/usr/lib/firefox/firefox' not in paths and len(paths) >= 3, 'excluded rows: %s' % paths)
        # the overview follows the exclusion
        self.after("document.querySelector('nav a[data-page=overview]').click()", 'to the overview')
        sent = self.q('''select sum(send_bytes) from connections c join executables e on e.id = c.exe_id
            where e.path <> '/usr/lib/firefox/firefox' ''')
        check(digits(self.text('#card-sent')) == sent, 'overview sent %s with the exclusion, SQL says %d'
              % (self.text('#card-sent'), sent))
        # drill-down of firefox: its domains and both sha256 values
        self.open('/explore?range=all&units=bytes')
        self.after('''[...document.querySelectorAll('#ex-table tbody tr')]
            .find(tr => tr.querySelector('td').textContent === '/usr/lib/firefox/firefox')
            .querySelector('.row-more').click()''', 'drill-down')
        check(self.b.eval("!document.getElementById('drill').hidden"), 'the drill-down panel shows')
        check(self.search().get('drill') == ['/usr/lib/firefox/firefox'], 'drill= in the URL')
        body = self.text('#drill-body')
        for d in ('site0.example.net', 'site1.example.net', 'old.example.net', '203.0.113.1', 'gnome-shell'):
            check(d in body, '%s in the drill-down' % d)
        nsha = self.b.eval('''[...document.querySelectorAll('#drill-body h3')]
            .find(h => h.textContent.startsWith('sha256')).parentElement.querySelectorAll('tbody tr').length''')
        check(nsha == 2, 'the drill-down lists %s sha256 values, expected 2' % nsha)
        check('VT 3/70' in body, 'the drill-down shows the verdict of firefox\'s sha256')
        self.shot('explore-drill')
        # a sandboxed app and an interpreter's script: fields to group by, like the executable
        for field, col, name in (('app', 'app', 'org.example.Sync'), ('script', 'script_path', '/app/share/sync.py')):
            self.open('/explore?range=all&units=bytes&group=' + field)
            rows = self.table_rows('ex-table')
            want = self.db.execute('''select coalesce(e.%s, '(none)'), sum(c.send_bytes) from connections c
                left join executables e on e.id = c.exe_id group by e.%s''' % (col, col)).fetchall()
            check(sorted((r[0], int(r[1])) for r in rows) == sorted(want),
                  '%s groups %s, SQL says %s' % (field, rows, want))
            check(any(r[0] == name for r in rows), '%s is a row of %s: %s' % (name, field, rows))
            check(self.b.eval("document.getElementById('ex-group').selectedOptions[0].textContent")
                  == {'app': 'app (Flatpak, Snap, AppImage)', 'script': 'script'}[field], 'the %s option is named' % field)
        # the drill-down of the interpreter lists its script and its app; curl's has neither section
        self.open('/explore?range=all&units=bytes&drill=%2Fusr%2Fbin%2Fpython3.11')
        heads = self.b.eval("[...document.querySelectorAll('#drill-body h3')].map(h => h.textContent).join(',')")
        body = self.text('#drill-body')
        check('Scripts' in heads and 'Apps' in heads and '/app/share/sync.py' in body
              and 'org.example.Sync' in body, 'the drill-down of python3.11 shows %s: %s' % (heads, body))
        self.shot('explore-app')
        self.open('/explore?range=all&units=bytes&drill=%2Fusr%2Fbin%2Fcurl')
        heads = self.b.eval("[...document.querySelectorAll('#drill-body h3')].map(h => h.textContent).join(',')")
        check('Domains' in heads and 'Scripts' not in heads and 'Apps' not in heads,
              'the drill-down of curl has no script or app section: %s' % heads)
        # what became of curl's connections: each outcome with its count, as the log has them
        outcomes = self.b.eval('''[...document.querySelectorAll('#drill-body h3')]
            .filter(h => h.textContent === 'Outcomes')
            .map(h => [...h.parentElement.querySelectorAll('tr')].map(tr => tr.innerText.replace(/\\s+/g, ' ').trim()))
            .flat().sort().join('|')''')
        want = '|'.join(sorted('%s %d connection%s, %s B' % (o, n, '' if n == 1 else 's', '{:,}'.format(b))
                               for o, n, b in self.db.execute(
            "SELECT outcome, count(*), sum(send_bytes + recv_bytes) FROM connections c JOIN executables e"
            " ON e.id = c.exe_id WHERE e.path = '/usr/bin/curl' GROUP BY outcome")))
        check(outcomes == want and 'refused 1 connection, 0 B' in outcomes,
              "the drill-down of curl lists its outcomes %r, the log's %r" % (outcomes, want))
        self.shot('explore-outcomes')
        # a program of datagrams only has none: no section
        self.open('/explore?range=all&units=bytes&drill=%2Fusr%2Fsbin%2Fchronyd')
        heads = self.b.eval("[...document.querySelectorAll('#drill-body h3')].map(h => h.textContent).join(',')")
        check('Domains' in heads and 'Outcomes' not in heads, 'the drill-down of chronyd has no outcomes: %s' % heads)
        # countries (from the GeoIP database snitch-store used): a group, and a badge in a drill-down
        self.open('/explore?range=all&units=bytes&group=country')
        rows = self.table_rows('ex-table')
        want = self.db.execute('''select coalesce(a.country, '(none)'), sum(c.send_bytes) from connections c
            left join addresses a on a.id = c.raddr_id group by a.country''').fetchall()
        # a code is shown with its name ("CA Canada"): the code first
        check(sorted((r[0].split(' ')[0], int(r[1])) for r in rows) == sorted(want),
              'countries %s, SQL says %s' % (rows, want))
        check(any(r[0] == 'CA Canada' for r in rows), 'a country code is shown with its name: %s' % rows)
        self.open('/explore?range=all&units=bytes&drill=%2Fusr%2Fbin%2Fwget')
        badge = self.b.eval('''[...document.querySelectorAll('#drill-body .badge:not(.vt)')].map(b => b.textContent).join(',')''')
        country = self.q('''select a.country from addresses a where a.addr = '151.101.2.132' ''')
        check(country and badge == country, 'the drill-down of wget shows the country %r of its address: %r'
              % (country, badge))
        self.no_console_errors()

    def executables(self):
        self.open('/executables?range=all&units=bytes')
        rows = self.table_rows('exe-table')
        n = self.q('select count(distinct e.path) from connections c join executables e on e.id = c.exe_id')
        check(len(rows) == n, '%d executables shown, SQL says %d' % (len(rows), n))
        ff = [r for r in rows if r[0] == '/usr/lib/firefox/firefox']
        check(len(ff) == 1 and 'modified' in ff[0][1], 'firefox is marked modified: %s' % ff)
        check(ff[0][2].count('→') == 2, 'firefox has two sha256 values over time: %s' % ff[0][2])
        want = self.q('''select sum(send_bytes) from connections c join executables e on e.id = c.exe_id
            where e.path = '/usr/lib/firefox/firefox' ''')
        check(int(ff[0][5]) == want, 'firefox sent %s, SQL says %d' % (ff[0][5], want))
        others = [r for r in rows if r[0] == '/usr/bin/wget']
        check(others and 'modified' not in others[0][1], 'wget is not marked modified')
        # the VirusTotal verdicts beside the sha256 values: firefox's new
        # hash flagged (red, a link to its report), wget's not found, none
        # for chronyd's
        check('VT 3/70' in ff[0][2], 'firefox shows VT 3/70: %s' % ff[0][2])
        check('VT: not found' in others[0][2], 'wget shows VT: not found: %s' % others[0][2])
        cu = [r for r in rows if r[0] == '/usr/bin/curl']
        check(cu and 'VT 0/70' in cu[0][2], 'curl shows VT 0/70: %s' % cu)
        ch = [r for r in rows if r[0] == '/usr/sbin/chronyd']
        check(ch and 'VT' not in ch[0][2], 'chronyd has no verdict: %s' % ch)
        vt = self.b.eval('''[...document.querySelectorAll('#exe-table a.badge.vt')].map(a =>
            [a.textContent, a.classList.contains('bad'), a.getAttribute('href'), a.getAttribute('rel')])''')
        vt = [v for v in vt if v[1]]
        check(len(vt) == 1 and vt[0][0] == 'VT 3/70' and
              vt[0][2] == 'https://www.virustotal.com/gui/file/' + 'bb22' * 16 and 'noopener' in vt[0][3],
              'one flagged (red) badge, VT 3/70, linking to its report: %s' % vt)
        clean = self.b.eval('''[...document.querySelectorAll('#exe-table a.badge.vt:not(.bad)')].map(a => a.textContent)''')
        check(clean == ['VT 0/70'], 'the clean verdict is not red: %s' % clean)
        self.shot('executables')
        self.no_console_errors()

    def roundtrip(self):
        state = ('/explore?range=7d&group=raddr&top=10&metric=sent&f=exe%3A%2Fusr%2Fbin%2Fcurl'
                 '&x=domain%3Afoo.example&refresh=30&units=si&theme=dark')
        self.open(state)
        got = self.b.eval('''({range: document.getElementById('range').value,
            refresh: document.getElementById('refresh').value,
            units: document.getElementById('units').value,
            group: document.getElementById('ex-group').value, theme: document.documentElement.dataset.theme,
            chips: document.querySelectorAll('#filters .chip').length,
            page: document.querySelector('nav a.active').dataset.page})''')
        want = {'range': '7d', 'refresh': '30', 'units': 'si', 'group': 'raddr', 'theme': 'dark',
                'chips': 2, 'page': 'explore'}
        check(got == want, 'controls from the URL: %s, expected %s' % (got, want))
        check(self.search() == urllib.parse.parse_qs(state.split('?', 1)[1]),
              'the URL kept its state: %s' % self.search())
        # a control changes the URL; Back restores the earlier view
        self.after('''(() => { const s = document.getElementById('range'); s.value = '1d';
            s.dispatchEvent(new Event('change')); })()''', 'range change')
        check(self.search().get('range') == ['1d'], 'range=1d in %s' % self.search())
        self.after("document.querySelector('nav a[data-page=executables]').click()", 'to executables')
        check(self.b.eval('location.pathname') == '/executables', 'the page is in the path')
        check(self.search().get('range') == ['1d'] and self.search().get('units') == ['si'],
              'the state went along to the next page: %s' % self.search())
        self.after('history.back()', 'back')
        check(self.b.eval('location.pathname') == '/explore' and
              self.b.eval("document.getElementById('range').value") == '1d', 'Back restores the view')
        # a custom range: from/until in the URL
        self.after('''(() => { const s = document.getElementById('range'); s.value = 'custom';
            s.dispatchEvent(new Event('change')); })()''', 'custom range')
        s = self.search()
        check('from' in s and 'until' in s and 'range' not in s, 'custom range in the URL: %s' % s)
        check(not self.b.eval("document.getElementById('custom').hidden"), 'the custom inputs show')
        self.shot('roundtrip')
        self.no_console_errors()

    def errors(self):
        self.b.navigate(self.base + '/')
        self.b.wait_for('Number(document.body.dataset.loads || 0) >= 1', what='the first load')
        msg = self.b.eval("document.getElementById('error').hidden ? '' : document.getElementById('error').textContent")
        check('does not exist' in msg, 'the page says the database is missing: %r' % msg)
        exc = [e for e in self.b.console_errors() if e.startswith('exception')]
        check(not exc, 'no script exception: %s' % exc)
        self.shot('missing-db')

    def signin(self):
        """BASE_URL is the one-time sign-in URL of a server with a token."""
        login = self.base
        self.base = login.split('/login', 1)[0]
        self.b.navigate(self.base + '/')
        self.b.pump(0.5)
        title = self.b.eval('document.body.innerText')
        check('sign in' in title, 'without the cookie the page is refused: %r' % title[:200])
        self.b.navigate(login)
        self.b.wait_for('Number((document.body.dataset || {}).loads || 0) >= 1', what='the page after signing in')
        self.no_error_banner()
        check(self.b.eval('location.pathname') == '/', 'the sign-in URL leads to the overview')
        check(self.b.eval('document.cookie') == '', 'the session cookie is HttpOnly')
        check(self.text('#card-sent') not in ('', '–'), 'the overview shows data: %r' % self.text('#card-sent'))
        self.shot('signin')
        errs = [e for e in self.b.console_errors() if '401' not in e]
        check(not errs, 'console errors: %s' % errs)

    def screenshots(self):
        self.b.width, self.b.height = 1280, 800
        self.b.set_size(1280, 800)
        for path, name in (('/?range=1d&group=exe&theme=light', 'overview'),
                           ('/?range=1d&group=country&theme=dark', 'overview-dark'),
                           ('/explore?range=1d&group=exe&theme=light&drill=%2Fusr%2Flib%2Ffirefox%2Ffirefox',
                            'explore'),
                           ('/executables?range=7d&theme=light', 'executables')):
            self.open(path)
            self.b.pump(0.5)
            self.b.screenshot(os.path.join(self.art, name + '.png'), full=False)
        self.no_console_errors()


    def hostile(self):
        """tests/90-hostile.bats: a log holding the hostile process of
        tests/bin/hostile.c; its path, name and arguments shown as text:
        no raw control byte, no markup obeyed, no script error."""
        # (the name is the comm at exec or the one it set later: both
        # hold a newline and an ESC, shown as \n\e)
        for name, path, mark in (('executables', '/executables?range=all&units=bytes', 'exe/it\'s "evil",x\\n\\e[2J'),
                                 ('name', '/explore?range=all&group=name', ',x\\n\\e'),
                                 ('cmdline', '/explore?range=all&group=cmdline', '\\e]0;pwned\\x07\\x01\ufffd'),
                                 ('exe', '/explore?range=all&group=exe', '"evil",x\\n\\e[2J\\e]0;pwned')):
            self.open(path)
            self.b.pump(0.3)
            shown = self.b.eval('document.body.innerText')
            if name == 'name' and mark not in shown:
                mark = 'c,\\n\\e]0;\\x07\ufffd\ufffd'
            check(mark in shown, '%s: the hostile process is not shown as %s' % (path, mark))
            bad = sorted({'%02x' % ord(c) for c in shown if ord(c) < 0x20 and c not in '\n\t'
                          or 0x7f <= ord(c) < 0xa0})
            check(not bad, '%s: control characters shown raw: %s' % (path, bad))
            check(self.b.eval("document.querySelectorAll('main img, main b, table img, table b').length") == 0,
                  '%s: markup in an argument was obeyed' % path)
            check(not self.b.eval('!!window.pwned'), '%s: a script in an argument ran' % path)
            check('pwned' not in self.b.eval('document.title'), '%s: the title was changed' % path)
            self.shot('hostile-' + name)
        self.no_console_errors()


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    scenario, base, db, art = sys.argv[1:]
    run = None
    try:
        run = Run(base, db, art)
        getattr(run, scenario)()
    except (Fail, CDPError) as e:
        print('browser %s: %s' % (scenario, e), file=sys.stderr)
        if run:
            try:
                run.shot(scenario + '-FAILED')
            except Exception:
                pass
        return 1
    finally:
        if run:
            run.b.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
