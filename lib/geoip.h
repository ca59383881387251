/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_GEOIP_H
#define SNITCH_GEOIP_H

/*
 * The country of an IP address, from a MaxMind DB (.mmdb) country
 * database read through libmaxminddb, memory-mapped, with no network.
 *
 * Addresses of special ranges are never looked up: they get a label
 * instead of a country, one of these lowercase words:
 *
 *   "unspecified"    0.0.0.0/8, ::/128
 *   "loopback"       127.0.0.0/8, ::1/128
 *   "private"        10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7
 *   "link-local"     169.254.0.0/16, fe80::/10
 *   "cgnat"          100.64.0.0/10 (shared address space, RFC 6598)
 *   "multicast"      224.0.0.0/4, ff00::/8
 *   "documentation"  192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
 *                    2001:db8::/32, 3fff::/20
 *   "reserved"       240.0.0.0/4 (with 255.255.255.255), 192.0.0.0/24,
 *                    198.18.0.0/15 (benchmarking), and IPv6 outside
 *                    2000::/3 that none of the above names
 *
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) and NAT64's well-known prefix
 * (64:ff9b::a.b.c.d) are taken as the IPv4 address they carry.
 *
 * A country is two uppercase ASCII letters (ISO 3166-1 alpha-2, as the
 * database has it: "US", "DE"...), so a caller tells a code from a label
 * by its case. The database's field is country.iso_code (MaxMind GeoIP2
 * and GeoLite2, DB-IP's own mmdb) or country_code (ip-location-db).
 */

#include <stddef.h>

#define GEOIP_ENV "SNITCH_GEOIP_DB"
#define GEOIP_DEFAULT_PATH "/var/cache/snitch/country.mmdb"
/* out's size: two letters and the NUL */
#define GEOIP_CODE_SIZE 3

struct geoip;

/*
 * The database geoip_open() would open for path: path itself, else
 * $SNITCH_GEOIP_DB when set and not empty, else GEOIP_DEFAULT_PATH.
 */
const char *geoip_db_path(const char *path);

/*
 * Open the country database at geoip_db_path(path). 0, or a negative
 * errno: -ENOENT (no such file: a caller goes on without countries),
 * -EACCES, -EINVAL (not a MaxMind DB), -ENOMEM, -EIO. Opening reads no
 * data but the metadata: a lookup touches a few pages of the mapping.
 */
int geoip_open(struct geoip **gp, const char *path);

/* Close it; NULL is fine. */
void geoip_close(struct geoip *g);

/*
 * The label of addr (an IPv4 or IPv6 address in text form; an IPv6 zone
 * such as "%eth0", an interface's name or index, is ignored) if it is in
 * a special range, else its country code written to out, returned as
 * out. NULL when there is none, with errno:
 * EINVAL (addr is not an address), ENOENT (not in the database, or g is
 * NULL: labels need no database), EIO (the database's entry is corrupt).
 *
 * g is only read: one geoip may serve any number of threads at once. No
 * allocation, no system call: cheap enough for every interned address.
 */
const char *geoip_country(const struct geoip *g, const char *addr,
			  char out[GEOIP_CODE_SIZE]);

/*
 * The database's type and build date ("country ipvAll 2026-06-01"), or
 * "none" when g is NULL, in buf; returns buf.
 */
const char *geoip_describe(const struct geoip *g, char *buf, size_t size);

#endif
