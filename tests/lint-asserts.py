#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
lint-asserts.py FILE...: assertions in bats files that cannot fail.

bats runs a test under `set -e`, and bash does not stop at a command that
fails inside an && list unless it is the last one, nor at one whose status
is inverted with `!`. So, as a statement of its own:

    [ "$status" -eq 0 ] && [ "$output" = x ]   # a wrong status passes
    ! grep -q error "$log"                      # an error found passes

check nothing, unless they happen to be a function's last statement. The
first is written as one test per line, the second as `! cmd || false`.
Prints FILE:LINE: what, for each; exit 1 if any.
"""
import sys


def split_and(s):
    """The parts of s joined by a top-level ' && ', or None if it has ' || '."""
    parts, cur, quote, depth, i = [], '', None, 0, 0
    while i < len(s):
        c = s[i]
        if quote:
            cur += c
            if c == '\\' and quote == '"' and i + 1 < len(s):
                cur += s[i + 1]
                i += 2
                continue
            if c == quote:
                quote = None
            i += 1
            continue
        if c in '"\'':
            quote = c
        elif s.startswith('$(', i):
            depth += 1
        elif c == ')' and depth:
            depth -= 1
        if not depth and s.startswith(' && ', i):
            parts.append(cur)
            cur, i = '', i + 4
            continue
        if not depth and s.startswith(' || ', i):
            return None
        cur += c
        i += 1
    parts.append(cur)
    return parts


def is_test(p):
    p = p.strip()
    return (p.startswith('[ ') and p.endswith(' ]')) or \
        (p.startswith('[[ ') and p.endswith(' ]]'))


def continues(line):
    """The next line is part of this line's command."""
    s = line.rstrip()
    return s.endswith(('\\', '&&', '||', '|')) or s.endswith(('; do', '; then'))


def lint(path):
    found = []
    lines = open(path, encoding='utf-8').read().split('\n')
    prev = ''
    for n, line in enumerate(lines, 1):
        st = line.strip()
        cont = continues(prev)
        prev = line if st else prev
        if cont or not st or st.startswith('#'):
            continue
        if st.startswith(('[ ', '[[ ')) and ' && ' in st:
            parts = split_and(st)
            if parts and len(parts) > 1 and all(is_test(p) for p in parts):
                found.append((n, 'tests joined by && (a failing first one passes): one a line'))
        if st.startswith('! ') and not continues(line):
            parts = split_and(st)
            nxt = next((x.strip() for x in lines[n:] if x.strip() and not x.strip().startswith('#')), '}')
            if parts is not None and nxt != '}':
                found.append((n, '`! cmd` never fails a test: add `|| false`'))
    return found


def main(argv):
    bad = 0
    for path in argv[1:]:
        for n, what in lint(path):
            print(f'{path}:{n}: {what}')
            bad += 1
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
