#!/usr/bin/env python3
"""Fills empty msgstr entries of po/zh_CN.po from a JSON object {msgid: msgstr}:
   python3 po/translate.py new.json  (then: python3 po/fullwidth.py po/zh_CN.po)"""
import re, sys, json
path = 'po/zh_CN.po'
tr = json.load(open(sys.argv[1]))
text = open(path, encoding='utf-8').read()
entries = text.split('\n\n')
def unq(lines):
    return ''.join(json.loads(l) for l in lines)
out = []
for e in entries:
    lines = e.split('\n')
    try:
        i = next(k for k, l in enumerate(lines) if l.startswith('msgid '))
        j = next(k for k, l in enumerate(lines) if l.startswith('msgstr '))
    except StopIteration:
        out.append(e); continue
    mid = unq([lines[i][6:]] + [l for l in lines[i+1:j] if l.startswith('"')])
    tail = [l for l in lines[j+1:] if l.startswith('"')]
    mstr = unq([lines[j][7:]] + tail)
    if mid and not mstr and mid in tr:
        s = tr[mid]
        parts = s.split('\n')
        enc = [json.dumps(p + ('\n' if k < len(parts) - 1 else ''), ensure_ascii=False) for k, p in enumerate(parts) if p or k < len(parts) - 1]
        if len(enc) == 1:
            lines = lines[:j] + ['msgstr ' + enc[0]]
        else:
            lines = lines[:j] + ['msgstr ""'] + enc
        e = '\n'.join(lines)
    out.append(e)
open(path, 'w', encoding='utf-8').write('\n\n'.join(out))
