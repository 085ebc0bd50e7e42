#!/usr/bin/env bash
# Local single-node Apache Kafka 4.x (KRaft) without Docker.
#
#   kafka.sh fetch                         download the broker jars (cached)
#   kafka.sh start [--port P] [--dir D]    format D, start on 127.0.0.1:P, wait until ready
#   kafka.sh stop  [--dir D]               stop the broker started in D (SIGTERM, then SIGKILL)
#   kafka.sh restart [--dir D]             stop it and start it again: same port, data kept
#   kafka.sh status [--dir D]
#
# When KAFKA_BOOTSTRAP_SERVERS is set, `start` does nothing: that cluster is used. `stop` always
# stops the broker this script started in D (its pid file), whatever KAFKA_BOOTSTRAP_SERVERS says.
# `start` prints the bootstrap address (127.0.0.1:P) on its last line of stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${KAM_KAFKA_CACHE:-$here/.cache}"
lib="$cache/lib"
port=9092
dir="${KAM_KAFKA_DIR:-$here/.run}"

die() { echo "kafka.sh: $*" >&2; exit 1; }

cmd="${1:-}"; shift || true
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done

fetch() {
  [ -f "$lib/.complete" ] && return 0
  command -v java >/dev/null || die "Java 17+ is required to run the local Kafka broker (apt-get install openjdk-17-jre-headless)."
  command -v mvn >/dev/null || die "Maven is required to fetch the Kafka jars (apt-get install maven)."
  echo "kafka.sh: fetching Kafka jars from Maven Central into $lib" >&2
  rm -rf "$lib"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$lib" -DincludeScope=runtime >&2 || die "Maven could not fetch the Kafka jars."
  touch "$lib/.complete"
}

java_args() {
  # shellcheck disable=SC2206
  JAVA=(java ${KAM_KAFKA_HEAP:--Xms256m -Xmx512m} -XX:+UseG1GC -Djava.awt.headless=true
        -Dlog4j2.configurationFile="$here/log4j2.properties" -cp "$lib/*")
}

write_config() {
  local ctrl_port="$1"
  mkdir -p "$dir/data" "$dir/logs"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${ctrl_port}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${ctrl_port}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=4194304
log.segment.bytes=67108864
EOF
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

is_running() {
  [ -f "$dir/broker.pid" ] && kill -0 "$(cat "$dir/broker.pid")" 2>/dev/null
}

start() {
  if [ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
    echo "kafka.sh: KAFKA_BOOTSTRAP_SERVERS is set; using $KAFKA_BOOTSTRAP_SERVERS, starting nothing" >&2
    echo "$KAFKA_BOOTSTRAP_SERVERS"; return 0
  fi
  is_running && die "a broker is already running from $dir (pid $(cat "$dir/broker.pid"))"
  fetch
  rm -rf "$dir"
  write_config "$(free_port)"
  local cluster_id
  java_args
  cluster_id=$("${JAVA[@]}" kafka.tools.StorageTool random-uuid)
  "${JAVA[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
    >"$dir/logs/format.log" 2>&1 || die "formatting failed, see $dir/logs/format.log"
  launch
}

# Run the formatted broker of $dir (its config, data and port) and wait until it serves.
launch() {
  java_args
  "${JAVA[@]}" kafka.Kafka "$dir/server.properties" >"$dir/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/broker.pid"
  local deadline=$((SECONDS + ${KAM_KAFKA_START_TIMEOUT:-60}))
  until grep -q "Kafka Server started" "$dir/logs/stdout.log" 2>/dev/null \
        && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! is_running; then tail -20 "$dir/logs/stdout.log" >&2; die "broker exited during start-up"; fi
    [ $SECONDS -lt $deadline ] || { stop; die "broker not ready after ${KAM_KAFKA_START_TIMEOUT:-60}s"; }
    sleep 0.2
  done
  echo "kafka.sh: broker ready on 127.0.0.1:$port (pid $(cat "$dir/broker.pid"), dir $dir)" >&2
  echo "127.0.0.1:$port"
}

stop() {
  is_running || { rm -f "$dir/broker.pid"; return 0; }
  local pid; pid=$(cat "$dir/broker.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "kafka.sh: broker $pid did not stop in 20s, killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/broker.pid"
  echo "kafka.sh: broker stopped" >&2
}

# Stop the broker of $dir and start it again on the same port, keeping its data.
restart() {
  [ -f "$dir/server.properties" ] || die "no broker was started from $dir"
  port=$(sed -n 's/^advertised.listeners=PLAINTEXT:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$dir/server.properties")
  stop
  launch
}

case "$cmd" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  restart) restart ;;
  status) if is_running; then echo "running (pid $(cat "$dir/broker.pid"))"; else echo "stopped"; exit 1; fi ;;
  *) die "usage: kafka.sh fetch|start|stop|status [--port P] [--dir D]" ;;
esac
