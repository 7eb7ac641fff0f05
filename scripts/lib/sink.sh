# Sourced by the loadgen benchmarks: the nginx sink (scripts/bench/nginx.conf.in:
# reads every request body, answers like the supervise API) on 127.0.0.1.
# sink_up DIR: starts it with its files under DIR; prints its port once it answers.
# sink_down DIR: stops it.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# A body over client_body_buffer_size (8 MiB: any real recording segment) is
# written to the body temp folder by nginx's worker, which runs as nobody when
# nginx is started as root: a folder under a private DIR (mktemp -d is 0700)
# made every such upload a 500. The temp folders therefore live in their own
# folder that the worker can reach and write (removed by sink_down).
sink_up() {
  local dir=$1 port port2 tmp
  mkdir -p "$dir"
  tmp=$(mktemp -d /tmp/sink-temp.XXXXXX)
  chmod 0711 "$tmp"; mkdir -m 1733 "$tmp/body" "$tmp/proxy"; chmod 1733 "$tmp/body" "$tmp/proxy"
  echo "$tmp" > "$dir/sink-temp"
  port=$(free_port); port2=$(free_port)
  sed "s|@DIR@|$dir|g; s|@TMP@|$tmp|g; s|@PORT@|$port|g; s|@PORT2@|$port2|g" scripts/bench/nginx.conf.in > "$dir/nginx.conf"
  nginx -c "$dir/nginx.conf" -e "$dir/error.log"
  for _ in $(seq 1 50); do curl -fsS -X POST "http://127.0.0.1:$port/api/login" >/dev/null 2>&1 && break; sleep 0.1; done
  echo "$port"
}
sink_down() {
  [ -f "$1/nginx.pid" ] && kill "$(cat "$1/nginx.pid")" 2>/dev/null
  [ -f "$1/sink-temp" ] && rm -rf "$(cat "$1/sink-temp")"
  true
}
