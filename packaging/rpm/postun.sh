# gfs2-fencing %postun ($1: 0 erase, 1 upgrade), what %systemd_postun_with_restart does: restart
# a running daemon on the new binary after an upgrade.
systemctl daemon-reload >/dev/null 2>&1 || :
if [ "$1" -ge 1 ]; then
    systemctl try-restart fence-watcher.service >/dev/null 2>&1 || :
fi
