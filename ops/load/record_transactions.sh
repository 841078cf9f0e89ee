#!/usr/bin/env bash
# Command throughput over HTTP until `fiscaflow bench` exists (issue 9): starts
# `fiscaflow serve` on a fresh database of the local PostgreSQL, registers a user, opens
# 64 accounts, then runs wrk (Debian package `wrk`) with 32 connections posting incomes,
# and the same against GET /health as the baseline. Usage: ops/load/record_transactions.sh
# [seconds]. Extra environment (e.g. FISCAFLOW_RUN_PROJECTORS=false) is passed to serve.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
seconds="${1:-15}"
admin="${FISCAFLOW_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}"
database="fiscaflow_load_$$"
port=8790
psql "$admin" -qc "CREATE DATABASE $database"
url="${admin%/*}/$database"
DATABASE_URL="$url" FISCAFLOW_RATE_LIMIT=0 fiscaflow serve --port "$port" >"/tmp/$database.log" 2>&1 &
server=$!
cleanup() { kill -TERM "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; psql "$admin" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)"; }
trap cleanup EXIT
for _ in $(seq 1 150); do curl -sf "localhost:$port/health" >/dev/null && break; sleep 0.2; done
user='{"email":"load@example.org","password":"a long and unusual passphrase","display_name":"Load"}'
curl -sf -X POST "localhost:$port/api/v1/users/register" -d "$user" >/dev/null
login='{"email":"load@example.org","password":"a long and unusual passphrase"}'
token=$(curl -sf -X POST "localhost:$port/api/v1/users/login" -d "$login" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
accounts=""
for n in $(seq 1 64); do
    accounts="$accounts $(curl -sf -X POST "localhost:$port/api/v1/accounts" -H "Authorization: Bearer $token" \
        -d "{\"name\":\"A$n\",\"currency\":\"EUR\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
done
echo "== POST /api/v1/transactions, 32 connections, ${seconds}s"
wrk -t2 -c32 -d"${seconds}s" -s "$here/record.lua" "http://127.0.0.1:$port" -- "$token" $accounts
echo "== GET /health (baseline), 32 connections, ${seconds}s"
wrk -t2 -c32 -d"${seconds}s" --latency "http://127.0.0.1:$port/health"
curl -s "localhost:$port/ready"; echo
