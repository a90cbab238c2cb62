#!/usr/bin/env bash
# The Debian package end to end, as an operator meets it (not in `make
# test`: it builds twice and needs a Debian 12 root; a few minutes). Run as
# root from the repository: bash tests/package.sh
#
#   1. make deb; the package is lintian clean (make deb fails otherwise);
#   2. a fresh Debian 12 root (minbase, as ../shared/tools/fresh-check
#      builds it, the same cache) with systemd installed, as on a server;
#      `apt-get install ./fundwatch_*.deb` there;
#   3. the user, the token (0640 root:fundwatch), the unit enabled,
#      `fundwatch check -c /etc/fundwatch/fundwatch.yaml`, `systemd-analyze
#      verify` and `security` on the unit;
#   4. the daemon as the service user with the unit's ExecStartPre and
#      ExecStart (no systemd runs in a chroot), in a network namespace of its
#      own: a feed dropped in the spool gives findings, the unit's
#      ExecReload reloads, an operator's edit of a policy is picked up;
#   5. an upgrade to a rebuilt newer version keeps the findings, the token
#      and the operator's edit;
#   6. purge leaves nothing behind but the system user;
#   7. all of it again in a root booted with systemd (systemd-nspawn): apt
#      install starts the service for real, in its sandbox; logrotate with
#      the package's snippet rotates the outbox (SIGUSR1).
# FRESH_BASE chooses the cached root; FRESH_KEEP=1 keeps the copy.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
[ "$(id -u)" = 0 ] || { echo "tests/package.sh: run as root"; exit 2; }
base=${FRESH_BASE:-${TMPDIR:-/var/tmp}/fresh-bookworm}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/fw-package.XXXXXX")
R=$work/root
NS=fwpkg$$
PID=""
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }
in_ns() { ip netns exec "$NS" chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }
cleanup() {
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    umount "$R/proc" 2>/dev/null
    if [ -n "${FRESH_KEEP:-}" ]; then echo "# kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# ---- 1. the package ------------------------------------------------------------
echo "# building the package (make deb)"
if ! make deb >"$work/deb.log" 2>&1; then
    tail -20 "$work/deb.log"; fail "make deb"; exit 1
fi
deb=$(ls build/deb/fundwatch_*_*.deb | grep -v dbgsym | head -1)
ok "make deb: $(basename "$deb"), lintian clean"
tmpx=$work/x && mkdir -p "$tmpx" && dpkg-deb -x "$deb" "$tmpx"
check "the binary is stripped" eval '! readelf -S "$tmpx/usr/bin/fundwatch" | grep -q "\.symtab"'

# ---- 2. a fresh Debian 12 root ----------------------------------------------------
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
if [ ! -x "$base/bin/bash" ]; then
    echo "# building a minimal bookworm root in $base (once; a few minutes)"
    debootstrap --variant=minbase bookworm "$base" "$mirror" >"$base.log" 2>&1 ||
        { echo "debootstrap failed; see $base.log"; exit 2; }
fi
cp -a "$base" "$R"
cp /etc/resolv.conf "$R/etc/resolv.conf"
mount -t proc proc "$R/proc"
echo "# installing systemd, man-db and curl into the root (as on a server)"
in_root sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd man-db curl' \
    >"$work/apt0.log" 2>&1 || { tail "$work/apt0.log"; fail "systemd into the root"; exit 1; }
cp "$deb" "$R/tmp/"
in_root sh -c "DEBIAN_FRONTEND=noninteractive apt-get install -y /tmp/$(basename "$deb")" >"$work/apt1.log" 2>&1
check "apt-get install ./$(basename "$deb") in a fresh Debian 12 root" eval 'grep -q "Setting up fundwatch" "$work/apt1.log" || { tail "$work/apt1.log"; false; }'

# ---- 3. what the package set up --------------------------------------------------------
v=$(in_root fundwatch --version)
check "fundwatch --version: $v" eval '[[ "$v" =~ ^fundwatch\ [0-9] ]]'
check "the system user fundwatch" eval 'in_root getent passwd fundwatch >/dev/null'
tok=$(in_root stat -c '%a %U:%G' /etc/fundwatch/token)
check "the token: $tok, 64 hex digits" eval '[ "$tok" = "640 root:fundwatch" ] && grep -qx "[0-9a-f]\{64\}" "$R/etc/fundwatch/token"'
token=$(cat "$R/etc/fundwatch/token")
check "the unit is enabled" test -L "$R/etc/systemd/system/multi-user.target.wants/fundwatch.service"
check "the config and policies are conffiles" eval 'in_root dpkg-query -W -f="\${Conffiles}\n" fundwatch | grep -q "/etc/fundwatch/policies/50/red_yellow.yaml"'
check "man fundwatch, man fundwatch.yaml, the completion" eval 'in_root man -w fundwatch >/dev/null && in_root man -w fundwatch.yaml >/dev/null && [ -e "$R/usr/share/bash-completion/completions/fundwatch" ]'
in_root fundwatch check -c /etc/fundwatch/fundwatch.yaml >"$work/check.out" 2>&1
check "fundwatch check -c /etc/fundwatch/fundwatch.yaml: $(tail -1 "$work/check.out")" eval '[ $? = 0 ] || { cat "$work/check.out"; false; }'
in_root systemd-analyze verify /lib/systemd/system/fundwatch.service >"$work/verify.out" 2>&1
check "systemd-analyze verify: no complaint" eval '[ ! -s "$work/verify.out" ] || { cat "$work/verify.out"; false; }'
sec=$(in_root systemd-analyze security --offline=true /lib/systemd/system/fundwatch.service 2>&1 | sed -n 's/.*Overall exposure level for fundwatch.service: //p')
check "systemd-analyze security: $sec" eval '[[ "$sec" == [01].* ]]'

# ---- 4. the daemon as the unit runs it ----------------------------------------------------
unit=$R/lib/systemd/system/fundwatch.service
pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
cmd=$(sed -n 's/^ExecStart=//p' "$unit")
reload=$(sed -n 's/^ExecReload=//p' "$unit")
ip netns add "$NS" && ip netns exec "$NS" ip link set lo up || { fail "a network namespace"; exit 1; }
as_unit() { # the unit's user, folder and umask
    in_ns setpriv --reuid=fundwatch --regid=fundwatch --init-groups -- \
        sh -c "cd /var/lib/fundwatch && umask 0027 && exec $*"
}
start() {
    as_unit "$pre" >>"$work/daemon.log" 2>&1 || { fail "ExecStartPre: $pre"; return 1; }
    as_unit "$cmd" >>"$work/daemon.log" 2>&1 &
    PID=$!
    for _ in $(seq 100); do
        in_ns curl -sf 127.0.0.1:9464/healthz >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    tail "$work/daemon.log"; return 1
}
mainpid() { pgrep -f "^/usr/bin/fundwatch run -c /etc/fundwatch/fundwatch.yaml" | head -1; }
stop() { kill -TERM "$(mainpid)"; wait "$PID"; local rc=$?; PID=""; return $rc; }
spool=$R/var/lib/fundwatch/spool
drop() { # as a producer: write aside, rename in
    cp "$R/usr/share/doc/fundwatch/examples/feeds/$1" "$spool/incoming/.$1.part"
    mv "$spool/incoming/.$1.part" "$spool/incoming/$1"
}
wait_done() { for _ in $(seq 100); do [ -e "$spool/done/$1" ] && return 0; sleep 0.1; done; return 1; }
findings() { in_ns curl -s -H "Authorization: Bearer $token" "127.0.0.1:9464/findings?limit=1000" | grep -o '"count":[0-9]*' | cut -d: -f2; }

check "the unit's ExecStartPre and ExecStart as user fundwatch: healthy" start
check "it runs as fundwatch" eval '[ "$(stat -c %u "/proc/$(mainpid)")" = "$(in_root id -u fundwatch)" ]'
drop yuzhong_500103_2024h1.csv
check "a feed dropped in the spool is done" wait_done yuzhong_500103_2024h1.csv
f1=$(findings)
check "it gave findings ($f1), in the outbox too" eval '[ "${f1:-0}" -gt 0 ] && [ "$(wc -l <"$R/var/lib/fundwatch/outbox.jsonl")" -ge "$f1" ]'
check "the store and outbox belong to fundwatch" eval '[ "$(in_root stat -c %U /var/lib/fundwatch/fundwatch.db /var/lib/fundwatch/outbox.jsonl | sort -u)" = fundwatch ]'
check "no read token is shipped; GET /findings needs the token" eval '! grep -q "^read_token" "$R/etc/fundwatch/fundwatch.yaml" &&
    [ "$(in_ns curl -s -o /dev/null -w "%{http_code}" 127.0.0.1:9464/findings)" = 401 ]'
check "POST needs the generated token" eval '[ "$(in_ns curl -s -o /dev/null -w "%{http_code}" -X POST 127.0.0.1:9464/reload)" = 401 ] &&
    [ "$(in_ns curl -s -o /dev/null -w "%{http_code}" -X POST -H "Authorization: Bearer $token" 127.0.0.1:9464/reload)" = 200 ]'
# an operator's edit, then the unit's ExecReload with systemd's MAINPID
echo "# site note: reviewed" >>"$R/etc/fundwatch/policies/50/red_yellow.yaml"
before=$(grep -c "in place of" "$work/daemon.log")
# systemd's reading of the line: $$ is a $, the quotes group one argument
[[ $reload == "/bin/sh -c '"*"'" ]] || fail "ExecReload is not the /bin/sh -c '...' this test reads"
script=${reload#"/bin/sh -c '"}; script=${script%"'"}; script=${script//'$$'/'$'}
in_ns setpriv --reuid=fundwatch --regid=fundwatch --init-groups \
    env MAINPID="$(mainpid)" /bin/sh -c "$script"
sleep 1.5
check "ExecReload ($reload) signals the daemon, with no /bin/kill in the root" eval '[ ! -e "$R/bin/kill" ] && grep -q "SIGHUP: reloading" "$work/daemon.log" || { tail -5 "$work/daemon.log"; false; }'
check "the edited policy is in place (a new generation)" eval '[ "$(grep -c "in place of" "$work/daemon.log")" -gt "$before" ]'
check "stops on SIGTERM with 0" stop
# without -c, from another folder: the installed config, and it says so
in_ns setpriv --reuid=fundwatch --regid=fundwatch --init-groups -- \
    sh -c 'cd / && exec /usr/bin/fundwatch run' >"$work/noc.log" 2>&1 &
PID=$!
for _ in $(seq 50); do grep -q "info main started" "$work/noc.log" && break; sleep 0.1; done
kill -TERM "$(pgrep -f '^/usr/bin/fundwatch run$' | head -1)" 2>/dev/null; wait "$PID"; PID=""
check "fundwatch run without -c uses /etc/fundwatch/fundwatch.yaml and says so" \
    grep -q "no -c given and no ./fundwatch.yaml: using /etc/fundwatch/fundwatch.yaml" "$work/noc.log"

# ---- 5. an upgrade to a rebuilt newer version --------------------------------------------
echo "# building a newer version"
up=$work/up && mkdir -p "$up" && cp -a build/deb/src/fundwatch "$up/"
newv="$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)+pkgtest1"
{ printf 'fundwatch (%s) bookworm; urgency=medium\n\n  * A rebuild to test upgrades (tests/package.sh).\n\n -- %s  %s\n\n' \
    "$newv" "$(sed -n 's/^ -- \(.*>\)  .*/\1/p' debian/changelog | head -1)" "$(date -R)"
  cat debian/changelog; } >"$up/fundwatch/debian/changelog"
(cd "$up/fundwatch" && FW_GIT_HASH=$(git -C "$repo" describe --always --dirty --exclude='*') \
    dpkg-buildpackage -us -uc -b) >"$work/deb2.log" 2>&1 || { tail "$work/deb2.log"; fail "the newer build"; exit 1; }
deb2=$(ls "$up"/fundwatch_*_*.deb | grep -v dbgsym)
cp "$deb2" "$R/tmp/"
in_root sh -c "DEBIAN_FRONTEND=noninteractive apt-get install -y /tmp/$(basename "$deb2")" >"$work/apt2.log" 2>&1
check "upgraded to $newv" eval 'in_root fundwatch --version | grep -q "fundwatch $newv" || { tail "$work/apt2.log"; false; }'
check "the token is the same" eval '[ "$(cat "$R/etc/fundwatch/token")" = "$token" ]'
check "the operator's edit of a policy is kept" grep -q "site note: reviewed" "$R/etc/fundwatch/policies/50/red_yellow.yaml"
check "started again as the unit does" start
check "the findings are kept ($(findings))" eval '[ "$(findings)" = "$f1" ]'
drop yuzhong_500103_2024q4.csv
check "a new feed is processed after the upgrade" wait_done yuzhong_500103_2024q4.csv
check "stops with 0" stop

# ---- 6. purge ------------------------------------------------------------------------------
in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y fundwatch' >"$work/apt3.log" 2>&1
check "apt-get purge fundwatch" eval '! in_root dpkg -s fundwatch >/dev/null 2>&1'
# (man-db's own cache of formatted pages, /var/cache/man, is man-db's to expire)
left=$(cd "$R" && find . -xdev \( -path ./proc -o -path ./tmp -o -path ./var/cache/man \) -prune -o -name '*fundwatch*' -print)
check "purge leaves nothing behind${left:+: $left}" [ -z "$left" ]
check "the system user stays (Debian's practice)" eval 'in_root getent passwd fundwatch >/dev/null'

# ---- 7. the same under a running systemd -------------------------------------------------
# A second fresh root booted with systemd as its init (systemd-nspawn, its
# own network): apt installs the package there while systemd runs, so the
# postinst enables and starts the unit for real, in its sandbox (seccomp
# filter, namespaces); then a feed, `systemctl reload`, an upgrade (the
# postinst restarts it), remove (stops it) and purge. The script inside
# writes TAP lines that are counted here.
if ! command -v systemd-nspawn >/dev/null; then
    apt-get install -y -qq --no-install-recommends systemd-container >/dev/null 2>&1
fi
B=$work/boot
cp -a "$base" "$B"
cp /etc/resolv.conf "$B/etc/resolv.conf"
mkdir -p "$B/root/debs" && cp "$deb" "$deb2" "$B/root/debs/" # (nspawn mounts a tmpfs on /tmp)
mount -t proc proc "$B/proc"
# systemd and the package's dependencies, fetched now: the booted root has no network
chroot "$B" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -c "apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd systemd-sysv dbus curl logrotate &&
    apt-get install -y -qq --download-only /root/debs/$(basename "$deb")" >"$work/apt-boot.log" 2>&1
umount "$B/proc"
cat >"$B/root/check.sh" <<'INNER'
#!/bin/sh
# Runs inside the booted root as a oneshot unit; TAP on /root/check.out.
exec >/root/check.out 2>&1
n=0
t() { n=$((n + 1)); if eval "$2"; then echo "ok $n - booted: $1"; else echo "not ok $n - booted: $1"; fi; }
active() { for _ in $(seq 100); do systemctl is-active -q fundwatch && return 0; sleep 0.1; done; return 1; }
healthy() { for _ in $(seq 100); do curl -sf 127.0.0.1:9464/healthz >/dev/null && return 0; sleep 0.1; done; return 1; }
count() { curl -s -H "Authorization: Bearer $(cat /etc/fundwatch/token)" '127.0.0.1:9464/findings?limit=1000' | sed -n 's/.*"count":\([0-9]*\).*/\1/p'; }
drop() {
    cp /usr/share/doc/fundwatch/examples/feeds/$1 /var/lib/fundwatch/spool/incoming/.$1.part
    mv /var/lib/fundwatch/spool/incoming/.$1.part /var/lib/fundwatch/spool/incoming/$1
    for _ in $(seq 100); do [ -e /var/lib/fundwatch/spool/done/$1 ] && return 0; sleep 0.1; done; return 1
}
deb1=$(ls /root/debs/fundwatch_*.deb | grep -v pkgtest); deb2=$(ls /root/debs/fundwatch_*pkgtest*.deb)
DEBIAN_FRONTEND=noninteractive apt-get install -y "$deb1" >/root/apt1.log 2>&1
t "apt-get install under systemd: the service is active" 'active'
t "healthy (/healthz)" 'healthy'
t "it runs as fundwatch, sandboxed (NoNewPrivileges, a seccomp filter)" \
  '[ "$(stat -c %U /proc/$(systemctl show -p MainPID --value fundwatch))" = fundwatch ] &&
   grep -q "^NoNewPrivs:[[:space:]]*1" /proc/$(systemctl show -p MainPID --value fundwatch)/status &&
   grep -q "^Seccomp:[[:space:]]*2" /proc/$(systemctl show -p MainPID --value fundwatch)/status'
t "a dropped feed gives findings" 'drop yuzhong_500103_2024h1.csv && [ "$(count)" -gt 0 ]'
reopened() { for _ in $(seq 50); do journalctl -u fundwatch -o cat | grep -q "outbox.jsonl reopened: a new file" && return 0; sleep 0.1; done; return 1; }
t "logrotate with the package's snippet: outbox.jsonl.1, SIGUSR1, a new outbox made by the service" \
  'logrotate -f /etc/logrotate.d/fundwatch && [ -s /var/lib/fundwatch/outbox.jsonl.1 ] && reopened &&
   [ "$(stat -c %U:%a /var/lib/fundwatch/outbox.jsonl)" = fundwatch:640 ]'
before=$(count)
systemctl reload fundwatch; sleep 1.5
t "systemctl reload: SIGHUP, a new generation, still active" \
  'journalctl -u fundwatch -o cat | grep -q "SIGHUP: reloading" && systemctl is-active -q fundwatch'
pid1=$(systemctl show -p MainPID --value fundwatch)
DEBIAN_FRONTEND=noninteractive apt-get install -y "$deb2" >/root/apt2.log 2>&1
t "upgraded: restarted with the newer binary" 'active && healthy && [ "$(systemctl show -p MainPID --value fundwatch)" != "$pid1" ] && fundwatch --version | grep -q pkgtest1'
t "the findings are kept ($before)" '[ -n "$before" ] && [ "$(count)" = "$before" ]'
t "a feed after the upgrade" 'drop yuzhong_500103_2024q4.csv'
t "its events go to the new outbox" '[ -s /var/lib/fundwatch/outbox.jsonl ]'
t "journal: no error line" '! journalctl -u fundwatch -p err -o cat | grep -q .'
DEBIAN_FRONTEND=noninteractive apt-get remove -y fundwatch >/root/apt3.log 2>&1
t "apt-get remove stops it and keeps the data" '! systemctl is-active -q fundwatch && [ -e /var/lib/fundwatch/fundwatch.db ]'
DEBIAN_FRONTEND=noninteractive apt-get purge -y fundwatch >>/root/apt3.log 2>&1
left=$(find / -xdev \( -path /proc -o -path /tmp -o -path /var/cache -o -path /root \) -prune -o -name '*fundwatch*' -print)
t "purge leaves nothing behind${left:+: $left}" '[ -z "$left" ]'
echo "# booted: $n checks"
systemctl poweroff
INNER
chmod +x "$B/root/check.sh"
printf '[Unit]\nAfter=multi-user.target\n[Service]\nType=oneshot\nExecStart=/root/check.sh\n[Install]\nWantedBy=multi-user.target\n' \
    >"$B/etc/systemd/system/fwcheck.service"
ln -s /etc/systemd/system/fwcheck.service "$B/etc/systemd/system/multi-user.target.wants/fwcheck.service"
echo "# booting a fresh root with systemd (systemd-nspawn)"
timeout 300 systemd-nspawn -q -D "$B" --boot --register=no --keep-unit --private-network \
    --console=pipe </dev/null >"$work/boot.log" 2>&1
if [ -s "$B/root/check.out" ]; then
    while read -r line; do
        case $line in
            "ok "*) ok "${line#ok [0-9]* - }" ;;
            "not ok "*) fail "${line#not ok [0-9]* - }" ;;
        esac
    done <"$B/root/check.out"
else
    fail "booting with systemd-nspawn: $(tail -3 "$work/boot.log" | tr '\n' ' ')"
fi

echo "# package: $((n - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
