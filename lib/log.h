/*
 * log: one line per event on stderr, prefixed with an RFC 3339 UTC time,
 * the program name and the pid, so lines from many workers interleave
 * readably in one log.
 */
#ifndef COFFER_LOG_H
#define COFFER_LOG_H

/* Name shown in every line (default "coffer"). */
void log_set_name(const char *name);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write "YYYY-MM-DDTHH:MM:SS.mmmZ" of the current time into out[32]. */
void log_time(char out[32]);

#endif
