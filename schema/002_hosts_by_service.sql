-- 002_hosts_by_service.sql — hosts keyed by (service_name, hostname), as Performance Studio keys
-- them: the same hostname heartbeating under two services is two hosts, and a command reaches a
-- heartbeat only when both its hostname and its service match. Applied in one transaction by the
-- store; existing rows are kept (each host under the service it last heartbeated with).

CREATE TABLE hosts_by_service (
	service_name    TEXT NOT NULL,
	hostname        TEXT NOT NULL,
	ip_address      TEXT,
	agent_version   TEXT,
	agent_status    TEXT,
	last_command_id TEXT,
	first_seen      INTEGER NOT NULL,
	last_seen       INTEGER NOT NULL,
	PRIMARY KEY (service_name, hostname)
) WITHOUT ROWID;
INSERT INTO hosts_by_service (service_name, hostname, ip_address, agent_version, agent_status,
			      last_command_id, first_seen, last_seen)
	SELECT service_name, hostname, ip_address, agent_version, agent_status, last_command_id,
	       first_seen, last_seen FROM hosts;
DROP TABLE hosts;
ALTER TABLE hosts_by_service RENAME TO hosts;
-- host_status?hostname= without a service
CREATE INDEX hosts_hostname ON hosts (hostname);

-- what a heartbeat looks at: the open commands of one (hostname, service)
DROP INDEX commands_open;
CREATE INDEX commands_open ON commands (hostname, service_name, status, id)
	WHERE status IN ('pending', 'sent');
DROP INDEX commands_host;
CREATE INDEX commands_host ON commands (hostname, service_name, id);
