# Shared by the netlab scripts: names, addresses, where the wires' PIDs live.
# shellcheck shell=bash
P=${NETLAB_PREFIX:-sl}
STATE=/run/netlab-$P
addr() {
  case $1 in
    master) echo 10.231.0.10 ;;
    server) echo 10.231.0.20 ;;
    w1) echo 10.231.0.31 ;;
    w2) echo 10.231.0.32 ;;
    w3) echo 10.231.0.33 ;;
    *) echo "netlab: no host $1" >&2; return 2 ;;
  esac
}
