# Sourced by the loadgen benchmarks: the nginx sink (scripts/bench/nginx.conf.in:
# reads every request body, answers like the supervise API) on 127.0.0.1.
# sink_up DIR: starts it with its files under DIR; prints its port once it answers.
# sink_down DIR: stops it.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
sink_up() {
  local dir=$1 port port2
  mkdir -p "$dir/body" "$dir/proxy"
  port=$(free_port); port2=$(free_port)
  sed "s|@DIR@|$dir|g; s|@PORT@|$port|g; s|@PORT2@|$port2|g" scripts/bench/nginx.conf.in > "$dir/nginx.conf"
  nginx -c "$dir/nginx.conf" -e "$dir/error.log"
  for _ in $(seq 1 50); do curl -fsS -X POST "http://127.0.0.1:$port/api/login" >/dev/null 2>&1 && break; sleep 0.1; done
  echo "$port"
}
sink_down() { [ -f "$1/nginx.pid" ] && kill "$(cat "$1/nginx.pid")" 2>/dev/null || true; }
