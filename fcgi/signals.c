/* signals: stop signals delivered only while waiting; see signals.h. */
#include "signals.h"

#include <string.h>

void signals_stop_when_waiting(void (*on_stop)(int), sigset_t *during_wait)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, during_wait);
	sigdelset(during_wait, SIGTERM);
	sigdelset(during_wait, SIGINT);
}
