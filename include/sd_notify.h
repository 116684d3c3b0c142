/*
 * Readiness and state for the service manager (sd_notify(3) by hand):
 * one datagram to the socket NOTIFY_SOCKET names, if it is set.
 */
#ifndef SD_NOTIFY_H
#define SD_NOTIFY_H

#include <stdbool.h>

/*
 * Send state ("READY=1\nSTATUS=...", newline-separated assignments,
 * borrowed) to NOTIFY_SOCKET.  Never blocks and never fails the caller:
 * a bad address or a failed send is logged once per process and
 * forgotten.  Returns true when the datagram was sent, false when
 * NOTIFY_SOCKET is unset or sending failed.
 */
bool sd_notify_send(const char *state);

/*
 * "RELOADING=1" with MONOTONIC_USEC (CLOCK_MONOTONIC now), as systemd
 * wants it before a reload; READY=1 must follow when the reload is over.
 */
void sd_notify_reloading(void);

#endif
