#!/usr/bin/env bash
# Installs the system packages KAM Pulse runs against when they are missing (Debian/Ubuntu):
# Java 17+ and Maven (local Kafka broker), Prometheus (promtool), Alertmanager, kcat (the
# plain-client example of the wire-format docs is run with it), Chromium (the board's
# headless-browser tests).
set -euo pipefail

declare -A wanted=(
  [java]=openjdk-17-jre-headless
  [mvn]=maven
  [promtool]=prometheus
  [prometheus-alertmanager]=prometheus-alertmanager
  [kcat]=kcat
  [chromium]=chromium
)
missing=()
for cmd in "${!wanted[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${wanted[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: please install: ${missing[*]} (no apt-get on this machine)" >&2; exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
# --no-install-recommends keeps the server packages from pulling in optional extras.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
# Debian starts packaged daemons on install; the project runs its own, so stop those.
for svc in prometheus prometheus-alertmanager; do
  if command -v systemctl >/dev/null 2>&1; then $sudo systemctl stop "$svc" 2>/dev/null || true; fi
  if command -v service >/dev/null 2>&1; then $sudo service "$svc" stop >/dev/null 2>&1 || true; fi
done
