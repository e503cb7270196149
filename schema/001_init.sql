-- 001_init.sql — fleetprof's first schema. Applied in one transaction by store_open; the version
-- (1) is recorded in PRAGMA user_version. Times are seconds since the epoch (UTC).

-- Hosts, keyed by hostname alone: a host belongs to the service it last heartbeated with.
CREATE TABLE hosts (
	hostname        TEXT PRIMARY KEY,
	service_name    TEXT NOT NULL,
	ip_address      TEXT,
	agent_version   TEXT,
	agent_status    TEXT,
	last_command_id TEXT,
	first_seen      INTEGER NOT NULL,
	last_seen       INTEGER NOT NULL
) WITHOUT ROWID;
-- not on last_seen: a heartbeat then updates the table row only
CREATE INDEX hosts_service ON hosts (service_name);

-- A profiling request (start or stop) as an operator sent it; its status is derived from its
-- commands (see store_cmds.c).
CREATE TABLE requests (
	request_id   TEXT PRIMARY KEY,
	service_name TEXT NOT NULL,
	request_type TEXT NOT NULL CHECK (request_type IN ('start', 'stop')),
	config       TEXT NOT NULL,
	created_at   INTEGER NOT NULL
);

-- One command per (request, host). id orders commands by creation.
CREATE TABLE commands (
	id              INTEGER PRIMARY KEY,
	command_id      TEXT NOT NULL UNIQUE,
	request_id      TEXT NOT NULL REFERENCES requests (request_id) ON DELETE CASCADE,
	hostname        TEXT NOT NULL,
	service_name    TEXT NOT NULL,
	command_type    TEXT NOT NULL CHECK (command_type IN ('start', 'stop')),
	status          TEXT NOT NULL DEFAULT 'pending'
			CHECK (status IN ('pending', 'sent', 'completed', 'failed')),
	combined_config TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	sent_at         INTEGER,
	completed_at    INTEGER,
	execution_time  REAL,
	error_message   TEXT,
	results_path    TEXT
);
-- what a heartbeat looks at: the host's open commands
CREATE INDEX commands_open ON commands (hostname, status, id) WHERE status IN ('pending', 'sent');
CREATE INDEX commands_host ON commands (hostname, id);
CREATE INDEX commands_service ON commands (service_name, id);
CREATE INDEX commands_request ON commands (request_id);
CREATE INDEX commands_created ON commands (created_at);

-- Interned names for the profile tables.
CREATE TABLE services (
	id           INTEGER PRIMARY KEY,
	name         TEXT NOT NULL UNIQUE,
	last_profile INTEGER
);
CREATE TABLE hostnames (
	id   INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE
);
CREATE TABLE containers (
	id   INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE
);

-- Frames, stored once. last_used: newest hour bucket of any stack using the frame (retention).
CREATE TABLE frames (
	id        INTEGER PRIMARY KEY,
	name      TEXT NOT NULL UNIQUE,
	last_used INTEGER NOT NULL
);
CREATE INDEX frames_last_used ON frames (last_used);

-- Stacks, stored once per service: "comm;frame;...;leaf" as a list of frame ids (uint32 LE).
-- hash: store_hash() of the stack text; on a collision the next free hash value is used.
CREATE TABLE stacks (
	id         INTEGER PRIMARY KEY,
	service_id INTEGER NOT NULL,
	hash       INTEGER NOT NULL,
	frames     BLOB NOT NULL,
	last_used  INTEGER NOT NULL,
	UNIQUE (service_id, hash)
);
CREATE INDEX stacks_last_used ON stacks (last_used);

-- Samples, summed per (bucket, service, host, container, stack), at two resolutions (minute and
-- hour) and two scopes (per host; per service with hosts summed), all kept at ingest, so a range
-- query reads whole hours from the hour tables and only the ragged edges from the minute ones.
CREATE TABLE samples_host_m (
	service_id   INTEGER NOT NULL,
	host_id      INTEGER NOT NULL,
	bucket       INTEGER NOT NULL,
	container_id INTEGER NOT NULL,
	stack_id     INTEGER NOT NULL,
	count        INTEGER NOT NULL,
	PRIMARY KEY (service_id, host_id, bucket, container_id, stack_id)
) WITHOUT ROWID;
CREATE TABLE samples_host_h (
	service_id   INTEGER NOT NULL,
	host_id      INTEGER NOT NULL,
	bucket       INTEGER NOT NULL,
	container_id INTEGER NOT NULL,
	stack_id     INTEGER NOT NULL,
	count        INTEGER NOT NULL,
	PRIMARY KEY (service_id, host_id, bucket, container_id, stack_id)
) WITHOUT ROWID;
CREATE TABLE samples_svc_m (
	service_id   INTEGER NOT NULL,
	bucket       INTEGER NOT NULL,
	container_id INTEGER NOT NULL,
	stack_id     INTEGER NOT NULL,
	count        INTEGER NOT NULL,
	PRIMARY KEY (service_id, bucket, container_id, stack_id)
) WITHOUT ROWID;
CREATE TABLE samples_svc_h (
	service_id   INTEGER NOT NULL,
	bucket       INTEGER NOT NULL,
	container_id INTEGER NOT NULL,
	stack_id     INTEGER NOT NULL,
	count        INTEGER NOT NULL,
	PRIMARY KEY (service_id, bucket, container_id, stack_id)
) WITHOUT ROWID;

-- One row per upload: metrics, services, retention.
CREATE TABLE profiles (
	id          INTEGER PRIMARY KEY,
	service_id  INTEGER NOT NULL,
	host_id     INTEGER NOT NULL,
	start_time  INTEGER NOT NULL,
	end_time    INTEGER NOT NULL,
	gpid        INTEGER NOT NULL,
	cpu_avg     REAL,
	mem_avg     REAL,
	header      TEXT,
	samples     INTEGER NOT NULL,
	stacks      INTEGER NOT NULL,
	received_at INTEGER NOT NULL
);
CREATE INDEX profiles_service_time ON profiles (service_id, start_time);
CREATE INDEX profiles_time ON profiles (start_time);
