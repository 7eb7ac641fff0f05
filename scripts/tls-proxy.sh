#!/usr/bin/env bash
# A real TLS front for tests: a throw-away CA and a server certificate for
# 127.0.0.1/localhost made with openssl, and Debian's nginx (installed when
# missing) terminating TLS on 127.0.0.1 in front of UPSTREAM, setting
# X-Real-IP as a deployment's proxy does. Also makes an unrelated CA
# (DIR/other-ca.pem) to prove a wrong trust anchor fails.
# Usage: scripts/tls-proxy.sh up DIR UPSTREAM_URL   (prints https://127.0.0.1:PORT)
#        scripts/tls-proxy.sh down DIR
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 up DIR UPSTREAM_URL | down DIR" >&2; exit 2; }
if [ "$cmd" = down ]; then
  [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
  exit 0
fi
upstream=${3:?upstream URL}
if ! command -v nginx >/dev/null || ! command -v openssl >/dev/null; then
  sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq nginx-light openssl >/dev/null
fi
mkdir -p "$dir/body" "$dir/proxy"
ca() { # name
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$dir/$1.key" -out "$dir/$1.pem" -subj "/CN=loadgen test $1" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
ca ca; ca other-ca
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$dir/server.key" \
  -out "$dir/server.csr" -subj "/CN=127.0.0.1" 2>/dev/null
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" > "$dir/server.ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
  -days 2 -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed "s|@DIR@|$dir|g; s|@PORT@|$port|g; s|@UPSTREAM@|${upstream#http://}|g" "$repo/scripts/tls/nginx.conf.in" > "$dir/nginx.conf"
nginx -c "$dir/nginx.conf" -e "$dir/error.log"
for _ in $(seq 1 50); do
  curl -fsS --cacert "$dir/ca.pem" "https://127.0.0.1:$port/api/health" >/dev/null 2>&1 && break
  sleep 0.1
done
echo "https://127.0.0.1:$port"
