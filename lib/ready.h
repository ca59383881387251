/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_READY_H
#define SNITCH_READY_H

/*
 * The first stage tells snitch when it is doing its job (for snitch-trace:
 * every hook attached, the first fd scan done), so that `snitch start`
 * returns, and the live feed opens, only once traffic is seen. snitch
 * gives the stage a pipe as file descriptor $SNITCH_READY_FD; the stage
 * writes one byte to it and closes it. Without the variable (run by hand,
 * in a shell pipeline) it does nothing.
 */
#define READY_FD_ENV "SNITCH_READY_FD"

/* Say it once; later calls, and a missing or bad variable, do nothing. */
void ready_say(void);

#endif
