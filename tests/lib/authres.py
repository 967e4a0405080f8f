#!/usr/bin/env python3
"""authres.py - read an Authentication-Results value back, for the tests.

Usage: authres.py VALUE
Prints the authserv-id on the first line ("authserv-id ID"), then one line
per result: "METHOD RESULT key=value ..." with reason= and ptype.property=
keys in order.  Comments are dropped; quoted strings are unquoted.  A
deliberately small reader of RFC 8601, written for these tests (the
product's own parser is src/authres.c): exit 1 if the value does not parse.
"""
import re
import sys


def strip_comments(s):
    out, depth, i, quoted = [], 0, 0, False
    while i < len(s):
        c = s[i]
        if quoted:
            out.append(c)
            if c == "\\" and i + 1 < len(s):
                out.append(s[i + 1])
                i += 1
            elif c == '"':
                quoted = False
        elif depth:
            if c == "\\":
                i += 1
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
        elif c == "(":
            depth = 1
        else:
            if c == '"':
                quoted = True
            out.append(c)
        i += 1
    if depth or quoted:
        raise ValueError("unbalanced comment or quote")
    return "".join(out)


TOKEN = r'(?:"(?:[^"\\]|\\.)*"|[^\s;"]+)'


def unquote(v):
    if v.startswith('"'):
        return re.sub(r"\\(.)", r"\1", v[1:-1])
    return v


def main():
    value = strip_comments(sys.argv[1])
    parts = [p.strip() for p in value.split(";")]
    head = parts[0].split()
    if not head:
        sys.exit(1)
    print("authserv-id", head[0])
    for part in parts[1:]:
        if not part:
            continue
        if part == "none":
            print("none")
            continue
        m = re.match(r"([A-Za-z0-9-]+)\s*=\s*([A-Za-z0-9-]+)(.*)$", part, re.S)
        if not m:
            sys.exit(1)
        items = []
        for km in re.finditer(r"([A-Za-z0-9.-]+)\s*=\s*(" + TOKEN + ")", m.group(3)):
            items.append("%s=%s" % (km.group(1), unquote(km.group(2))))
        print(m.group(1), m.group(2), *items)


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.exit(0)
