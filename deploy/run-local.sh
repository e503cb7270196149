#!/usr/bin/env bash
# make run: fleetprof on this one machine — the server on its embedded SQLite store, plus an agent
# profiling this host when the agent can upload. Prints the dashboard address; Ctrl-C stops both.
#
#   FLEETPROF_PORT   server port (8080)        FLEETPROF_DB   database (data/fleetprof.db)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${FLEETPROF_BUILD:-build}
port=${FLEETPROF_PORT:-8080}
db=${FLEETPROF_DB:-data/fleetprof.db}
mkdir -p "$(dirname "$db")"

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$B/fleetprof-server" --port "$port" --db "$db" --web web --schema schema &
pids+=($!)

# Wait for the health check, then read the tokens the server created beside the database.
for _ in $(seq 1 50); do
	curl -fsS "http://127.0.0.1:$port/api/v1/health_check" >/dev/null 2>&1 && break
	sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/api/v1/health_check" >/dev/null || { echo "server did not start" >&2; exit 1; }
tokens="$(dirname "$db")/tokens"
agent_token=$(sed -n 's/^agent_token=//p' "$tokens" 2>/dev/null || true)
admin_token=$(sed -n 's/^admin_token=//p' "$tokens" 2>/dev/null || true)

if [ "$(id -u)" -eq 0 ]; then
	"$B/fleetprof-agent" --continuous --upload-results --server-host "http://127.0.0.1:$port" \
		--token "$agent_token" --service-name "$(hostname)" --state-dir data/agent \
		--profiling-duration 30 --profiling-frequency 11 --log-file data/agent.log &
	pids+=($!)
	agent_note="profiling this host, a profile every 30 s (service \"$(hostname)\"); log: data/agent.log"
else
	agent_note="not started: the agent needs root (BPF)"
fi

cat <<MSG

  fleetprof is running.
  Dashboard:   http://127.0.0.1:$port/
  Admin token: $admin_token   (sign in with it; kept in $tokens)
  Agent token: $agent_token
  Agent:       $agent_note

  Ctrl-C stops everything.
MSG
wait -n "${pids[@]}"
