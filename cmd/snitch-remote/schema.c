/* SPDX-License-Identifier: MIT */
/*
 * The remote tables: those of the local database (docs/schema.md), with
 * the host and a unique row_uid in the connections table, which
 * --remote-table names so that several hosts can share one server.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "remote.h"

int remote_kind(const char *url, enum remote_kind *kind)
{
	if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11))
		*kind = REMOTE_PG;
	else if (!strncmp(url, "mysql://", 8) || !strncmp(url, "mariadb://", 10))
		*kind = REMOTE_MARIA;
	else
		return -1;
	return 0;
}

bool remote_table_valid(const char *name)
{
	size_t n = strlen(name);

	if (n < 1 || n > 63 || !(isalpha((unsigned char)name[0]) || name[0] == '_'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isascii((unsigned char)name[i]) &&
		      (isalnum((unsigned char)name[i]) || name[i] == '_')))
			return false;
	return true;
}

/*
 * The columns added since the first remote schema (local version 9): an
 * executable's app and script, a container's names. ADD COLUMN IF NOT
 * EXISTS (PostgreSQL 9.6, MariaDB 10.0.2) makes the statements safe to run
 * on tables of any age: --schema upgrades what an older one made.
 */
const char *remote_upgrade(enum remote_kind kind)
{
	if (kind == REMOTE_PG)
		return "ALTER TABLE executables ADD COLUMN IF NOT EXISTS app_kind TEXT,"
		       " ADD COLUMN IF NOT EXISTS app TEXT, ADD COLUMN IF NOT EXISTS script_path TEXT,"
		       " ADD COLUMN IF NOT EXISTS script_sha256 TEXT;\n"
		       "ALTER TABLE containers ADD COLUMN IF NOT EXISTS container_name TEXT,"
		       " ADD COLUMN IF NOT EXISTS image TEXT, ADD COLUMN IF NOT EXISTS pod_namespace TEXT,"
		       " ADD COLUMN IF NOT EXISTS pod_name TEXT, ADD COLUMN IF NOT EXISTS pod_uid TEXT;\n";
	return "ALTER TABLE executables ADD COLUMN IF NOT EXISTS app_kind VARCHAR(16),"
	       " ADD COLUMN IF NOT EXISTS app TEXT, ADD COLUMN IF NOT EXISTS script_path TEXT,"
	       " ADD COLUMN IF NOT EXISTS script_sha256 CHAR(64);\n"
	       "ALTER TABLE containers ADD COLUMN IF NOT EXISTS container_name TEXT,"
	       " ADD COLUMN IF NOT EXISTS image TEXT, ADD COLUMN IF NOT EXISTS pod_namespace TEXT,"
	       " ADD COLUMN IF NOT EXISTS pod_name TEXT, ADD COLUMN IF NOT EXISTS pod_uid VARCHAR(64);\n";
}

/* table is an identifier checked by remote_table_valid(), not a value */
const char *remote_schema(enum remote_kind kind, const char *table)
{
	static char sql[8192];

	if (kind == REMOTE_PG) {
		snprintf(sql, sizeof(sql),
			 "CREATE TABLE IF NOT EXISTS executables (id BIGINT PRIMARY KEY, path TEXT, name TEXT, cmdline TEXT, sha256 TEXT);\n"
			 "CREATE TABLE IF NOT EXISTS domains (id BIGINT PRIMARY KEY, name TEXT NOT NULL);\n"
			 "CREATE TABLE IF NOT EXISTS addresses (id BIGINT PRIMARY KEY, addr TEXT NOT NULL);\n"
			 "CREATE TABLE IF NOT EXISTS containers (id BIGINT PRIMARY KEY, name TEXT NOT NULL);\n"
			 "%s"
			 "CREATE TABLE IF NOT EXISTS %s (\n"
			 " row_uid TEXT NOT NULL UNIQUE, host TEXT NOT NULL,\n"
			 " window_start_ns BIGINT NOT NULL, window_end_ns BIGINT NOT NULL,\n"
			 " first_ns BIGINT NOT NULL, last_ns BIGINT NOT NULL,\n"
			 " send_bytes BIGINT NOT NULL, recv_bytes BIGINT NOT NULL, events BIGINT NOT NULL,\n"
			 " exe_id BIGINT, parent_exe_id BIGINT, gparent_exe_id BIGINT,\n"
			 " uid BIGINT, family TEXT, proto TEXT, lport INTEGER, rport INTEGER,\n"
			 " laddr_id BIGINT, raddr_id BIGINT, domain_id BIGINT, netns BIGINT,\n"
			 " container_id BIGINT);\n"
			 "CREATE INDEX IF NOT EXISTS %s_time ON %s (window_start_ns);\n"
			 "CREATE INDEX IF NOT EXISTS %s_exe ON %s (exe_id, window_start_ns);\n",
			 remote_upgrade(kind), table, table, table, table, table);
		return sql;
	}
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE IF NOT EXISTS executables (id BIGINT PRIMARY KEY, path TEXT, name TEXT, cmdline MEDIUMTEXT, sha256 CHAR(64)) CHARACTER SET utf8mb4;\n"
		 "CREATE TABLE IF NOT EXISTS domains (id BIGINT PRIMARY KEY, name TEXT NOT NULL) CHARACTER SET utf8mb4;\n"
		 "CREATE TABLE IF NOT EXISTS addresses (id BIGINT PRIMARY KEY, addr VARCHAR(64) NOT NULL) CHARACTER SET utf8mb4;\n"
		 "CREATE TABLE IF NOT EXISTS containers (id BIGINT PRIMARY KEY, name TEXT NOT NULL) CHARACTER SET utf8mb4;\n"
		 "%s"
		 "CREATE TABLE IF NOT EXISTS %s (\n"
		 " row_uid VARCHAR(191) NOT NULL UNIQUE, host VARCHAR(191) NOT NULL,\n"
		 " window_start_ns BIGINT NOT NULL, window_end_ns BIGINT NOT NULL,\n"
		 " first_ns BIGINT NOT NULL, last_ns BIGINT NOT NULL,\n"
		 " send_bytes BIGINT NOT NULL, recv_bytes BIGINT NOT NULL, events BIGINT NOT NULL,\n"
		 " exe_id BIGINT, parent_exe_id BIGINT, gparent_exe_id BIGINT,\n"
		 " uid BIGINT, family VARCHAR(16), proto VARCHAR(16), lport INT, rport INT,\n"
		 " laddr_id BIGINT, raddr_id BIGINT, domain_id BIGINT, netns BIGINT,\n"
		 " container_id BIGINT,\n"
		 " INDEX (window_start_ns), INDEX (exe_id, window_start_ns)) CHARACTER SET utf8mb4;\n",
		 remote_upgrade(kind), table);
	return sql;
}
