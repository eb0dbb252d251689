# gfs2-fencing %preun ($1: 0 erase, 1 upgrade), what %systemd_preun does: stop and disable the
# unit when the package goes away, not on an upgrade.
if [ "$1" -eq 0 ]; then
    systemctl --no-reload disable --now fence-watcher.service >/dev/null 2>&1 || :
fi
