#!/usr/bin/env bash
# Local Prometheus Alertmanager (Debian package prometheus-alertmanager) for the notifier.
#
#   alertmanager.sh start [--port P] [--dir D] [--webhook URL]   start on 127.0.0.1:P, wait until ready
#   alertmanager.sh stop  [--dir D]                              stop the one started in D
#
# Clustering is off; data and config live in D. With --webhook, Alertmanager's own notifications
# (firing and resolved) go to URL. `start` prints the base URL on its last line of stdout.
# Install: apt-get update && apt-get install -y prometheus-alertmanager
set -euo pipefail

binary="${KAM_ALERTMANAGER_BINARY:-$(command -v prometheus-alertmanager || echo /usr/bin/prometheus-alertmanager)}"
port=9093
dir="${KAM_ALERTMANAGER_DIR:-${TMPDIR:-/tmp}/kam-alertmanager}"
webhook=""

die() { echo "alertmanager.sh: $*" >&2; exit 1; }

cmd="${1:-}"; shift || true
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --webhook) webhook="$2"; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done

write_config() {
  if [ -z "$webhook" ]; then
    printf 'route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n' >"$dir/alertmanager.yml"
  else
    printf 'route:\n  receiver: hook\n  group_by: [account_id]\n  group_wait: 0s\n  group_interval: 1s\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: %s\n        send_resolved: true\n' \
      "$webhook" >"$dir/alertmanager.yml"
  fi
}

start() {
  [ -x "$binary" ] || die "prometheus-alertmanager not found (apt-get install -y prometheus-alertmanager)"
  mkdir -p "$dir/data"
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    die "already running (pid $(cat "$dir/pid")); stop it first"
  fi
  write_config
  nohup "$binary" --config.file="$dir/alertmanager.yml" --storage.path="$dir/data" \
    --web.listen-address="127.0.0.1:$port" --cluster.listen-address= \
    >"$dir/alertmanager.log" 2>&1 &
  echo $! >"$dir/pid"
  for _ in $(seq 1 150); do
    if curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
      echo "http://127.0.0.1:$port"
      return 0
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || die "exited; see $dir/alertmanager.log"
    sleep 0.2
  done
  stop
  die "not ready after 30 s; see $dir/alertmanager.log"
}

stop() {
  [ -f "$dir/pid" ] || return 0
  pid="$(cat "$dir/pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$dir/pid"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) die "usage: alertmanager.sh start|stop [--port P] [--dir D] [--webhook URL]" ;;
esac
