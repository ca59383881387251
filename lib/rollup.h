/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_ROLLUP_H
#define SNITCH_ROLLUP_H

/*
 * Rollups of the connections table (schema version 3, docs/schema.md),
 * shared by their writer (snitch-store) and their reader (query/).
 *
 * A rollup row sums the connections rows of one bucket (minute, hour,
 * day: of window_start_ns, UTC) that share every column but lport and
 * family: ephemeral local ports would make one rollup row per connection.
 * A query by lport goes to the raw table. The outcome is in the key from
 * schema version 10 on (before, every outcome summed into one row), as a
 * number (ROLLUP_OUTCOMES).
 *
 * The key's columns are NOT NULL: a NULL reference id is 0 (ids are
 * content hashes, never 0), a NULL number (uid, rport, netns) is
 * ROLLUP_NONE, a NULL proto is '', a NULL outcome 0. From schema version
 * 11 on, the primary key (WITHOUT ROWID) is (bucket_ns, exe_id, combo),
 * combo a hash of the other key columns (rollup_combo()): rollup_day's
 * indexes then carry three integers of the key instead of all thirteen
 * columns, which made them as large as the table (docs/performance.md),
 * and an executable's rows of a bucket stay next to each other (a
 * drill-down seeks them day by day, without an index by exe_id).
 */

#include <stddef.h>
#include <stdint.h>

#define ROLLUP_LEVELS 3
#define ROLLUP_NONE INT64_C(-4611686018427387904)
#define ROLLUP_NONE_STR "-4611686018427387904"
/*
 * rollup_minute is kept two days, rollup_hour 35 (retention): the edges of
 * recent ranges; rollup_day as long as the rows. rollup_state says from
 * when each of the first two is complete.
 */
#define ROLLUP_MINUTE_KEEP_S 172800
#define ROLLUP_MINUTE_KEEP_S_STR "172800"
#define ROLLUP_HOUR_KEEP_S 3024000
#define ROLLUP_HOUR_KEEP_S_STR "3024000"

#define ROLLUP_MINUTE_NS INT64_C(60000000000)
#define ROLLUP_HOUR_NS INT64_C(3600000000000)
#define ROLLUP_DAY_NS INT64_C(86400000000000)
/* weeks from the epoch (a Thursday), as a series of 7 d buckets counts them */
#define ROLLUP_WEEK_NS INT64_C(604800000000000)
#define ROLLUP_WEEK_NS_STR "604800000000000"
#define ROLLUP_4WEEK_NS INT64_C(2419200000000000)
#define ROLLUP_4WEEK_NS_STR "2419200000000000"

/*
 * Rows are appended in time order but for a record that comes late into a
 * window already written (seconds), or a wall clock stepped back: a raw
 * edge of a query reads the rowids of its range widened by this much.
 * snitch-store marks in rollup_state ('disorder') the last row it wrote
 * more than this, or a UTC day, older than one before it; the query
 * core does not narrow by rowid up to there.
 */
#define ROLLUP_RAW_SLACK_NS INT64_C(3600000000000)

/*
 * The outcome in the rollups (version 10): each value snitch-trace writes
 * (docs/records.md) as a small number, which SQLite keeps in one byte or
 * none where the text takes up to eleven, in the table and in both of
 * rollup_day's indexes; 0 for none; any other text as itself (the column
 * has no type, so a text is never taken for a number, nor the reverse).
 */
#define ROLLUP_OUTCOMES(X) \
	X(1, "connected") X(2, "accepted") X(3, "refused") X(4, "timeout") \
	X(5, "unreachable") X(6, "reset") X(7, "error")
#define ROLLUP_OUTCOME_NAME1(n, s) [n] = s,
#define ROLLUP_OUTCOME_ENC1(n, s) " WHEN '" s "' THEN " #n
#define ROLLUP_OUTCOME_DEC1(n, s) " WHEN " #n " THEN '" s "'"
/* SQL: the rollups' value of the connections column col */
#define ROLLUP_OUTCOME_ENCODE(col) \
	"coalesce(CASE " col ROLLUP_OUTCOMES(ROLLUP_OUTCOME_ENC1) " ELSE " col " END, 0)"
/* SQL: the text of a rollup's value col, NULL for none */
#define ROLLUP_OUTCOME_DECODE(col) \
	"CASE " col " WHEN 0 THEN NULL" ROLLUP_OUTCOMES(ROLLUP_OUTCOME_DEC1) " ELSE " col " END"

/* The key's columns but the bucket, and the sums, in the tables' order. */
#define ROLLUP_COMBO_COLS \
	"exe_id, parent_exe_id, gparent_exe_id, uid, proto, rport," \
	" laddr_id, raddr_id, domain_id, netns, container_id, outcome"
#define ROLLUP_SUM_COLS "send_bytes, recv_bytes, conns, events, first_ns, last_ns"

#define ROLLUP_COLUMNS \
	" exe_id INTEGER NOT NULL, parent_exe_id INTEGER NOT NULL," \
	" gparent_exe_id INTEGER NOT NULL, uid INTEGER NOT NULL, proto TEXT NOT NULL," \
	" rport INTEGER NOT NULL, laddr_id INTEGER NOT NULL, raddr_id INTEGER NOT NULL," \
	" domain_id INTEGER NOT NULL, netns INTEGER NOT NULL, container_id INTEGER NOT NULL," \
	" outcome NOT NULL," \
	" send_bytes INTEGER NOT NULL, recv_bytes INTEGER NOT NULL, conns INTEGER NOT NULL," \
	" events INTEGER NOT NULL, first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL,"

/* Version 11's full rollup: one row per bucket and combination. */
#define ROLLUP_TABLE(name) \
	"CREATE TABLE " name " (bucket_ns INTEGER NOT NULL, combo INTEGER NOT NULL," \
	ROLLUP_COLUMNS " PRIMARY KEY (bucket_ns, exe_id, combo)) WITHOUT ROWID;"

/*
 * Versions 3 to 10 keyed the table by every column; their migration steps
 * make it so (version 11's step converts it).
 */
#define ROLLUP_V10_TABLE(name) \
	"CREATE TABLE " name " (bucket_ns INTEGER NOT NULL," ROLLUP_COLUMNS \
	" PRIMARY KEY (bucket_ns, " ROLLUP_COMBO_COLS ")) WITHOUT ROWID;"

/*
 * A full rollup row's key columns but the bucket, as stored: the numbers
 * in the order of ROLLUP_COMBO_COLS (exe_id to container_id, proto and
 * outcome left out), the proto's text, the outcome's number or its text.
 */
enum { ROLLUP_COMBO_NUMS = 10 };
struct rollup_key {
	int64_t num[ROLLUP_COMBO_NUMS];
	const char *proto;
	size_t proto_len;
	const char *outcome_text;	/* NULL: the outcome is outcome_num */
	size_t outcome_len;
	int64_t outcome_num;
};

/*
 * The combo of a key: a 64-bit hash of it, the same in every version of
 * snitch-store (it is on disk). Two combinations of one bucket and
 * executable may hash alike (n rows: about n^2 / 2^65, under one chance
 * in 4 billion for a day of 100,000 rows): the writer takes the next free
 * value after it (ROLLUP_UPSERT changes only the row of its own
 * combination), so combo is where a row's search starts, not its
 * identity. The queries never read it.
 */
uint64_t rollup_combo(const struct rollup_key *k);

/*
 * A series filtered by a domain over months reads only its days' rows.
 * An executable's rows of a day are together under the primary key from
 * version 11 on, which the query core seeks day by day; up to version 10
 * rollup_day had an index by exe_id too.
 */
#define ROLLUP_DAY_INDEXES \
	"CREATE INDEX rollup_day_domain ON rollup_day (domain_id, bucket_ns);"
#define ROLLUP_V10_DAY_INDEXES \
	"CREATE INDEX rollup_day_exe ON rollup_day (exe_id, bucket_ns);" ROLLUP_DAY_INDEXES

/*
 * Fill a version-10 rollup (ROLLUP_V10_TABLE) from the connections rows
 * (the migrations up to 10), outcome the expression of that column:
 * version 3's connections have none yet.
 */
#define ROLLUP_V10_BUILD_OF(name, bucket, where, outcome) \
	"INSERT INTO " name " SELECT window_start_ns - window_start_ns % " bucket "," \
	" coalesce(exe_id, 0), coalesce(parent_exe_id, 0), coalesce(gparent_exe_id, 0)," \
	" coalesce(uid, " ROLLUP_NONE_STR "), coalesce(proto, ''), coalesce(rport, " ROLLUP_NONE_STR ")," \
	" coalesce(laddr_id, 0), coalesce(raddr_id, 0), coalesce(domain_id, 0)," \
	" coalesce(netns, " ROLLUP_NONE_STR "), coalesce(container_id, 0), " outcome "," \
	" sum(send_bytes), sum(recv_bytes), count(*), sum(events), min(first_ns), max(last_ns)" \
	" FROM connections" where " GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13;"
#define ROLLUP_V10_BUILD(name, bucket, where) \
	ROLLUP_V10_BUILD_OF(name, bucket, where, ROLLUP_OUTCOME_ENCODE("outcome"))
/* The rows a level keeps: from rollup_state's start of it on. */
#define ROLLUP_FROM_STATE(level) \
	" WHERE window_start_ns >= (SELECT from_ns FROM rollup_state WHERE level = '" level "')"

/*
 * Add one pre-summed row (bucket, combo, the key's columns, the sums) to a
 * rollup: to the row of its bucket, executable and combo if that is of
 * the same combination; if it is another's, nothing changes
 * (sqlite3_changes() is 0) and the writer tries the next combo.
 */
#define ROLLUP_UPSERT(name) \
	"INSERT INTO " name " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)" \
	" ON CONFLICT (bucket_ns, exe_id, combo) DO UPDATE SET send_bytes = send_bytes + excluded.send_bytes," \
	" recv_bytes = recv_bytes + excluded.recv_bytes, conns = conns + excluded.conns," \
	" events = events + excluded.events, first_ns = min(first_ns, excluded.first_ns)," \
	" last_ns = max(last_ns, excluded.last_ns)" \
	" WHERE parent_exe_id = excluded.parent_exe_id" \
	" AND gparent_exe_id = excluded.gparent_exe_id AND uid = excluded.uid" \
	" AND proto = excluded.proto AND rport = excluded.rport AND laddr_id = excluded.laddr_id" \
	" AND raddr_id = excluded.raddr_id AND domain_id = excluded.domain_id" \
	" AND netns = excluded.netns AND container_id = excluded.container_id" \
	" AND outcome IS excluded.outcome"

/*
 * Dimension rollups, per hour and per day: the sums of one column's each
 * value (dim: ROLLUP_DIM_*; val as in the rollups), for the views with no
 * filter (an overview, a group-by), which read a few rows per value and
 * bucket instead of one per combination of every column.
 */
enum rollup_dim {
	ROLLUP_DIM_EXE, ROLLUP_DIM_PARENT, ROLLUP_DIM_GPARENT, ROLLUP_DIM_UID, ROLLUP_DIM_PROTO,
	ROLLUP_DIM_RPORT, ROLLUP_DIM_LADDR, ROLLUP_DIM_RADDR, ROLLUP_DIM_DOMAIN, ROLLUP_DIM_NETNS,
	ROLLUP_DIM_CONTAINER, ROLLUP_DIM_OUTCOME /* version 10 */, ROLLUP_DIMS
};
/* the migrations' SQL names the dimensions by these numbers */
_Static_assert(ROLLUP_DIM_CONTAINER == 10 && ROLLUP_DIM_OUTCOME == 11, "dimension numbers are on disk");

#define ROLLUP_DIM_TABLE(name) \
	"CREATE TABLE " name " (dim INTEGER NOT NULL, bucket_ns INTEGER NOT NULL, val NOT NULL," \
	" send_bytes INTEGER NOT NULL, recv_bytes INTEGER NOT NULL, conns INTEGER NOT NULL," \
	" events INTEGER NOT NULL, first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL," \
	" PRIMARY KEY (dim, bucket_ns, val)) WITHOUT ROWID;"

#define ROLLUP_DIM_BUILD1(name, from, n, col) \
	"INSERT INTO " name " SELECT " #n ", bucket_ns, " col ", sum(send_bytes), sum(recv_bytes)," \
	" sum(conns), sum(events), min(first_ns), max(last_ns) FROM " from " GROUP BY 2, 3;"

/* Fill a dimension rollup from its rollup (the migration). */
#define ROLLUP_DIM_BUILD(name, from) \
	ROLLUP_DIM_BUILD1(name, from, 0, "exe_id") ROLLUP_DIM_BUILD1(name, from, 1, "parent_exe_id") \
	ROLLUP_DIM_BUILD1(name, from, 2, "gparent_exe_id") ROLLUP_DIM_BUILD1(name, from, 3, "uid") \
	ROLLUP_DIM_BUILD1(name, from, 4, "proto") ROLLUP_DIM_BUILD1(name, from, 5, "rport") \
	ROLLUP_DIM_BUILD1(name, from, 6, "laddr_id") ROLLUP_DIM_BUILD1(name, from, 7, "raddr_id") \
	ROLLUP_DIM_BUILD1(name, from, 8, "domain_id") ROLLUP_DIM_BUILD1(name, from, 9, "netns") \
	ROLLUP_DIM_BUILD1(name, from, 10, "container_id") ROLLUP_DIM_BUILD1(name, from, 11, "outcome")

/*
 * The coarse dimension levels (schema 8), per week and per four weeks,
 * filled from the day's: a group-by over months reads a row per value and
 * week or four weeks, not per day (a year of remote addresses: 13 and a
 * few rows each instead of 365). Only the dimension rollups have them. A
 * retention pass that cuts into a bucket drops it whole; rollup_state's
 * level (rollup_coarse_name) says from which bucket on the level is
 * complete.
 */
#define ROLLUP_COARSE 2

static const int64_t rollup_coarse_ns[ROLLUP_COARSE] = { ROLLUP_WEEK_NS, ROLLUP_4WEEK_NS };
static const char *const rollup_coarse_name[ROLLUP_COARSE] = { "week", "4week" };

#define ROLLUP_DIM_COARSE_SUM(name, ns, where) \
	"INSERT INTO " name " SELECT dim, bucket_ns - bucket_ns % " ns ", val," \
	" sum(send_bytes), sum(recv_bytes), sum(conns), sum(events), min(first_ns), max(last_ns)" \
	" FROM rollup_dim_day" where " GROUP BY 1, 2, 3;"
#define ROLLUP_DIM_COARSE_BUILD(name, ns) ROLLUP_DIM_COARSE_SUM(name, ns, "")
/* The same of one dimension, for the buckets rollup_state says the level has. */
#define ROLLUP_DIM_COARSE_BUILD_OF(name, ns, level, n) \
	ROLLUP_DIM_COARSE_SUM(name, ns, " WHERE dim = " #n " AND bucket_ns - bucket_ns % " ns \
			      " >= (SELECT from_ns FROM rollup_state WHERE level = '" level "')")

#define ROLLUP_DIM_UPSERT(name) \
	"INSERT INTO " name " VALUES (?,?,?,?,?,?,?,?,?)" \
	" ON CONFLICT DO UPDATE SET send_bytes = send_bytes + excluded.send_bytes," \
	" recv_bytes = recv_bytes + excluded.recv_bytes, conns = conns + excluded.conns," \
	" events = events + excluded.events, first_ns = min(first_ns, excluded.first_ns)," \
	" last_ns = max(last_ns, excluded.last_ns)"

#endif
