#!/usr/bin/env bash
# A multi-process Tandem on one machine: etcd + NATS, two workers and one frontend as separate processes.
# Needs etcd and nats-server on PATH (Debian: apt-get install etcd-server etcd-client nats-server).
# Usage: examples/multi-process/run.sh [ENGINE]   (ENGINE: sim (default) or native)   Ctrl-C stops everything.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ENGINE=${1:-sim}
WORK=$(mktemp -d /tmp/tandem-example.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
command -v etcd >/dev/null && command -v nats-server >/dev/null || {
  echo "needs etcd and nats-server (apt-get install etcd-server etcd-client nats-server)" >&2; exit 1; }

"$ROOT/bin/tandem" --help >/dev/null   # build once before starting several JVMs
etcd --name tandem --data-dir "$WORK/etcd" --listen-client-urls http://127.0.0.1:2379 \
  --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
  --initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster tandem=http://127.0.0.1:2380 \
  >"$WORK/etcd.log" 2>&1 & PIDS+=($!)
nats-server -a 127.0.0.1 -p 4222 >"$WORK/nats.log" 2>&1 & PIDS+=($!)
sleep 2
D=etcd://127.0.0.1:2379; E=nats://127.0.0.1:4222
for w in w1 w2; do
  "$ROOT/bin/tandem" worker --engine "$ENGINE" --instance-id "$w" --discovery "$D" --events "$E" \
    >"$WORK/$w.log" 2>&1 & PIDS+=($!)
done
"$ROOT/bin/tandem" frontend --port 8000 --discovery "$D" --events "$E" >"$WORK/frontend.log" 2>&1 & PIDS+=($!)
for _ in $(seq 1 120); do curl -sf http://127.0.0.1:8000/v1/models >/dev/null && break; sleep 1; done
echo "Tandem is serving on http://127.0.0.1:8000/v1 (logs in $WORK). Try:"
echo "  curl -s http://127.0.0.1:8000/v1/chat/completions -H 'Content-Type: application/json' \\"
echo "    -d '{\"model\":\"tandem-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"max_tokens\":16}'"
echo "  ETCDCTL_API=3 etcdctl get --prefix tandem/v1/ --keys-only"
wait
