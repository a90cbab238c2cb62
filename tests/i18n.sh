#!/usr/bin/env bash
# Messages in two languages: every message marked _() or N_() in the C
# sources has a Chinese translation in po/zh_CN.po (none missing, none
# fuzzy, none left empty), and the binary speaks Chinese under a zh locale
# (generated or not) and English otherwise. FW_BIN, FW_I18N_SRC (the files
# `make pot` reads) come from the Makefile.
set -u
: "${FW_BIN:?}" "${FW_ROOT:?}"
cd "$FW_ROOT"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $*"; }

src=${FW_I18N_SRC:-$(ls rules/*.c daemon/*.c daemon/*/*.c)}
# shellcheck disable=SC2086
xgettext --language=C --from-code=UTF-8 -k_ -kN_ -kconfig_problem:3 --no-location \
    -o "$T/now.pot" $src 2>"$T/xg.err" || { cat "$T/xg.err"; exit 1; }
if msgcmp po/zh_CN.po "$T/now.pot" >"$T/cmp" 2>&1; then
    ok "every message in the sources is in po/zh_CN.po"
else
    fail "messages missing from po/zh_CN.po (run make pot, then translate):"
    grep -A2 'this message is used but not defined' "$T/cmp" | head -20 | sed 's/^/#   /'
fi
stats=$(LC_ALL=C msgfmt --check --statistics -o /dev/null po/zh_CN.po 2>&1)
if grep -Eq 'untranslated|fuzzy' <<<"$stats"; then
    fail "po/zh_CN.po is not complete: $stats"
else
    ok "po/zh_CN.po: $stats"
fi

zh=$(env -u LC_ALL -u LANGUAGE LANG=zh_CN.UTF-8 "$FW_BIN" --help)
if grep -q '用法：fundwatch' <<<"$zh"; then ok "LANG=zh_CN.UTF-8: Chinese"
else fail "LANG=zh_CN.UTF-8 gives: $(head -1 <<<"$zh")"; fi
zh=$(env -u LANG -u LANGUAGE LC_ALL=zh_CN.UTF-8 "$FW_BIN" nope 2>&1)
if grep -q '未知命令“nope”' <<<"$zh"; then ok "LC_ALL=zh_CN.UTF-8: Chinese on stderr"
else fail "LC_ALL=zh_CN.UTF-8 gives: $(head -1 <<<"$zh")"; fi
en=$(env -u LC_ALL -u LANGUAGE LANG=C.UTF-8 "$FW_BIN" --help)
if grep -q '^usage: fundwatch' <<<"$en"; then ok "LANG=C.UTF-8: English"
else fail "LANG=C.UTF-8 gives: $(head -1 <<<"$en")"; fi
en=$(env -u LC_ALL -u LANGUAGE LANG=en_US.UTF-8 "$FW_BIN" nope 2>&1)
if grep -q "unknown command 'nope'" <<<"$en"; then ok "LANG=en_US.UTF-8: English"
else fail "LANG=en_US.UTF-8 gives: $(head -1 <<<"$en")"; fi

echo "# i18n: $((n - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
