#!/usr/bin/env python3
"""Puts Chinese punctuation in the msgstr lines of a .po file: an ASCII
, : ; ( ) ! ? next to a CJK character becomes its full-width form. Run by
hand after editing translations (python3 po/fullwidth.py po/zh_CN.po)."""
import re, sys
CJK = '\u3000-\u303f\u4e00-\u9fff\uff00-\uffef\u201c\u201d'
MAP = {',': '，', ':': '：', ';': '；', '(': '（', ')': '）', '!': '！', '?': '？'}
def fix(line):
    out = list(line)
    for i, ch in enumerate(line):
        if ch in MAP:
            prev = line[i-1] if i else ''
            nxt = line[i+1] if i + 1 < len(line) else ''
            if re.match('[' + CJK + ']', prev) or re.match('[' + CJK + ']', nxt):
                out[i] = MAP[ch]
    return ''.join(out)
for path in sys.argv[1:]:
    lines = open(path, encoding='utf-8').read().split('\n')
    in_str = False
    for n, l in enumerate(lines):
        if l.startswith('msgstr'):
            in_str = True
        elif l.startswith('msgid') or l.startswith('#') or not l:
            in_str = False
        if in_str and n > 12:
            lines[n] = fix(l)
    open(path, 'w', encoding='utf-8').write('\n'.join(lines))
