/* log: stderr logging; see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

static const char *log_name = "coffer";

void log_set_name(const char *name)
{
	log_name = name;
}

void log_time(char out[32])
{
	struct timespec ts;
	struct tm tm;

	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(ts.tv_nsec / 1000000) % 1000u);
}

static void vlog(const char *level, const char *fmt, va_list ap)
{
	buf_t b = BUF_INIT;
	char t[32];

	log_time(t);
	buf_addf(&b, "%s %s[%d] %s ", t, log_name, (int)getpid(), level);
	buf_vaddf(&b, fmt, ap);
	buf_addc(&b, '\n');
	/* one write() per line keeps lines whole when workers share stderr */
	if (write(STDERR_FILENO, b.p, b.len) < 0) {
		/* nothing sensible to do */
	}
	buf_free(&b);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("info", fmt, ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error", fmt, ap);
	va_end(ap);
}
