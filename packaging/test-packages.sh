#!/usr/bin/env bash
# The packages, tested as an admin would meet them (issue 14). Needs root: it installs the
# Debian package into this machine's root, smoke-tests it, purges it and checks that nothing is
# left, then restores whatever files of the same names were there before (the system tests copy
# target/debug's agent to /usr/sbin). Builds both packages first (make deb rpm).
#
#   deb: lintian (no error); dpkg -i; the agent's metadata valid against Pacemaker's
#        metadata.rng, from /usr/sbin; stonith_admin --metadata; man -w finds every page;
#        systemd-analyze verify and security (the exposure score is printed, and must stay at
#        or below MAX_EXPOSURE); no system call the unit denies is made by fence_ipmilan,
#        fence_virsh or fence_watcher (strace); the shipped configuration refused with what to fill in, and
#        accepted once filled in; the tmpfiles.d and logrotate files work; the unit is not
#        enabled; the installed files are packaging/install.list, and so is `make install`;
#        dpkg --purge leaves nothing.
#   rpm: rpm -qlp, --dump (modes, %config), --scripts, --recommends/--suggests against the
#        same list; rpmlint (no error; its filters and their reasons are in
#        packaging/rpm/gfs2-fencing.rpmlintrc).
#
# Exit status 0 when every check passed; the first failed check says what and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_EXPOSURE="${MAX_EXPOSURE:-4.0}"
PKG=gfs2-fencing
UNIT=/usr/lib/systemd/system/fence-watcher.service
WORK=$(mktemp -d /dev/shm/gfs2-pkgtest.XXXXXX)
BACKUP="$WORK/backup"
INSTALLED=""
RUN_EXISTED=""
[[ -e /run/gfs2-fencing ]] && RUN_EXISTED=1
STARTED=""
LOG_ASIDE=""  # event logs of earlier runs of the agent, kept aside from the purge

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# The destinations of the list (the one list of what is installed).
list_dests() { grep -v '^#' packaging/install.list | awk 'NF { print $2 }' | sort; }
list_modes() { grep -v '^#' packaging/install.list | awk 'NF { printf "%s %s\n", $2, substr($1, 2) }' | sort; }
list_configs() { grep -v '^#' packaging/install.list | awk '$4 == "config" { print $2 }' | sort; }

restore() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $INSTALLED ]]; then
        echo "cleaning up: purging $PKG"
        dpkg --purge "$PKG" >/dev/null 2>&1 || true
    fi
    if [[ -d $BACKUP ]]; then
        (cd "$BACKUP" && find . -type f) | while read -r f; do
            install -D -m "$(stat -c %a "$BACKUP/$f")" "$BACKUP/$f" "/${f#./}"
            echo "restored /${f#./}"
        done
    fi
    # Even when a check failed half-way: what the package made and was not there before goes.
    if [[ -n $STARTED ]]; then
        [[ -z $RUN_EXISTED ]] && rm -rf /run/gfs2-fencing
        rm -rf /var/log/gfs2-fencing
    fi
    if [[ -n $LOG_ASIDE ]]; then
        mv "$WORK/var-log" /var/log/gfs2-fencing
        echo "restored /var/log/gfs2-fencing"
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap restore EXIT INT TERM

[[ $(id -u) -eq 0 ]] || fail "must run as root (it installs the package)"
grep -q "install ok installed" <<<"$(dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null)" &&
    fail "$PKG is installed on this machine already; this test would remove it"
STARTED=1  # from here on, the clean-up removes what the package made

echo "== build: make deb rpm"
make deb rpm
DEB=$(ls target/packages/${PKG}_*.deb)
RPM=$(ls target/packages/${PKG}-*.rpm)
echo "$DEB"
echo "$RPM"

echo "== deb: lintian"
lintian --fail-on error --suppress-tags initial-upload-closes-no-bugs "$DEB" ||
    fail "lintian found errors"
ok "lintian: no error"

echo "== deb: what it contains"
dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort >"$WORK/deb-files"
# dpkg's own: the copyright and the Debian changelog.
list_dests | cat - <(printf '%s\n' /usr/share/doc/$PKG/copyright /usr/share/doc/$PKG/changelog.Debian.gz) |
    sort >"$WORK/want-deb"
diff -u "$WORK/want-deb" "$WORK/deb-files" || fail "the deb's files are not packaging/install.list"
dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles | sort >"$WORK/deb-conffiles"
diff -u <(list_configs) "$WORK/deb-conffiles" || fail "the deb's conffiles are not the list's"
grep -qw fence-agents <<<"$(dpkg-deb -f "$DEB" Recommends)" || fail "fence-agents is not recommended"
grep -qw ipmitool <<<"$(dpkg-deb -f "$DEB" Suggests)" || fail "ipmitool is not suggested"
grep -qw fence-agents <<<"$(dpkg-deb -f "$DEB" Depends)" && fail "fence-agents is required, not recommended"
ok "files, conffiles, Recommends and Suggests are the list's"

echo "== make install DESTDIR: the same tree"
make install DESTDIR="$WORK/destdir" >/dev/null
(cd "$WORK/destdir" && find . -type f -printf '/%P %m\n' | sort) >"$WORK/make-modes"
diff -u <(list_modes) "$WORK/make-modes" || fail "make install does not install the list"
dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6, $1 }' | sort >"$WORK/deb-perms"
while read -r path mode; do
    perm=$(awk -v p="$path" '$1 == p { print $2 }' "$WORK/deb-perms")
    want=$(stat -c %A "$WORK/destdir$path")
    [[ $perm == "$want" ]] || fail "$path: the deb has $perm, make install $want"
done <"$WORK/make-modes"
ok "make install and the deb install the same files with the same modes"

echo "== deb: install (files of the same names are kept aside and restored afterwards)"
while read -r dest; do
    if [[ -e $dest ]]; then
        install -D -m "$(stat -c %a "$dest")" "$dest" "$BACKUP$dest"
        echo "kept aside: $dest"
    fi
done < <(list_dests)
if [[ -e /var/log/gfs2-fencing ]]; then
    mv /var/log/gfs2-fencing "$WORK/var-log"
    LOG_ASIDE=1
    echo "kept aside: /var/log/gfs2-fencing"
fi
INSTALLED=1
dpkg -i "$DEB"
grep -q "install ok installed" <<<"$(dpkg-query -W -f='${Status}\n' "$PKG")" || fail "not installed"
[[ ! -e /etc/systemd/system/multi-user.target.wants/fence-watcher.service ]] ||
    fail "the package enabled the unit"
ok "installed; the unit is not enabled"

echo "== deb: smoke test of the installed files"
/usr/sbin/fence_gfs2_recorder -o metadata |
    xmllint --relaxng /usr/share/cluster/relaxng/metadata.rng --noout - ||
    fail "the installed agent's metadata is not valid against metadata.rng"
stonith_admin --metadata --agent fence_gfs2_recorder >"$WORK/stonith-metadata" ||
    fail "stonith_admin --metadata --agent fence_gfs2_recorder failed"
grep -q '<resource-agent name="fence_gfs2_recorder"' "$WORK/stonith-metadata" ||
    fail "stonith_admin did not print the agent's metadata"
ok "metadata valid; stonith_admin finds the agent"
for page in 8:fence_gfs2_recorder 8:fence_watcher 8:gfs2-fencing 5:fence-watcher.toml; do
    found=$(man -w "${page%%:*}" "${page#*:}") || fail "man -w ${page/:/ } found nothing"
    echo "man: $found"
done
systemd-analyze verify "$UNIT" || fail "systemd-analyze verify $UNIT"
exposure=$(systemd-analyze security --offline=yes "$UNIT" | awk '/Overall exposure level/ { print $(NF-2) }')
echo "systemd-analyze security: exposure $exposure (at most $MAX_EXPOSURE)"
awk -v e="$exposure" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e != "" && e <= m) }' ||
    fail "exposure $exposure is above $MAX_EXPOSURE"
grep -q '^ExecReload=/usr/sbin/fence_watcher --check-config$' "$UNIT" ||
    fail "the unit's reload does not check the configuration"

# The unit's system-call deny-list against what fence agents really call: fence_ipmilan (python,
# forks ipmitool, UDP), fence_virsh (ssh through pexpect, TCP), and the installed daemon, traced
# with strace down to their failure against closed local ports (no BMC needed to start, fork,
# open sockets and read /etc).
groups=$(sed -n 's/^SystemCallFilter=~//p' "$UNIT")
[[ -n $groups ]] || fail "the unit has no SystemCallFilter deny-list"
for g in $groups; do systemd-analyze syscall-filter "$g" | sed -n 's/^ \+\([a-z_0-9]\+\)$/\1/p'; done |
    sort -u >"$WORK/denied"
[[ -s $WORK/denied ]] || fail "systemd-analyze syscall-filter listed nothing for $groups"
mkdir -m 0750 "$WORK/rq" "$WORK/rs"
strace -f -qq -o "$WORK/strace.ipmilan" timeout 30 fence_ipmilan --ip=127.0.0.1 --ipport=1 \
    --username=x --password=y --lanplus --cipher=3 -o status >/dev/null 2>&1 || true
strace -f -qq -o "$WORK/strace.virsh" timeout 30 fence_virsh --ip=127.0.0.1 --ipport=1 \
    --username=x --password=y -n n1 -o status >/dev/null 2>&1 || true
strace -f -qq -o "$WORK/strace.watcher" timeout -s TERM 3 /usr/sbin/fence_watcher --simulate \
    --config /dev/null --request-dir "$WORK/rq" --response-dir "$WORK/rs" >/dev/null 2>&1 || true
for t in ipmilan virsh watcher; do
    grep -q execve "$WORK/strace.$t" || fail "strace of $t traced nothing"
    used=$(sed -n 's/^[0-9]\+ \+\([a-z_0-9]\+\)(.*/\1/p' "$WORK/strace.$t" | sort -u | comm -12 - "$WORK/denied")
    [[ -z $used ]] || fail "$t calls what the unit denies: $(echo $used)"
done
ok "fence_ipmilan, fence_virsh and fence_watcher make no call the unit denies ($(wc -l <"$WORK/denied") denied)"

conf=/etc/gfs2-fencing/fence-watcher.toml
[[ $(stat -c '%a %U %G' "$conf") == "640 root root" ]] || fail "$conf: $(stat -c '%a %U %G' "$conf")"
if /usr/sbin/fence_watcher --check-config >"$WORK/check.out" 2>&1; then
    fail "the shipped configuration passes --check-config, but it configures no backend"
fi
for needle in '[backends.NAME]' '[[topology]]' 'man 5 fence-watcher.toml'; do
    grep -qF "$needle" "$WORK/check.out" || fail "--check-config does not say $needle: $(cat "$WORK/check.out")"
done
echo "shipped configuration: $(cat "$WORK/check.out")"
# Filled in as its comments say: the fence_ipmilan example uncommented, the password file made.
install -m 0600 /dev/null "$WORK/ipmi.password"
echo secret >"$WORK/ipmi.password"
sed -e '/^# \[backends.ipmi\]/,/^# levels/ s/^# //' -e "s|/etc/gfs2-fencing/ipmi.password|$WORK/ipmi.password|" \
    "$conf" >"$WORK/filled.toml"
/usr/sbin/fence_watcher --check-config --config "$WORK/filled.toml" ||
    fail "the shipped configuration, filled in as it says, is refused"
ok "shipped configuration: 0640 root, refused with what to fill in, accepted once filled in"

systemd-tmpfiles --create /usr/lib/tmpfiles.d/gfs2-fencing.conf
for d in /run/gfs2-fencing/requests /run/gfs2-fencing/responses /var/log/gfs2-fencing; do
    [[ $(stat -c '%a %U' "$d") == "750 root" ]] || fail "$d: $(stat -c '%a %U' "$d")"
done
grep -q '^[^#]*copytruncate' /etc/logrotate.d/$PKG && fail "the logrotate file truncates"
echo "line" >/var/log/gfs2-fencing/fence-events.log
logrotate -d -s "$WORK/logrotate.state" /etc/logrotate.d/$PKG >"$WORK/logrotate.out" 2>&1 ||
    fail "logrotate -d: $(cat "$WORK/logrotate.out")"
grep -q "considering log /var/log/gfs2-fencing/fence-events.log" "$WORK/logrotate.out" ||
    fail "logrotate does not see the event logs: $(cat "$WORK/logrotate.out")"
logrotate -f -s "$WORK/logrotate.state" /etc/logrotate.d/$PKG
[[ -e /var/log/gfs2-fencing/fence-events.log.1 ]] || fail "logrotate did not rotate the event log"
ok "tmpfiles.d made the directories 0750 root; logrotate rotates the event logs"

echo "== deb: purge"
dpkg --purge "$PKG"
INSTALLED=""
left=""
while read -r dest; do
    [[ -e $dest && ! -e $BACKUP$dest ]] && left+=" $dest"
done < <(list_dests)
for p in /etc/gfs2-fencing /var/log/gfs2-fencing /usr/share/doc/$PKG /usr/share/$PKG \
    /var/lib/systemd/deb-systemd-helper-enabled/fence-watcher.service.dsh-also \
    /var/lib/systemd/deb-systemd-helper-masked/fence-watcher.service; do
    [[ -e $p ]] && left+=" $p"
done
[[ -z $RUN_EXISTED && -e /run/gfs2-fencing ]] && left+=" /run/gfs2-fencing"
[[ -z $left ]] || fail "left after purge:$left"
grep -q "ok installed" <<<"$(dpkg-query -W -f='${Status}\n' "$PKG" 2>/dev/null || true)" && fail "still installed"
ok "purged: nothing left"

echo "== rpm: files, modes, %config, scriptlets, dependencies"
rpm -qlp "$RPM" 2>/dev/null | sort >"$WORK/rpm-files"
diff -u <(list_dests) "$WORK/rpm-files" || fail "the rpm's files are not packaging/install.list"
# --dump: path size mtime digest mode owner group isconfig isdoc rdev symlink
rpm -qp --dump "$RPM" 2>/dev/null |
    awk '{ printf "%s %o\n", $1, strtonum("0" $5) % 4096 }' | sort >"$WORK/rpm-modes"
diff -u <(list_modes) "$WORK/rpm-modes" || fail "the rpm's modes are not the list's"
rpm -qp --configfiles "$RPM" 2>/dev/null | sort >"$WORK/rpm-configs"
diff -u <(list_configs) "$WORK/rpm-configs" || fail "the rpm's %config files are not the list's"
rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' "$RPM" 2>/dev/null |
    awk '$2 ~ /c/ && $2 !~ /n/ { print }' | grep . && fail "a %config file without noreplace"
rpm -qp --scripts "$RPM" 2>/dev/null >"$WORK/rpm-scripts"
for s in post preun postun; do
    grep -qF "$(grep -v '^#' packaging/rpm/$s.sh | head -1)" "$WORK/rpm-scripts" ||
        fail "the rpm's scriptlets lack packaging/rpm/$s.sh"
done
grep -Eq 'systemctl[^#]*[[:space:]](enable|preset)([[:space:]]|$)' "$WORK/rpm-scripts" &&
    fail "an rpm scriptlet enables the unit"
grep -q '^fence-agents-all' <<<"$(rpm -qp --recommends "$RPM" 2>/dev/null)" || fail "rpm: no Recommends fence-agents-all"
grep -q '^ipmitool' <<<"$(rpm -qp --suggests "$RPM" 2>/dev/null)" || fail "rpm: no Suggests ipmitool"
grep -q fence-agents <<<"$(rpm -qp --requires "$RPM" 2>/dev/null)" && fail "rpm: fence-agents is required"
ok "rpm: files, modes, %config(noreplace), scriptlets and weak dependencies are the list's"

echo "== rpm: rpmlint"
# The filters, each with its reason: packaging/rpm/gfs2-fencing.rpmlintrc.
rpmlint -r packaging/rpm/gfs2-fencing.rpmlintrc "$RPM" || fail "rpmlint found errors"
ok "rpmlint: no error"
echo "package tests passed"
