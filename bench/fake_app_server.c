/*
 * A load-generating stand-in for `codex app-server` (JSONL on stdio), for bench/.
 *
 * Same wire behaviour as tests/orchestrator/fake_app_server.py (initialize, thread/start,
 * thread/name/set, turn/start, then a stream of agent-message deltas, absolute token totals and
 * rate limits at --rate lines per second for --turn-seconds, then turn/completed), written in C
 * so that 500 copies on a small machine leave the CPU to the service being measured.
 * Exits when stdin closes. Build: cc -O2 -o fake_app_server fake_app_server.c
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 20];
static size_t len = 0;
static char thread_id[64];
static long total = 0;
static int turns = 0;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void emit(const char *text) {
    fputs(text, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

/* One line into `line`: 1 when read, 0 on timeout; exits when stdin closes. */
static int read_line(char *line, size_t cap, int timeout_ms) {
    for (;;) {
        char *nl = memchr(buf, '\n', len);
        if (nl) {
            size_t n = (size_t)(nl - buf);
            size_t copy = n < cap - 1 ? n : cap - 1;
            memcpy(line, buf, copy);
            line[copy] = 0;
            memmove(buf, nl + 1, len - n - 1);
            len -= n + 1;
            return 1;
        }
        struct pollfd p = {0, POLLIN, 0};
        int r = poll(&p, 1, timeout_ms);
        if (r == 0) return 0;
        if (r < 0) {
            if (errno == EINTR) continue;
            exit(1);
        }
        if (len == sizeof buf) len = 0; /* an absurdly long line: drop it */
        ssize_t k = read(0, buf + len, sizeof buf - len);
        if (k <= 0) exit(0);
        len += (size_t)k;
    }
}

/* The raw JSON token after "key": (a number or a quoted string), or "null". */
static void field(const char *line, const char *key, char *out, size_t cap) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(line, pattern);
    if (!at) {
        snprintf(out, cap, "null");
        return;
    }
    at += strlen(pattern);
    while (*at == ' ') at++;
    size_t n = 0;
    if (*at == '"') {
        out[n++] = *at++;
        while (*at && *at != '"' && n < cap - 2) out[n++] = *at++;
        out[n++] = '"';
    } else {
        while (*at && *at != ',' && *at != '}' && n < cap - 1) out[n++] = *at++;
    }
    out[n] = 0;
}

static void answer(const char *id, const char *result) {
    char out[512];
    snprintf(out, sizeof out, "{\"id\":%s,\"result\":%s}", id, result);
    emit(out);
}

static void turn(const char *id, double rate, double seconds) {
    char out[1024], line[4096], other[64];
    turns++;
    snprintf(out, sizeof out, "{\"turn\":{\"id\":\"turn-%d\",\"status\":\"inProgress\"}}", turns);
    answer(id, out);
    double interval = rate > 0 ? 1.0 / rate : seconds;
    double end = now() + seconds, next = now();
    long sent = 0;
    while (now() < end) {
        int wait_ms = (int)((next - now()) * 1000);
        if (wait_ms > 0 && read_line(line, sizeof line, wait_ms)) {
            field(line, "id", other, sizeof other);
            if (strstr(line, "\"method\"") && strcmp(other, "null")) answer(other, "{}");
            continue;
        }
        next += interval;
        sent++;
        if (sent % 5 == 0) {
            total += 120;
            snprintf(out, sizeof out,
                     "{\"method\":\"thread/tokenUsage/updated\",\"params\":{\"threadId\":\"%s\","
                     "\"turnId\":\"turn-%d\",\"tokenUsage\":{\"total\":{\"inputTokens\":%ld,"
                     "\"outputTokens\":%ld,\"totalTokens\":%ld}}}}",
                     thread_id, turns, total - total / 6, total / 6, total);
        } else if (sent % 10 == 3) {
            snprintf(out, sizeof out,
                     "{\"method\":\"account/rateLimits/updated\",\"params\":{\"rateLimits\":"
                     "{\"limitId\":\"codex\",\"primary\":{\"usedPercent\":%ld,"
                     "\"windowDurationMins\":300}}}}",
                     sent % 100);
        } else {
            snprintf(out, sizeof out,
                     "{\"method\":\"item/agentMessage/delta\",\"params\":{\"threadId\":\"%s\","
                     "\"turnId\":\"turn-%d\",\"itemId\":\"msg-1\",\"delta\":\"working %ld \"}}",
                     thread_id, turns, sent);
        }
        emit(out);
    }
    snprintf(out, sizeof out,
             "{\"method\":\"turn/completed\",\"params\":{\"threadId\":\"%s\",\"turn\":{\"id\":"
             "\"turn-%d\",\"status\":\"completed\",\"items\":[],\"error\":null}}}",
             thread_id, turns);
    emit(out);
}

int main(int argc, char **argv) {
    double rate = 20, seconds = 0.2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--rate")) rate = atof(argv[i + 1]);
        if (!strcmp(argv[i], "--turn-seconds")) seconds = atof(argv[i + 1]);
    }
    snprintf(thread_id, sizeof thread_id, "thread-%d", (int)getpid());
    char line[1 << 16], method[128], id[64], result[256];
    for (;;) {
        if (!read_line(line, sizeof line, -1)) continue;
        field(line, "method", method, sizeof method);
        field(line, "id", id, sizeof id);
        if (!strcmp(id, "null")) continue; /* a notification such as `initialized` */
        if (!strcmp(method, "\"initialize\"")) {
            answer(id, "{\"userAgent\":\"fake-app-server/0.0\"}");
        } else if (!strcmp(method, "\"thread/start\"")) {
            snprintf(result, sizeof result, "{\"thread\":{\"id\":\"%s\"}}", thread_id);
            answer(id, result);
        } else if (!strcmp(method, "\"turn/start\"")) {
            turn(id, rate, seconds);
        } else if (strcmp(method, "null")) {
            answer(id, "{}");
        }
    }
}
