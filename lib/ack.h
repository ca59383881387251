/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_ACK_H
#define SNITCH_ACK_H

/*
 * The two control lines between snitch run and the stages it starts
 * (docs/reliability.md, "Nothing accepted is lost"); never in the record
 * stream anyone else sees. Written exactly so, with no "v": no record
 * starts like them.
 *
 * stage -> supervisor: {"type":"ack","in":N,"kept":K[,"held":[H,...]]}
 *   its output so far derives from its input below offset N, but the
 *   lines at the offsets H it still holds; a replay need not start below
 *   K (or the first H).
 * supervisor -> stage: {"type":"seek","in":N,"quiet":Q}
 *   a replay: the next line is at offset N; lines below Q had their
 *   output passed on already.
 */
#define STAGE_ACK_PREFIX "{\"type\":\"ack\",\"in\":"
#define STAGE_SEEK_PREFIX "{\"type\":\"seek\",\"in\":"

#endif
