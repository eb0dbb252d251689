# gfs2-fencing %post ($1: 1 install, 2 upgrade), what %systemd_post and %tmpfiles_create do.
# The unit is not enabled: the admin configures a backend first (as sbd's package does).
systemctl daemon-reload >/dev/null 2>&1 || :
systemd-tmpfiles --create /usr/lib/tmpfiles.d/gfs2-fencing.conf >/dev/null 2>&1 || :
