#!/bin/sh
# Example: one Coffer worker under spawn-fcgi, as an operator might run it
# from an init system instead of the built-in prefork master.
#
# spawn-fcgi creates the listening unix socket, hands it to the worker as
# fd 0 (FCGI_LISTENSOCK_FILENO) and execs it; `--single` makes coffer-fcgi
# serve that inherited socket in this one process (no master, no forking).
# Supervision (restart on exit), the number of processes and log capture are
# then the init system's job; run several of these on different sockets and
# list them all in nginx's `upstream coffer_fcgi` block
# (nginx/render FCGI_UPSTREAM="unix:/run/coffer/a.sock unix:/run/coffer/b.sock").
#
#   -s   socket path (created by spawn-fcgi; nginx must be able to connect)
#   -M   socket mode: 0660 + -U/-G (socket owner) so nginx's group can connect
#   -u/-g  drop to this user/group before exec when started as root
#   -n   stay in the foreground (no fork), so systemd/runit can supervise it
#   --   the worker's command line; it reads the config as usual
#        (listen must be empty there, or is ignored with --single)
#
# The worker logs one line per request to stderr.
set -e

SOCKET=${SOCKET:-/run/coffer/coffer.sock}
CONFIG=${CONFIG:-/etc/coffer/coffer.conf}
WORKER=${WORKER:-/usr/local/bin/coffer-fcgi}   # or build/coffer-fcgi from a checkout

mkdir -p "$(dirname "$SOCKET")"
exec spawn-fcgi -s "$SOCKET" -M 0660 -U coffer -G www-data -u coffer -g coffer -n \
	-- "$WORKER" -c "$CONFIG" --single
