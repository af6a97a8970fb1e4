#!/usr/bin/env bash
# bench/audit_export.sh [N] — peak RSS of the server while it streams an N-entry
# (default 1,000,000) audit log as CSV, against its idle RSS. Needs build/ (release).
# Prints VmRSS idle, VmHWM after the export and the RssAnon/RssFile split: LMDB reads
# through a shared file mapping, so pages the export touches show up in RssFile.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
bin=build/bench/audit_export_bench
dir=$(mktemp -d /tmp/tollgate-audit-XXXXXX)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
"$bin" fill "$dir/data" "$n"
"$bin" serve "$dir/data" > "$dir/port" &
pid=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.1; done
port=$(cat "$dir/port")
base=http://127.0.0.1:$port/api/v1/security
token=$(curl -sf -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"Admin-Password-1"}' "$base/auth/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
sleep 1
echo 5 > "/proc/$pid/clear_refs"  # reset VmHWM to the current RSS
grep -E 'VmRSS|VmHWM|RssAnon|RssFile' "/proc/$pid/status" | sed 's/^/idle   /'
start=$(date +%s.%N)
bytes=$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"format":"csv"}' "$base/audit/export" | wc -c)
end=$(date +%s.%N)
grep -E 'VmRSS|VmHWM|RssAnon|RssFile' "/proc/$pid/status" | sed 's/^/after  /'
echo "exported $bytes bytes in $(echo "$end - $start" | bc) s"
