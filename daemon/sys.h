/* What the core asks of the system beyond libuv: the clocks and a sha256.
 * Small on purpose; nothing here prints, allocates or fails. */
#ifndef FUNDWATCH_DAEMON_SYS_H
#define FUNDWATCH_DAEMON_SYS_H

#include <stddef.h>
#include <stdint.h>

/* The sha256 of len bytes as 64 lowercase hex digits (libcrypto's). */
void fw_sha256_hex(const void *data, size_t len, char out[65]);

/* The wall clock in unix milliseconds; a monotonic clock in nanoseconds. */
int64_t fw_wall_ms(void);
uint64_t fw_mono_ns(void);

/* Unix ms as "2024-06-30T08:00:00Z" (UTC, to the second). */
void fw_iso_ms(int64_t ms, char out[32]);

/* Today's local date as days since 1970-01-01. */
int32_t fw_today(void);

/* The crash tests' hook (tests/daemon/crash.sh): kills the process with
 * SIGKILL when the environment's FW_FAULT names this point. */
void fw_fault(const char *point);

#endif
