/*
 * Log sink.  A record is formatted into a stack buffer and emitted with one
 * write(2); records longer than the buffer are truncated, never split.
 */
#include "base/log.h"
#include "base/time.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int act_log_min_level = ACT_LOG_INFO;
static int log_fd = 2;
static enum act_log_format log_format = ACT_LOG_LOGFMT;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void act_log_setup(int fd, enum act_log_level level, enum act_log_format format)
{
    log_fd = fd;
    act_log_min_level = level;
    log_format = format;
}

int act_log_level_parse(const char *s)
{
    for (int i = 0; i <= ACT_LOG_OFF; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

int act_log_format_parse(const char *s)
{
    if (strcmp(s, "logfmt") == 0)
        return ACT_LOG_LOGFMT;
    if (strcmp(s, "json") == 0)
        return ACT_LOG_JSON;
    return -1;
}

/* Append `s` quoted for logfmt or JSON; both escape '"' and '\\' and
 * control characters the same way here. */
static size_t put_quoted(char *buf, size_t off, size_t cap, const char *s)
{
    if (off < cap)
        buf[off++] = '"';
    for (; *s && off + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[off++] = '\\';
            buf[off++] = (char)c;
        } else if (c == '\n') {
            buf[off++] = '\\';
            buf[off++] = 'n';
        } else if (c < 0x20) {
            off += (size_t)snprintf(buf + off, cap - off, "\\u%04x", c);
        } else {
            buf[off++] = (char)c;
        }
    }
    if (off < cap)
        buf[off++] = '"';
    return off;
}

void act_log_write(int level, const char *mod, const char *kv, const char *fmt, ...)
{
    char msg[1024], line[2048], ts[40];
    size_t off;
    va_list ap;
    ssize_t w;

    if (level < act_log_min_level || level >= ACT_LOG_OFF)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    act_time_format_rfc3339(act_time_now_us(), ts, sizeof(ts));

    if (log_format == ACT_LOG_JSON) {
        off = (size_t)snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"mod\":\"%s\",\"msg\":",
                               ts, level_names[level], mod);
        off = put_quoted(line, off, sizeof(line) - 2, msg);
        if (kv && *kv && off + 10 < sizeof(line) - 2) {
            off += (size_t)snprintf(line + off, sizeof(line) - 2 - off, ",\"kv\":");
            off = put_quoted(line, off, sizeof(line) - 2, kv);
        }
        line[off++] = '}';
    } else {
        off = (size_t)snprintf(line, sizeof(line), "ts=%s level=%s mod=%s msg=", ts,
                               level_names[level], mod);
        off = put_quoted(line, off, sizeof(line) - 2, msg);
        if (kv && *kv && off + 2 < sizeof(line) - 2)
            off += (size_t)snprintf(line + off, sizeof(line) - 2 - off, " %s", kv);
    }
    if (off > sizeof(line) - 2)
        off = sizeof(line) - 2;
    line[off++] = '\n';
    w = write(log_fd, line, off);
    (void)w;
}
