#!/usr/bin/env bash
# Local Elasticsearch nodes with the ElasticHash plugin, for development, tests and the demo.
#
#   scripts/es-node.sh start          one node on 127.0.0.1:${ES_HTTP_PORT:-9200}
#   scripts/es-node.sh stop
#   scripts/es-node.sh cluster-start  three nodes on 127.0.0.1:9201-9203, one cluster
#   scripts/es-node.sh cluster-stop
#   scripts/es-node.sh status
#
# `start` and `cluster-start` are idempotent; their last line on stdout is the base URL.
# The Elasticsearch release is the `es.version` of the root pom.xml (or $ES_VERSION, e.g. the
# pom's es8.version with the zip of `make es8-plugin`); its integ-test zip comes from Maven
# Central through Maven's cache, is unpacked under .es/, and the plugin zip built by Maven (or
# $PLUGIN_ZIP) is installed into it, again whenever it changes. 9.x runs on a JDK 21+, 8.x on
# 17+. Elasticsearch refuses to run as root, so as root the nodes run as the system user
# `elastichash` (created when missing).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Every folder above the node's files must be enterable by the unprivileged user; when the
# checkout is not (say, under /root), keep the nodes under /var/lib/elastichash instead.
reachable_by_others() {
  local dir=$1 perms
  while [ "$dir" != / ]; do
    perms=$(stat -c %a "$dir") || return 1
    (( 8#$perms & 1 )) || return 1
    dir=$(dirname "$dir")
  done
}
if [ -n "${ES_STATE_DIR:-}" ]; then
  state=$ES_STATE_DIR
elif [ "$(id -u)" -ne 0 ] || reachable_by_others "$root"; then
  state=$root/.es
else
  state=/var/lib/elastichash/$(echo "$root" | sha1sum | cut -c1-12)
fi
es_version=${ES_VERSION:-$(sed -n 's:.*<es.version>\(.*\)</es.version>.*:\1:p' "$root/pom.xml" | head -n1)}
es_home=$state/dist/elasticsearch-$es_version
run_user=elastichash
single_port=${ES_HTTP_PORT:-9200}
cluster_ports=(9201 9202 9203)

say() { echo "es-node: $*" >&2; }
die() { echo "es-node: error: $*" >&2; exit 1; }

# Elasticsearch 9 needs Java 21+, 8.x runs on 17+.
java_home() {
  local min=21
  [ "${es_version%%.*}" -ge 9 ] || min=17
  ES_JAVA_HOME=$("$root/scripts/find-jdk.sh" "$min") || exit 1
  export ES_JAVA_HOME
}

ensure_tools() {
  local missing=()
  for tool in unzip curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] && return
  [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}; install them and retry"
  say "installing ${missing[*]}"
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
}

# --- Elasticsearch distribution and plugin -------------------------------------------------

fetch_es() {
  [ -x "$es_home/bin/elasticsearch" ] && return
  local downloads=$state/downloads zip
  zip=$downloads/elasticsearch-$es_version.zip
  if [ ! -f "$zip" ]; then
    say "fetching Elasticsearch $es_version (integ-test zip) through Maven"
    mvn -q -B -Dstyle.color=never dependency:copy \
      -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$es_version:zip" \
      -DoutputDirectory="$downloads" >&2 \
      || die "Maven could not fetch Elasticsearch $es_version; is the version on Maven Central?"
  fi
  say "unpacking $zip"
  rm -rf "$es_home.partial" && mkdir -p "$es_home.partial"
  unzip -q "$zip" -d "$es_home.partial"
  mv "$es_home.partial/elasticsearch-$es_version" "$es_home" && rmdir "$es_home.partial"
}

plugin_zip() {
  local zip=${PLUGIN_ZIP:-}
  if [ -z "$zip" ]; then
    # The ES 9 zip is built in es-plugin/elasticsearch, the ES 8 one in es-plugin/elasticsearch8: same name pattern.
    zip=$(ls -t "$root"/es-plugin/*/target/elastichash-*-es"$es_version".zip 2>/dev/null | head -n1 || true)
  fi
  [ -n "$zip" ] && [ -f "$zip" ] \
    || die "no plugin zip for Elasticsearch $es_version; build it with 'make $([ "${es_version%%.*}" = 8 ] && echo es8-plugin || echo plugin)' (or set PLUGIN_ZIP)"
  echo "$zip"
}

# Installs the plugin unless this exact zip is installed already; nodes must be down.
install_plugin() {
  local zip sum marker=$es_home.plugin.sha256
  zip=$(plugin_zip)
  sum=$(sha256sum "$zip" | cut -d' ' -f1)
  [ -f "$marker" ] && [ "$(cat "$marker")" = "$sum" ] && [ -d "$es_home/plugins/elastichash" ] && return
  stop_all
  say "installing plugin $(basename "$zip")"
  rm -f "$marker"
  if [ -d "$es_home/plugins/elastichash" ]; then
    "$es_home/bin/elasticsearch-plugin" remove elastichash >&2
  fi
  "$es_home/bin/elasticsearch-plugin" install --batch "file://$zip" >&2 \
    || die "bin/elasticsearch-plugin refused $zip"
  echo "$sum" >"$marker"
}

plugin_is_current() {
  local marker=$es_home.plugin.sha256 zip
  zip=$(plugin_zip) || return 1
  [ -f "$marker" ] && [ "$(cat "$marker")" = "$(sha256sum "$zip" | cut -d' ' -f1)" ]
}

# --- nodes -----------------------------------------------------------------------------------

ensure_user() {
  [ "$(id -u)" -eq 0 ] || return 0
  id -u "$run_user" >/dev/null 2>&1 \
    || useradd --system --no-create-home --shell /usr/sbin/nologin "$run_user"
  runuser -u "$run_user" -- test -r "$es_home/bin/elasticsearch" \
    || die "user $run_user cannot read $es_home; every folder above it must be world-executable"
}

as_runner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$run_user" -- "$@"; else "$@"; fi
}

node_dir() { echo "$state/nodes/$1"; }

pid_of() { # pid of a running node, or nothing
  local pidfile
  pidfile=$(node_dir "$1")/es.pid
  [ -f "$pidfile" ] || return 0
  local pid
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Writes a node's config folder: the distribution's defaults plus our elasticsearch.yml.
configure_node() {
  local name=$1 http=$2 transport=$3 heap=$4 discovery=$5
  local dir
  dir=$(node_dir "$name")
  # A node cannot read data that a later major wrote (Lucene refuses an index "from the future"),
  # so an Elasticsearch 8 node keeps its own data folder beside the 9.x one.
  local data=$dir/data
  [ "${es_version%%.*}" -ge 9 ] || data=$dir/data-es${es_version%%.*}
  mkdir -p "$data" "$dir/logs"
  rm -rf "$dir/config" && cp -r "$es_home/config" "$dir/config"
  cat >"$dir/config/elasticsearch.yml" <<EOF
# Written by scripts/es-node.sh; rewritten at every start.
cluster.name: $([ "$discovery" = single ] && echo elastichash-dev || echo elastichash-cluster)
node.name: $name
path.data: $data
path.logs: $dir/logs
network.host: 127.0.0.1
http.port: $http
transport.port: $transport
xpack.security.enabled: false
# A development node on a shared disk: never stop allocating shards because the disk is full-ish.
cluster.routing.allocation.disk.threshold_enabled: false
EOF
  if [ "$discovery" = single ]; then
    echo "discovery.type: single-node" >>"$dir/config/elasticsearch.yml"
  else
    cat >>"$dir/config/elasticsearch.yml" <<EOF
discovery.seed_hosts: [$discovery]
cluster.initial_master_nodes: [cluster-1, cluster-2, cluster-3]
EOF
  fi
  printf -- '-Xms%s\n-Xmx%s\n' "$heap" "$heap" >"$dir/config/jvm.options.d/heap.options"
  [ "$(id -u)" -eq 0 ] && chown -R "$run_user" "$dir"
  return 0
}

# Starts one configured node as a daemon; returns once the node says it started (or failed).
launch_node() {
  local name=$1 dir
  dir=$(node_dir "$name")
  : >"$dir/console.log"
  [ "$(id -u)" -eq 0 ] && chown "$run_user" "$dir/console.log"
  if ! as_runner env ES_JAVA_HOME="$ES_JAVA_HOME" ES_PATH_CONF="$dir/config" \
    "$es_home/bin/elasticsearch" -d -p "$dir/es.pid" >>"$dir/console.log" 2>&1; then
    show_failure "$name"
    return 1
  fi
}

show_failure() {
  local dir
  dir=$(node_dir "$1")
  say "node $1 failed to start; the end of its output and log:"
  tail -n 30 "$dir/console.log" >&2 || true
  local log
  log=$(ls -t "$dir"/logs/*.log 2>/dev/null | grep -v -e /gc -e deprecation -e audit -e slowlog | head -n1 || true)
  [ -n "$log" ] && tail -n 40 "$log" >&2
  return 0
}

# Green for a cluster; yellow (every primary shard allocated) for a single node, which can never
# allocate the replicas of an index created with number_of_replicas > 0.
wait_healthy() { # url, nodes
  local url=$1 nodes=$2 deadline=$((SECONDS + 120)) status=green
  [ "$nodes" -eq 1 ] && status=yellow
  while [ $SECONDS -lt $deadline ]; do
    if curl -sf "$url/_cluster/health?wait_for_nodes=$nodes&wait_for_status=$status&timeout=10s" >/dev/null; then
      return 0
    fi
    sleep 1
  done
  return 1
}

stop_node() {
  local name=$1 pid
  pid=$(pid_of "$name")
  [ -n "$pid" ] || { rm -f "$(node_dir "$name")/es.pid"; return 0; }
  say "stopping node $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "node $name did not stop in 60 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(node_dir "$name")/es.pid"
}

stop_all() {
  for dir in "$state"/nodes/*/; do
    [ -d "$dir" ] && stop_node "$(basename "$dir")"
  done
  return 0
}

# Starts the named nodes (name:http:transport ...) unless all run with the current plugin.
start_nodes() { # discovery heap specs...
  local discovery=$1 heap=$2
  shift 2
  local specs=("$@") first_port=${1#*:}
  first_port=${first_port%%:*}
  local url=http://127.0.0.1:$first_port running=1
  for spec in "${specs[@]}"; do [ -n "$(pid_of "${spec%%:*}")" ] || running=0; done
  if [ $running -eq 1 ] && plugin_is_current && wait_healthy "$url" "${#specs[@]}"; then
    say "already running: Elasticsearch $es_version with the current plugin"
    echo "$url"
    return 0
  fi
  java_home
  ensure_tools
  fetch_es
  install_plugin
  ensure_user
  for spec in "${specs[@]}"; do
    IFS=: read -r name http transport <<<"$spec"
    stop_node "$name"
    port_taken "$http" && die "port $http is taken by another program; stop it or set ES_HTTP_PORT"
    configure_node "$name" "$http" "$transport" "$heap" "$discovery"
  done
  say "starting ${#specs[@]} node(s) of Elasticsearch $es_version on $url"
  # In parallel: a cluster node waits for its peers before it reports itself started.
  local pids=() failed=0
  for spec in "${specs[@]}"; do
    launch_node "${spec%%:*}" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  if [ $failed -eq 1 ] || ! wait_healthy "$url" "${#specs[@]}"; then
    [ $failed -eq 1 ] || for spec in "${specs[@]}"; do show_failure "${spec%%:*}"; done
    for spec in "${specs[@]}"; do stop_node "${spec%%:*}"; done
    die "Elasticsearch did not become healthy on $url"
  fi
  echo "$url"
}

case ${1:-} in
  start)
    start_nodes single "${ES_HEAP:-1g}" "single:$single_port:$((single_port + 100))"
    ;;
  stop)
    stop_node single
    ;;
  cluster-start)
    seeds=127.0.0.1:9301,127.0.0.1:9302,127.0.0.1:9303
    start_nodes "$seeds" "${ES_HEAP:-512m}" \
      "cluster-1:${cluster_ports[0]}:9301" "cluster-2:${cluster_ports[1]}:9302" "cluster-3:${cluster_ports[2]}:9303"
    ;;
  cluster-stop)
    for n in cluster-1 cluster-2 cluster-3; do stop_node "$n"; done
    ;;
  status)
    echo "node files: $state"
    for dir in "$state"/nodes/*/; do
      [ -d "$dir" ] || continue
      name=$(basename "$dir")
      pid=$(pid_of "$name")
      port=$(sed -n 's/^http.port: //p' "$dir/config/elasticsearch.yml" 2>/dev/null)
      if [ -n "$pid" ]; then echo "$name: running (pid $pid) on http://127.0.0.1:$port"; else echo "$name: stopped"; fi
    done
    ;;
  *)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
