/*
 * signals: the stop-signal discipline of the master's children (workers and
 * the jobs process). SIGTERM and SIGINT call on_stop, but only while the
 * process waits (ppoll/sigtimedwait with *during_wait as the mask): a
 * request or a blob in progress always completes. SIGPIPE and SIGHUP are
 * ignored (the master handles reloads).
 */
#ifndef COFFER_SIGNALS_H
#define COFFER_SIGNALS_H

#include <signal.h>

void signals_stop_when_waiting(void (*on_stop)(int), sigset_t *during_wait);

#endif
