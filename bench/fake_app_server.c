/*
 * A load-generating stand-in for `codex app-server` 0.169 (JSONL on stdio), for bench/.
 *
 * It answers what Symphony sends (initialize, thread/start, thread/name/set, turn/start,
 * turn/interrupt; other requests get {}) with the result shapes the real server sends, and
 * streams, for each turn, what codex 0.169 really sends while a reasoning model works, in the
 * same shapes and proportions (recorded from the real binary with bench/codex_trace.py):
 *
 *   thread/status/changed(active), turn/started, item/started+completed (userMessage), then one
 *   "step" per model response until --turn-seconds have passed:
 *     item/started (reasoning), item/reasoning/summaryPartAdded, item/reasoning/summaryTextDelta
 *     x ~14, item/completed (reasoning);
 *     every other step a commentary agentMessage: item/started, item/agentMessage/delta x ~17,
 *     item/completed;
 *     a commandExecution: item/started, item/commandExecution/outputDelta x 3-6,
 *     item/completed (aggregatedOutput, exitCode, durationMs);
 *     thread/tokenUsage/updated (cumulative total + last), account/rateLimits/updated;
 *   then a final step (reasoning, a final_answer agentMessage with ~45 deltas, usage, limits),
 *   thread/readState/changed, thread/status/changed(idle), turn/completed.
 *
 * Every line is a notification paced at --rate lines per second (one every 1/rate s, like a busy
 * agent); notifications carry `emittedAtMs` like the real server. --turn-seconds bounds a turn
 * (a turn/interrupt ends it at once with status "interrupted"). With --leak-file, every fifth
 * command prints one line of that file (e.g. a secret) and a GitHub-token-shaped string, the way
 * an agent running `env` or `cat .env` would, so the client's redaction has work to do.
 *
 * Counters for the benchmark live in a 4 KiB file (--stats, default ./fake-app-server.stats in
 * the working directory, which Symphony makes the workspace), memory-mapped and updated
 * in place, so a reader always sees the current values without any syscall here. Layout: 8 bytes
 * magic "FAKEAPP1", then little-endian int64s: pid, initialize_ns, first_turn_start_ns,
 * last_turn_start_ns, turn_starts, lines_sent, notifications_sent, bytes_sent,
 * requests_received, turns_completed, notifications_read. Times are CLOCK_MONOTONIC nanoseconds
 * (the clock of Python's time.monotonic() on Linux) taken when the request line was read; 0 = not
 * yet. notifications_read counts the notifications the client has taken out of the stdout pipe
 * (FIONREAD says how many bytes it has not read yet), as of this agent's latest write: a client
 * that falls behind leaves up to a pipe's capacity (64 KiB, some 200 lines) unread, so
 * notifications_sent alone would count events it has not handled.
 *
 * --dialect claude plays the Claude Code CLI in stream-json mode instead (docs/agents/claude-code.md):
 * nothing until a user message, then per turn system/init, one assistant line per thinking, text
 * and Bash tool_use block, a user line per tool_result, and a result with usage and cumulative
 * cost; control requests (initialize, interrupt) are answered with success. --dialect acp plays an
 * ACP agent (JSON-RPC 2.0: initialize, session/new, session/prompt answered with its stopReason
 * when the turn ends, session/cancel): the same turn as session/update notifications
 * (agent_thought_chunk and agent_message_chunk deltas, tool_call and tool_call_update). Same work,
 * same pacing, so CPU per 1,000 events compares the backends (bench/service_load.py --agent).
 * Arguments it does not know are skipped (a backend appends its own flags); --version prints one.
 *
 * Exits when stdin closes. Build: cc -O2 -o fake_app_server fake_app_server.c
 * Usage: fake_app_server [--dialect codex|claude|acp] [--rate N] [--turn-seconds S]
 *                        [--stats PATH|-] [--leak-file PATH]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* ---- counters ------------------------------------------------------------------------------ */

struct stats {
    char magic[8];
    int64_t pid, initialize_ns, first_turn_start_ns, last_turn_start_ns, turn_starts;
    int64_t lines_sent, notifications_sent, bytes_sent, requests_received, turns_completed;
    int64_t notifications_read;
};
static struct stats fallback;
static volatile struct stats *stats = &fallback;

static void open_stats(const char *path) {
    if (!path || !strcmp(path, "-")) return;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, 4096) != 0) return;
    void *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return;
    stats = map;
    memcpy((void *)stats->magic, "FAKEAPP1", 8);
    stats->pid = getpid();
}

static int64_t mono_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static long long wall_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- output -------------------------------------------------------------------------------- */

static char out[1 << 16];
static size_t out_len;

static void put(const char *s) {
    size_t n = strlen(s);
    if (out_len + n >= sizeof out) n = sizeof out - out_len - 1;
    memcpy(out + out_len, s, n);
    out_len += n;
}

static void putf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void putf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + out_len, sizeof out - out_len, fmt, ap);
    va_end(ap);
    if (n > 0) out_len += (size_t)n < sizeof out - out_len ? (size_t)n : sizeof out - out_len - 1;
}

/* `s` (n bytes, or up to NUL when n < 0) as the inside of a JSON string. */
static void put_escaped(const char *s, long n) {
    for (long i = 0; n < 0 ? s[i] != 0 : i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (out_len + 8 >= sizeof out) break;
        if (c == '"' || c == '\\') {
            out[out_len++] = '\\';
            out[out_len++] = (char)c;
        } else if (c == '\n') {
            out[out_len++] = '\\';
            out[out_len++] = 'n';
        } else if (c == '\t') {
            out[out_len++] = '\\';
            out[out_len++] = 't';
        } else if (c < 0x20) {
            out_len += (size_t)snprintf(out + out_len, 8, "\\u%04x", c);
        } else {
            out[out_len++] = (char)c;
        }
    }
}

/* Where each of the latest lines ends in the stream, and the notifications sent up to it. */
#define RING 8192
static int64_t ring_end[RING], ring_notifications[RING], ring_lines;

static void update_read(void) {
    int unread = 0;
    if (ioctl(1, FIONREAD, &unread) != 0) {
        stats->notifications_read = stats->notifications_sent;
        return;
    }
    int64_t read_upto = stats->bytes_sent - unread;
    int64_t i = ring_lines - 1;
    while (i >= 0 && i > ring_lines - RING && ring_end[i % RING] > read_upto) i--;
    stats->notifications_read = i >= 0 ? ring_notifications[i % RING] : 0;
}

static void flush_line(int notification) {
    out[out_len++] = '\n';
    size_t done = 0;
    while (done < out_len) {
        ssize_t k = write(1, out + done, out_len - done);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) exit(0); /* the client went away */
        done += (size_t)k;
    }
    stats->lines_sent++;
    stats->bytes_sent += (int64_t)out_len;
    if (notification) stats->notifications_sent++;
    ring_end[ring_lines % RING] = stats->bytes_sent;
    ring_notifications[ring_lines % RING] = stats->notifications_sent;
    ring_lines++;
    update_read();
    out_len = 0;
}

/* Starts a notification line; finish it with end_notification(). */
static void begin_notification(const char *method) {
    out_len = 0;
    putf("{\"method\":\"%s\",\"params\":{", method);
}

static void end_notification(void) {
    putf("},\"emittedAtMs\":%lld}", wall_ms());
    flush_line(1);
}

/* ---- input --------------------------------------------------------------------------------- */

static char in[1 << 22];
static size_t in_len;

/* One line into `line` (NUL-terminated, cut at cap): 1 when read, 0 on timeout; exits on EOF. */
static int read_line(char *line, size_t cap, int timeout_ms) {
    for (;;) {
        char *nl = memchr(in, '\n', in_len);
        if (nl) {
            size_t n = (size_t)(nl - in);
            size_t copy = n < cap - 1 ? n : cap - 1;
            memcpy(line, in, copy);
            line[copy] = 0;
            memmove(in, nl + 1, in_len - n - 1);
            in_len -= n + 1;
            return 1;
        }
        struct pollfd p = {0, POLLIN, 0};
        int r = poll(&p, 1, timeout_ms);
        if (r == 0) return 0;
        if (r < 0) {
            if (errno == EINTR) continue;
            exit(1);
        }
        if (in_len == sizeof in) in_len = 0; /* an absurdly long line: drop it */
        ssize_t k = read(0, in + in_len, sizeof in - in_len);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) exit(0);
        in_len += (size_t)k;
    }
}

/* A JSON value's extent: skips one value starting at p (whitespace first); returns its end. */
static const char *skip_value(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            if (*p == '\\' && p[1]) p++;
        return *p ? p + 1 : p;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; *p; p++) {
            if (*p == '"') {
                p = skip_value(p) - 1;
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if (*p == '}' || *p == ']') {
                if (--depth == 0) return p + 1;
            }
        }
        return p;
    }
    while (*p && *p != ',' && *p != '}' && *p != ']') p++;
    return p;
}

/* The raw value of `key` among the top-level members of the object at `obj`; NULL if absent. */
static const char *member(const char *obj, const char *key, const char **end) {
    const char *p = obj;
    while (*p && *p != '{') p++;
    if (!*p) return NULL;
    p++;
    size_t klen = strlen(key);
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t' || *p == '\r') p++;
        if (*p != '"') return NULL;
        const char *name = p + 1;
        const char *name_end = skip_value(p) - 1;
        p = name_end + 1;
        while (*p == ' ' || *p == ':') p++;
        const char *value = p;
        while (*value == ' ') value++;
        p = skip_value(p);
        if ((size_t)(name_end - name) == klen && !strncmp(name, key, klen)) {
            if (end) *end = p;
            return value;
        }
        if (!*p || *p == '}') return NULL;
    }
}

/* Copies the raw JSON value (a number, or a string with its quotes) into out_buf. */
static int raw_member(const char *obj, const char *key, char *out_buf, size_t cap) {
    const char *end;
    const char *v = member(obj, key, &end);
    if (!v) return 0;
    size_t n = (size_t)(end - v);
    while (n && (v[n - 1] == ' ')) n--;
    if (n >= cap) n = cap - 1;
    memcpy(out_buf, v, n);
    out_buf[n] = 0;
    return 1;
}

/* ---- what the agent "does": texts recorded from, and shaped like, real turns ---------------- */

static const char *REASONING[] = {
    "**Inspecting the repository layout**\n\nI need to see which modules exist before changing anything.",
    "**Reading the failing test**\n\nThe traceback points at the parser; I should read that test first.",
    "**Checking the configuration loader**\n\nThe default may come from the YAML front matter, not the CLI.",
    "**Running the focused tests**\n\nA narrow pytest run will tell me whether the fix holds.",
    "**Reviewing the diff**\n\nBefore reporting I want to make sure nothing unrelated changed.",
};
static const char *COMMENTARY[] = {
    "I'll look at the package layout first, then open the module the issue mentions.",
    "The parser drops the last field when the line has no trailing newline; I'll fix that next.",
    "Now I'll run the tests that cover the loader to check the change.",
};
static const char *FINAL =
    "I fixed the parser so a line without a trailing newline keeps its last field, added a "
    "regression test for it, and ran the loader and parser tests (all 48 pass). The change is "
    "limited to `src/parser.py` and `tests/test_parser.py`; nothing else in the workspace was "
    "modified.";

struct command {
    const char *command, *actions;
    const char *output[6];
};
static const struct command COMMANDS[] = {
    {"/bin/bash -lc \"rg --files | head -40\"",
     "[{\"type\":\"listFiles\",\"command\":\"rg --files\",\"path\":null}]",
     {"README.md\npyproject.toml\nsrc/app/__init__.py\nsrc/app/cli.py\n",
      "src/app/parser.py\nsrc/app/loader.py\nsrc/app/config.py\n",
      "tests/test_parser.py\ntests/test_loader.py\ntests/conftest.py\n", NULL}},
    {"/bin/bash -lc \"sed -n '1,80p' src/app/parser.py\"",
     "[{\"type\":\"read\",\"command\":\"sed -n '1,80p' src/app/parser.py\",\"name\":\"parser.py\","
     "\"path\":\"src/app/parser.py\"}]",
     {"\"\"\"Line parser for the record format.\"\"\"\n\nfrom __future__ import annotations\n\n",
      "import re\nfrom dataclasses import dataclass\n\nFIELD = re.compile(r\"([^,]*),\")\n\n",
      "@dataclass(frozen=True)\nclass Record:\n    fields: tuple[str, ...]\n\n",
      "def parse(line: str) -> Record:\n    return Record(tuple(FIELD.findall(line)))\n", NULL}},
    {"/bin/bash -lc \"rg -n 'def parse' src tests\"",
     "[{\"type\":\"search\",\"command\":\"rg -n 'def parse' src tests\",\"query\":\"def parse\","
     "\"path\":null}]",
     {"src/app/parser.py:14:def parse(line: str) -> Record:\n",
      "src/app/loader.py:31:def parse_file(path: Path) -> list[Record]:\n",
      "tests/test_parser.py:9:def parse_all(lines):\n", NULL}},
    {"/bin/bash -lc \"python -m pytest -q tests/test_parser.py tests/test_loader.py\"",
     "[{\"type\":\"unknown\",\"command\":\"python -m pytest -q tests/test_parser.py "
     "tests/test_loader.py\"}]",
     {"........................                                                 [ 50%]\n",
      "........................                                                 [100%]\n",
      "48 passed in 0.61s\n", NULL}},
    {"/bin/bash -lc \"git status --short && git diff --stat\"",
     "[{\"type\":\"unknown\",\"command\":\"git status --short\"},{\"type\":\"unknown\","
     "\"command\":\"git diff --stat\"}]",
     {" M src/app/parser.py\n M tests/test_parser.py\n",
      " src/app/parser.py    |  4 ++--\n tests/test_parser.py | 12 ++++++++++++\n",
      " 2 files changed, 14 insertions(+), 2 deletions(-)\n", NULL}},
};
#define N_REASONING (sizeof REASONING / sizeof *REASONING)
#define N_COMMENTARY (sizeof COMMENTARY / sizeof *COMMENTARY)
#define N_COMMANDS (sizeof COMMANDS / sizeof *COMMANDS)

/* ---- session state ------------------------------------------------------------------------- */

static char thread_id[40], turn_id[40], cwd[4096], codex_home[4096];
static int initialized;
static uint64_t rng_state;
static char leaks[8][256];
static int n_leaks;

static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A UUIDv7-shaped id, like codex's thread and turn ids. */
static void uuid7(char *buf) {
    long long ms = wall_ms();
    uint64_t a = rnd(), b = rnd();
    snprintf(buf, 40, "%08llx-%04llx-7%03llx-%04llx-%012llx", (ms >> 16) & 0xffffffffULL,
             ms & 0xffffULL, (unsigned long long)(a & 0xfff),
             (unsigned long long)(0x8000 | ((a >> 12) & 0x3fff)),
             (unsigned long long)(b & 0xffffffffffffULL));
}

static void hex_id(char *buf, size_t cap, const char *prefix, int digits) {
    size_t n = (size_t)snprintf(buf, cap, "%s", prefix);
    while ((int)(n - strlen(prefix)) < digits && n + 1 < cap) {
        buf[n++] = "0123456789abcdef"[rnd() & 15];
    }
    buf[n] = 0;
}

/* ---- the turn as a queue of lines, each rendered when it is sent ---------------------------- */

enum kind {
    STATUS_ACTIVE, TURN_STARTED, USER_STARTED, USER_COMPLETED,
    REASONING_STARTED, REASONING_PART, REASONING_DELTA, REASONING_COMPLETED,
    MESSAGE_STARTED, MESSAGE_DELTA, MESSAGE_COMPLETED,
    COMMAND_STARTED, COMMAND_OUTPUT, COMMAND_COMPLETED,
    TOKEN_USAGE, RATE_LIMITS, READ_STATE, STATUS_IDLE, TURN_COMPLETED,
};

struct line {
    enum kind kind;
    const char *text; /* the whole text of the item */
    int from, len;    /* this delta's slice of it */
    int which;        /* command index, or 1 for the final message */
};

static struct line queue[512];
static int q_head, q_len;
static int step_no;
static long long turn_started_ms, item_started_ms;
static char item_id[64], prompt_text[512];
static int leak_this_command;
static long long total_in, total_cached, total_out, total_reasoning;
static long long last_in, last_cached, last_out, last_reasoning;

/* Which agent this process plays: codex app-server (default), the Claude Code CLI in stream-json
 * mode, or an ACP agent. The turn is the same work in each; only the lines differ. */
enum dialect { CODEX, CLAUDE, ACP };
static enum dialect dialect = CODEX;

/* Whether `kind` is a line of its own in this dialect: Claude Code (without partial messages)
 * sends whole messages, ACP sends deltas and tool-call updates but no item bookkeeping. */
static int renders(enum kind kind) {
    switch (dialect) {
    case CLAUDE:
        return kind == TURN_STARTED || kind == REASONING_COMPLETED || kind == MESSAGE_COMPLETED ||
               kind == COMMAND_STARTED || kind == COMMAND_COMPLETED || kind == TURN_COMPLETED;
    case ACP:
        return kind == REASONING_DELTA || kind == MESSAGE_DELTA || kind == COMMAND_STARTED ||
               kind == COMMAND_OUTPUT || kind == COMMAND_COMPLETED || kind == TURN_COMPLETED;
    default:
        return 1;
    }
}

static void enqueue(enum kind kind, const char *text, int from, int len, int which) {
    if (!renders(kind)) return;
    if (q_len >= (int)(sizeof queue / sizeof *queue)) return;
    struct line *l = &queue[(q_head + q_len) % (int)(sizeof queue / sizeof *queue)];
    l->kind = kind;
    l->text = text;
    l->from = from;
    l->len = len;
    l->which = which;
    q_len++;
}

/* Deltas of 4-7 characters, like a model's tokens. */
static void enqueue_deltas(enum kind kind, const char *text, int which) {
    int n = (int)strlen(text);
    for (int at = 0; at < n;) {
        int len = 4 + (int)(rnd() % 4);
        if (at + len > n) len = n - at;
        enqueue(kind, text, at, len, which);
        at += len;
    }
}

static void enqueue_reasoning(const char *text) {
    enqueue(REASONING_STARTED, text, 0, 0, 0);
    enqueue(REASONING_PART, text, 0, 0, 0);
    enqueue_deltas(REASONING_DELTA, text, 0);
    enqueue(REASONING_COMPLETED, text, 0, 0, 0);
}

static void enqueue_message(const char *text, int final) {
    enqueue(MESSAGE_STARTED, text, 0, 0, final);
    enqueue_deltas(MESSAGE_DELTA, text, final);
    enqueue(MESSAGE_COMPLETED, text, 0, 0, final);
}

static void enqueue_step(void) {
    int s = step_no++;
    enqueue_reasoning(REASONING[s % N_REASONING]);
    if (s % 2 == 0) enqueue_message(COMMENTARY[(s / 2) % N_COMMENTARY], 0);
    int c = s % (int)N_COMMANDS;
    enqueue(COMMAND_STARTED, NULL, 0, 0, c);
    for (int j = 0; COMMANDS[c].output[j]; j++) enqueue(COMMAND_OUTPUT, NULL, j, 0, c);
    if (n_leaks && s % 5 == 0) enqueue(COMMAND_OUTPUT, NULL, -1, 0, c);
    enqueue(COMMAND_COMPLETED, NULL, 0, 0, c);
    enqueue(TOKEN_USAGE, NULL, 0, 0, 0);
    enqueue(RATE_LIMITS, NULL, 0, 0, 0);
}

static void enqueue_final(void) {
    enqueue_reasoning("**Summarising the change**\n\nThe tests pass; I can report what changed.");
    enqueue_message(FINAL, 1);
    enqueue(TOKEN_USAGE, NULL, 0, 0, 0);
    enqueue(RATE_LIMITS, NULL, 0, 0, 0);
    enqueue(READ_STATE, NULL, 0, 0, 0);
    enqueue(STATUS_IDLE, NULL, 0, 0, 0);
    enqueue(TURN_COMPLETED, NULL, 0, 0, 0);
}

static void put_ids(void) { putf("\"threadId\":\"%s\",\"turnId\":\"%s\"", thread_id, turn_id); }

static void put_leak_line(int which) {
    /* One secret from --leak-file, then a token-shaped string nobody registered. */
    put("GITHUB_TOKEN=ghp_");
    for (int i = 0; i < 36; i++) {
        char ch[2] = {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[(rnd() % 62)], 0};
        put(ch);
    }
    put("\\nAPI_KEY=");
    put_escaped(leaks[which % n_leaks], -1);
    put("\\n");
}

static void put_command_item(int c, int completed) {
    const struct command *cmd = &COMMANDS[c];
    putf("{\"type\":\"commandExecution\",\"id\":\"%s\",\"pluginId\":null,\"scriptPath\":null,"
         "\"command\":\"", item_id);
    put_escaped(cmd->command, -1);
    put("\",\"cwd\":\"");
    put_escaped(cwd, -1);
    putf("\",\"processId\":\"%d\",\"source\":\"unifiedExecStartup\",\"status\":\"%s\","
         "\"commandActions\":%s,\"aggregatedOutput\":",
         (int)(getpid() + 1 + step_no), completed ? "completed" : "inProgress", cmd->actions);
    long long now = wall_ms();
    if (completed) {
        put("\"");
        if (leak_this_command) put_leak_line(step_no);
        for (int j = 0; cmd->output[j]; j++) put_escaped(cmd->output[j], -1);
        putf("\",\"exitCode\":0,\"durationMs\":%lld,\"startedAtMs\":%lld,\"completedAtMs\":%lld}",
             now - item_started_ms, item_started_ms, now);
    } else {
        putf("null,\"exitCode\":null,\"durationMs\":null,\"startedAtMs\":%lld,"
             "\"completedAtMs\":null}", item_started_ms);
    }
}

static void put_message_item(const struct line *l, int completed) {
    long long now = wall_ms();
    putf("{\"type\":\"agentMessage\",\"moderation\":null,\"id\":\"%s\",\"text\":\"", item_id);
    if (completed) put_escaped(l->text, -1);
    putf("\",\"phase\":\"%s\",\"memoryCitation\":null,\"delivery\":null,\"questions\":null,"
         "\"startedAtMs\":%lld,\"completedAtMs\":",
         l->which ? "final_answer" : "commentary", item_started_ms);
    if (completed) putf("%lld}", now); else put("null}");
}

static void put_reasoning_item(const struct line *l, int completed) {
    long long now = wall_ms();
    putf("{\"type\":\"reasoning\",\"id\":\"%s\",\"summary\":[", item_id);
    if (completed) {
        put("\"");
        put_escaped(l->text, -1);
        put("\"");
    }
    putf("],\"content\":[],\"startedAtMs\":%lld,\"completedAtMs\":", item_started_ms);
    if (completed) putf("%lld}", now); else put("null}");
}

/* The members after the item in item/started and item/completed params. */
static void item_started(void) {
    put(",");
    put_ids();
    putf(",\"startedAtMs\":%lld", item_started_ms);
}

static void item_completed(void) {
    put(",");
    put_ids();
    putf(",\"contentTokenCount\":null,\"completedAtMs\":%lld", wall_ms());
}

static void put_turn(const char *status, int completed) {
    long long now = wall_ms();
    putf("{\"id\":\"%s\",\"rootTurnId\":\"%s\",\"items\":[", turn_id, turn_id);
    if (completed && !strcmp(status, "completed")) {
        struct line final = {MESSAGE_COMPLETED, FINAL, 0, 0, 1};
        put_message_item(&final, 1);
    }
    putf("],\"itemsView\":\"%s\",\"status\":\"%s\",\"error\":null,\"startedAt\":%lld,"
         "\"completedAt\":",
         completed ? "summary" : "notLoaded", status, turn_started_ms / 1000);
    if (completed) putf("%lld,\"durationMs\":%lld}", now / 1000, now - turn_started_ms);
    else put("null,\"durationMs\":null}");
}

/* ---- the same turn as Claude Code's stream-json lines ------------------------------------- */

static char session_id[40], request_id[64];
static int result_index, turn_steps;
static double cost_usd;

static void claude_begin(const char *type) {
    out_len = 0;
    putf("{\"type\":\"%s\",", type);
}

static void claude_end(void) {
    char uuid[40];
    uuid7(uuid);
    putf(",\"parent_tool_use_id\":null,\"session_id\":\"%s\",\"uuid\":\"%s\"}", session_id, uuid);
    flush_line(1);
}

static void claude_assistant_begin(void) {
    char msg[40];
    hex_id(msg, sizeof msg, "msg_", 24);
    claude_begin("assistant");
    putf("\"message\":{\"id\":\"%s\",\"type\":\"message\",\"role\":\"assistant\","
         "\"model\":\"claude-opus-5-5\",\"content\":[", msg);
}

static void claude_assistant_end(void) {
    put("],\"stop_reason\":null,\"usage\":{\"input_tokens\":9000,\"cache_creation_input_tokens\":0,"
        "\"cache_read_input_tokens\":8400,\"output_tokens\":1,\"service_tier\":\"standard\"}}");
    claude_end();
}

static void claude_result(int interrupted) {
    long long now = wall_ms();
    long long in_tokens = 9000LL * (turn_steps + 1), out_tokens = 250LL * (turn_steps + 1);
    double turn_cost = (double)in_tokens * 4e-6 + (double)out_tokens * 2e-5;
    cost_usd += turn_cost;
    char uuid[40];
    uuid7(uuid);
    out_len = 0;
    putf("{\"type\":\"result\",\"subtype\":\"%s\",\"is_error\":%s,",
         interrupted ? "error_during_execution" : "success", interrupted ? "true" : "false");
    if (!interrupted) {
        put("\"result\":\"");
        put_escaped(FINAL, -1);
        put("\",\"stop_reason\":\"end_turn\",\"terminal_reason\":\"completed\",");
    } else {
        put("\"terminal_reason\":\"aborted_tools\",\"errors\":[\"[ede_diagnostic] interrupted\"],");
    }
    putf("\"num_turns\":%d,\"session_id\":\"%s\",\"duration_ms\":%lld,\"duration_api_ms\":%lld,"
         "\"total_cost_usd\":%.6f,\"usage\":{\"input_tokens\":%lld,\"cache_creation_input_tokens\":0,"
         "\"cache_read_input_tokens\":%lld,\"output_tokens\":%lld,\"service_tier\":\"standard\"},"
         "\"modelUsage\":{\"claude-opus-5-5\":{\"inputTokens\":%lld,\"outputTokens\":%lld,"
         "\"cacheReadInputTokens\":0,\"cacheCreationInputTokens\":0,\"costUSD\":%.6f}},"
         "\"permission_denials\":[],\"api_error_status\":null,\"result_index\":%d,"
         "\"queued_turn_count\":0,\"uuid\":\"%s\"}",
         turn_steps + 1, session_id, now - turn_started_ms, (now - turn_started_ms) / 2, cost_usd,
         in_tokens, in_tokens * 9 / 10, out_tokens, in_tokens, out_tokens, cost_usd, result_index++,
         uuid);
    flush_line(1);
    stats->turns_completed++;
}

static void send_claude(const struct line *l) {
    const struct command *cmd = &COMMANDS[l->which];
    switch (l->kind) {
    case TURN_STARTED:
        claude_begin("system");
        put("\"subtype\":\"init\",\"cwd\":\"");
        put_escaped(cwd, -1);
        putf("\",\"tools\":[\"Task\",\"Bash\",\"Edit\",\"Read\",\"Write\",\"Glob\",\"Grep\","
             "\"mcp__symphony__linear_graphql\"],\"mcp_servers\":[{\"name\":\"symphony\","
             "\"status\":\"connected\",\"source\":\"dynamic\"}],\"model\":\"claude-opus-5-5\","
             "\"permissionMode\":\"default\",\"apiKeySource\":\"ANTHROPIC_API_KEY\","
             "\"claude_code_version\":\"2.1.328\",\"output_style\":\"default\"");
        claude_end();
        break;
    case REASONING_COMPLETED:
        claude_assistant_begin();
        put("{\"type\":\"thinking\",\"thinking\":\"");
        put_escaped(l->text, -1);
        put("\",\"signature\":\"\"}");
        claude_assistant_end();
        break;
    case MESSAGE_COMPLETED:
        claude_assistant_begin();
        put("{\"type\":\"text\",\"text\":\"");
        put_escaped(l->text, -1);
        put("\"}");
        claude_assistant_end();
        break;
    case COMMAND_STARTED:
        hex_id(item_id, sizeof item_id, "toolu_", 24);
        leak_this_command = 0;
        turn_steps++;
        claude_assistant_begin();
        putf("{\"type\":\"tool_use\",\"id\":\"%s\",\"name\":\"Bash\",\"input\":{\"command\":\"",
             item_id);
        put_escaped(cmd->command, -1);
        put("\",\"description\":\"Run a command\"}}");
        claude_assistant_end();
        break;
    case COMMAND_COMPLETED: {
        claude_begin("user");
        putf("\"message\":{\"role\":\"user\",\"content\":[{\"tool_use_id\":\"%s\","
             "\"type\":\"tool_result\",\"content\":\"", item_id);
        int leak = n_leaks && step_no % 5 == 1;
        if (leak) put_leak_line(step_no);
        for (int j = 0; cmd->output[j]; j++) put_escaped(cmd->output[j], -1);
        put("\",\"is_error\":false}]},\"tool_use_result\":{\"stdout\":\"");
        if (leak) put_leak_line(step_no);
        for (int j = 0; cmd->output[j]; j++) put_escaped(cmd->output[j], -1);
        put("\",\"stderr\":\"\",\"interrupted\":false,\"isImage\":false,"
            "\"noOutputExpected\":false}");
        claude_end();
        break;
    }
    case TURN_COMPLETED:
        claude_result(0);
        break;
    default:
        break;
    }
}

/* ---- the same turn as an ACP agent's session/update notifications ---------------------------- */

static void acp_update_begin(const char *kind) {
    out_len = 0;
    putf("{\"jsonrpc\":\"2.0\",\"method\":\"session/update\",\"params\":{\"sessionId\":\"%s\","
         "\"update\":{\"sessionUpdate\":\"%s\"", session_id, kind);
}

static void acp_update_end(void) {
    put("}}}");
    flush_line(1);
}

static void acp_prompt_done(const char *stop_reason) {
    out_len = 0;
    putf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"stopReason\":\"%s\"}}", request_id,
         stop_reason);
    flush_line(0);
    stats->turns_completed++;
}

static void send_acp(const struct line *l) {
    const struct command *cmd = &COMMANDS[l->which];
    switch (l->kind) {
    case REASONING_DELTA:
    case MESSAGE_DELTA:
        acp_update_begin(l->kind == REASONING_DELTA ? "agent_thought_chunk" : "agent_message_chunk");
        put(",\"content\":{\"type\":\"text\",\"text\":\"");
        put_escaped(l->text + l->from, l->len);
        put("\"}");
        acp_update_end();
        break;
    case COMMAND_STARTED:
        hex_id(item_id, sizeof item_id, "call_", 24);
        acp_update_begin("tool_call");
        putf(",\"toolCallId\":\"%s\",\"title\":\"", item_id);
        put_escaped(cmd->command, -1);
        put("\",\"kind\":\"execute\",\"status\":\"in_progress\",\"rawInput\":{\"command\":\"");
        put_escaped(cmd->command, -1);
        put("\"}");
        acp_update_end();
        break;
    case COMMAND_OUTPUT:
        acp_update_begin("tool_call_update");
        putf(",\"toolCallId\":\"%s\",\"content\":[{\"type\":\"content\",\"content\":"
             "{\"type\":\"text\",\"text\":\"", item_id);
        if (l->from < 0) put_leak_line(step_no);
        else put_escaped(cmd->output[l->from], -1);
        put("\"}}]");
        acp_update_end();
        break;
    case COMMAND_COMPLETED:
        acp_update_begin("tool_call_update");
        putf(",\"toolCallId\":\"%s\",\"status\":\"completed\",\"rawOutput\":{\"exit_code\":0}",
             item_id);
        acp_update_end();
        break;
    case TURN_COMPLETED:
        acp_prompt_done("end_turn");
        break;
    default:
        break;
    }
}

static void send_line(const struct line *l) {
    if (dialect == CLAUDE) {
        send_claude(l);
        return;
    }
    if (dialect == ACP) {
        send_acp(l);
        return;
    }
    switch (l->kind) {
    case STATUS_ACTIVE:
        begin_notification("thread/status/changed");
        putf("\"threadId\":\"%s\",\"status\":{\"type\":\"active\",\"activeFlags\":[]}", thread_id);
        break;
    case STATUS_IDLE:
        begin_notification("thread/status/changed");
        putf("\"threadId\":\"%s\",\"status\":{\"type\":\"idle\"}", thread_id);
        break;
    case TURN_STARTED:
        begin_notification("turn/started");
        putf("\"threadId\":\"%s\",\"turn\":", thread_id);
        put_turn("inProgress", 0);
        break;
    case USER_STARTED:
    case USER_COMPLETED: {
        int done = l->kind == USER_COMPLETED;
        if (!done) {
            uuid7(item_id);
            item_started_ms = wall_ms();
        }
        begin_notification(done ? "item/completed" : "item/started");
        putf("\"item\":{\"type\":\"userMessage\",\"id\":\"%s\",\"clientId\":null,\"content\":"
             "[{\"type\":\"text\",\"text\":\"", item_id);
        put(prompt_text);
        putf("\",\"text_elements\":[]}],\"startedAtMs\":%lld,\"completedAtMs\":", item_started_ms);
        if (done) putf("%lld}", item_started_ms); else put("null}");
        if (done) item_completed(); else item_started();
        break;
    }
    case REASONING_STARTED:
        hex_id(item_id, sizeof item_id, "rs_", 48);
        item_started_ms = wall_ms();
        begin_notification("item/started");
        put("\"item\":");
        put_reasoning_item(l, 0);
        item_started();
        break;
    case REASONING_PART:
        begin_notification("item/reasoning/summaryPartAdded");
        put_ids();
        putf(",\"itemId\":\"%s\",\"summaryIndex\":0", item_id);
        break;
    case REASONING_DELTA:
        begin_notification("item/reasoning/summaryTextDelta");
        put_ids();
        putf(",\"itemId\":\"%s\",\"delta\":\"", item_id);
        put_escaped(l->text + l->from, l->len);
        put("\",\"summaryIndex\":0");
        break;
    case REASONING_COMPLETED:
        begin_notification("item/completed");
        put("\"item\":");
        put_reasoning_item(l, 1);
        item_completed();
        break;
    case MESSAGE_STARTED:
        hex_id(item_id, sizeof item_id, "msg_", 48);
        item_started_ms = wall_ms();
        begin_notification("item/started");
        put("\"item\":");
        put_message_item(l, 0);
        item_started();
        break;
    case MESSAGE_DELTA:
        begin_notification("item/agentMessage/delta");
        put_ids();
        putf(",\"itemId\":\"%s\",\"delta\":\"", item_id);
        put_escaped(l->text + l->from, l->len);
        put("\"");
        break;
    case MESSAGE_COMPLETED:
        begin_notification("item/completed");
        put("\"item\":");
        put_message_item(l, 1);
        item_completed();
        break;
    case COMMAND_STARTED:
        hex_id(item_id, sizeof item_id, "call_", 24);
        item_started_ms = wall_ms();
        leak_this_command = 0;
        begin_notification("item/started");
        put("\"item\":");
        put_command_item(l->which, 0);
        item_started();
        break;
    case COMMAND_OUTPUT:
        begin_notification("item/commandExecution/outputDelta");
        put_ids();
        putf(",\"itemId\":\"%s\",\"delta\":\"", item_id);
        if (l->from < 0) {
            leak_this_command = 1;
            put_leak_line(step_no);
        } else {
            put_escaped(COMMANDS[l->which].output[l->from], -1);
        }
        put("\"");
        break;
    case COMMAND_COMPLETED:
        begin_notification("item/completed");
        put("\"item\":");
        put_command_item(l->which, 1);
        item_completed();
        break;
    case TOKEN_USAGE:
        last_in = 9000 + (long long)(rnd() % 4000);
        last_cached = last_in - 600 - (long long)(rnd() % 400);
        last_out = 120 + (long long)(rnd() % 300);
        last_reasoning = last_out / 3;
        total_in += last_in;
        total_cached += last_cached;
        total_out += last_out;
        total_reasoning += last_reasoning;
        begin_notification("thread/tokenUsage/updated");
        put_ids();
        putf(",\"tokenUsage\":{\"total\":{\"totalTokens\":%lld,\"inputTokens\":%lld,"
             "\"cachedInputTokens\":%lld,\"cacheWriteInputTokens\":0,\"outputTokens\":%lld,"
             "\"reasoningOutputTokens\":%lld},\"last\":{\"totalTokens\":%lld,\"inputTokens\":%lld,"
             "\"cachedInputTokens\":%lld,\"cacheWriteInputTokens\":0,\"outputTokens\":%lld,"
             "\"reasoningOutputTokens\":%lld},\"modelContextWindow\":258400}",
             total_in + total_out, total_in, total_cached, total_out, total_reasoning,
             last_in + last_out, last_in, last_cached, last_out, last_reasoning);
        break;
    case RATE_LIMITS:
        begin_notification("account/rateLimits/updated");
        putf("\"rateLimits\":{\"limitId\":\"codex\",\"limitName\":null,\"normalModelSlug\":null,"
             "\"primary\":{\"usedPercent\":%d,\"windowDurationMins\":300,\"resetsAt\":%lld},"
             "\"secondary\":{\"usedPercent\":%d,\"windowDurationMins\":10080,\"resetsAt\":%lld},"
             "\"credits\":null,\"individualLimit\":null,\"spendControlReached\":null,"
             "\"planType\":null,\"rateLimitReachedType\":null}",
             12 + (step_no / 20) % 80, turn_started_ms / 1000 + 18000, 40 + (step_no / 200) % 50,
             turn_started_ms / 1000 + 604800);
        break;
    case READ_STATE: {
        char revision[40];
        uuid7(revision);
        begin_notification("thread/readState/changed");
        putf("\"threadId\":\"%s\",\"readState\":{\"firstUnread\":{\"type\":\"turn\","
             "\"turnId\":\"%s\"},\"revision\":\"%s\"}",
             thread_id, turn_id, revision);
        break;
    }
    case TURN_COMPLETED:
        begin_notification("turn/completed");
        putf("\"threadId\":\"%s\",\"turn\":", thread_id);
        put_turn("completed", 1);
        stats->turns_completed++;
        break;
    }
    end_notification();
}

/* ---- requests ------------------------------------------------------------------------------ */

static void respond_raw(const char *id, const char *result) {
    out_len = 0;
    putf("{%s\"id\":%s,\"result\":%s}", dialect == ACP ? "\"jsonrpc\":\"2.0\"," : "", id, result);
    flush_line(0);
}

static void respond_error(const char *id, const char *message) {
    out_len = 0;
    putf("{%s\"id\":%s,\"error\":{\"code\":-32600,\"message\":\"%s\"}}",
         dialect == ACP ? "\"jsonrpc\":\"2.0\"," : "", id, message);
    flush_line(0);
}

static void put_thread(void) {
    long long now = wall_ms() / 1000;
    putf("{\"id\":\"%s\",\"environments\":[{\"environmentId\":\"local\",\"cwd\":\"", thread_id);
    put_escaped(cwd, -1);
    put("\",\"runtimeWorkspaceRoots\":[\"");
    put_escaped(cwd, -1);
    putf("\"]}],\"extra\":null,\"sessionId\":\"%s\",\"forkedFromId\":null,"
         "\"attachedToThreadId\":null,\"parentThreadId\":null,\"preview\":\"\",\"ephemeral\":false,"
         "\"section\":null,\"sectionEnteredAt\":null,\"projectId\":null,"
         "\"historyMode\":\"paginated\",\"modelProvider\":\"openai\",\"model\":\"gpt-5.5-codex\","
         "\"reasoningEffort\":\"medium\",\"createdAt\":%lld,\"updatedAt\":%lld,\"recencyAt\":%lld,"
         "\"status\":{\"type\":\"idle\"},\"path\":\"",
         thread_id, now, now, now);
    put_escaped(codex_home, -1);
    putf("/sessions/rollout-%s.jsonl\",\"cwd\":\"", thread_id);
    put_escaped(cwd, -1);
    put("\",\"cliVersion\":\"0.169.0\",\"originator\":\"symphony-orchestrator\","
        "\"source\":\"vscode\",\"canAcceptDirectInput\":true,\"threadSource\":null,"
        "\"agentNickname\":null,\"agentRole\":null,\"gitInfo\":null,\"name\":null,"
        "\"daybreakEnabled\":null,\"turns\":[]}");
}

static void on_thread_start(const char *id) {
    uuid7(thread_id);
    out_len = 0;
    putf("{\"id\":%s,\"result\":{\"thread\":", id);
    put_thread();
    put(",\"model\":\"gpt-5.5-codex\",\"modelProvider\":\"openai\",\"serviceTier\":null,"
        "\"disabledPluginIds\":[],\"cwd\":\"");
    put_escaped(cwd, -1);
    put("\",\"runtimeWorkspaceRoots\":[\"");
    put_escaped(cwd, -1);
    put("\"],\"instructionSources\":[],\"approvalPolicy\":\"never\",\"approvalsReviewer\":\"user\","
        "\"sandbox\":{\"type\":\"workspaceWrite\",\"writableRoots\":[\"");
    put_escaped(cwd, -1);
    put("\"],\"networkAccess\":false,\"excludeTmpdirEnvVar\":false,\"excludeSlashTmp\":false},"
        "\"activePermissionProfile\":null,\"reasoningEffort\":\"medium\","
        "\"multiAgentMode\":\"explicitRequestOnly\"}}");
    flush_line(0);
    begin_notification("thread/started");
    put("\"thread\":");
    put_thread();
    end_notification();
}

static void on_name_set(const char *id, const char *line) {
    char name[1024] = "\"\"";
    const char *params = member(line, "params", NULL);
    if (params) raw_member(params, "name", name, sizeof name);
    respond_raw(id, "{}");
    begin_notification("thread/name/updated");
    putf("\"threadId\":\"%s\",\"threadName\":%s", thread_id, name);
    end_notification();
}

static void handle(const char *line, int in_turn, int *interrupted);

static void run_turn(const char *id, double rate, double seconds) {
    uuid7(turn_id);
    turn_started_ms = wall_ms();
    turn_steps = 0;
    if (dialect == CODEX) {
        out_len = 0;
        putf("{\"id\":%s,\"result\":{\"turn\":", id);
        put_turn("inProgress", 0);
        put("}}");
        flush_line(0);
    } else if (dialect == ACP) {
        snprintf(request_id, sizeof request_id, "%s", id); /* answered when the turn ends */
    }
    q_head = q_len = 0;
    enqueue(STATUS_ACTIVE, NULL, 0, 0, 0);
    enqueue(TURN_STARTED, NULL, 0, 0, 0);
    enqueue(USER_STARTED, NULL, 0, 0, 0);
    enqueue(USER_COMPLETED, NULL, 0, 0, 0);

    int64_t interval = rate > 0 ? (int64_t)(1e9 / rate) : 0;
    int64_t end = mono_ns() + (int64_t)(seconds * 1e9), next = mono_ns();
    int finishing = 0, interrupted = 0, quiet = 0;
    char line[1 << 16];
    for (;;) {
        int64_t now = mono_ns();
        if (!finishing && (interrupted || now >= end)) {
            finishing = 1;
            if (interrupted) {
                q_head = q_len = 0;
            }
            /* The step in flight finishes first (the queue holds whole steps), then the answer. */
            if (!interrupted) enqueue_final();
        }
        if (interrupted && finishing && !q_len && dialect != CODEX) {
            if (dialect == CLAUDE) claude_result(1);
            else acp_prompt_done("cancelled");
            return;
        }
        if (interrupted && finishing && !q_len) {
            begin_notification("turn/completed");
            putf("\"threadId\":\"%s\",\"turn\":", thread_id);
            put_turn("interrupted", 1);
            end_notification();
            stats->turns_completed++;
            return;
        }
        int wait_ms = interval ? (int)((next - now) / 1000000) : 0;
        if (!finishing && !interval) wait_ms = (int)((end - now) / 1000000) + 1;
        if (wait_ms > 0) {
            quiet = !read_line(line, sizeof line, wait_ms);
            if (!quiet) handle(line, 1, &interrupted);
            continue;
        }
        /* Requests that arrived meanwhile are answered before the next line (a wait that just
         * timed out has looked already: one syscall less per line). */
        if (!quiet)
            while (read_line(line, sizeof line, 0)) handle(line, 1, &interrupted);
        quiet = 0;
        if (interrupted) continue;
        if (!q_len) enqueue_step();
        struct line l = queue[q_head];
        q_head = (q_head + 1) % 512;
        q_len--;
        send_line(&l);
        if (l.kind == TURN_COMPLETED) return;
        next += interval;
        if (mono_ns() - next > 1000000000) next = mono_ns(); /* a stalled reader: no burst */
    }
}

static double rate = 20, seconds = 0.2;

static void note_turn_start(void) {
    int64_t at = mono_ns();
    if (!stats->first_turn_start_ns) stats->first_turn_start_ns = at;
    stats->last_turn_start_ns = at;
    stats->turn_starts++;
}

/* Claude Code: a user message is a turn; control requests are answered with success. */
static void handle_claude(const char *line, int in_turn, int *interrupted) {
    char type[64] = "";
    raw_member(line, "type", type, sizeof type);
    if (!strcmp(type, "\"user\"")) {
        stats->requests_received++;
        note_turn_start();
        if (!in_turn) run_turn(NULL, rate, seconds); /* the real CLI queues one sent mid-turn */
    } else if (!strcmp(type, "\"control_request\"")) {
        char rid[128] = "\"\"", subtype[64] = "";
        raw_member(line, "request_id", rid, sizeof rid);
        const char *request = member(line, "request", NULL);
        if (request) raw_member(request, "subtype", subtype, sizeof subtype);
        stats->requests_received++;
        if (!strcmp(subtype, "\"initialize\"")) stats->initialize_ns = mono_ns();
        out_len = 0;
        putf("{\"type\":\"control_response\",\"response\":{\"subtype\":\"success\","
             "\"request_id\":%s,\"response\":{}}}", rid);
        flush_line(0);
        if (!strcmp(subtype, "\"interrupt\"") && in_turn && interrupted) *interrupted = 1;
    }
}

/* ACP: JSON-RPC 2.0; session/prompt is a turn, answered when it ends; session/cancel stops it. */
static void handle_acp(const char *line, int in_turn, int *interrupted) {
    char method[128] = "", id[64] = "";
    raw_member(line, "method", method, sizeof method);
    if (!method[0]) return; /* a response to a request of ours */
    if (!strcmp(method, "\"session/cancel\"")) {
        if (in_turn && interrupted) *interrupted = 1;
        return;
    }
    if (!raw_member(line, "id", id, sizeof id) || !strcmp(id, "null")) return;
    stats->requests_received++;
    if (!strcmp(method, "\"initialize\"")) {
        stats->initialize_ns = mono_ns();
        respond_raw(id, "{\"protocolVersion\":1,\"agentCapabilities\":{\"loadSession\":false,"
                        "\"mcpCapabilities\":{\"http\":true,\"sse\":false},\"promptCapabilities\":"
                        "{\"image\":false,\"audio\":false,\"embeddedContext\":true}},"
                        "\"authMethods\":[],\"agentInfo\":{\"name\":\"bench-acp\",\"version\":\"0.1.0\"}}");
    } else if (!strcmp(method, "\"session/new\"")) {
        char result[96];
        uuid7(session_id);
        snprintf(result, sizeof result, "{\"sessionId\":\"%s\"}", session_id);
        respond_raw(id, result);
    } else if (!strcmp(method, "\"session/prompt\"")) {
        note_turn_start();
        if (in_turn) respond_error(id, "a prompt is already running");
        else run_turn(id, rate, seconds);
    } else {
        respond_raw(id, "{}");
    }
}

static void handle(const char *line, int in_turn, int *interrupted) {
    if (dialect == CLAUDE) {
        handle_claude(line, in_turn, interrupted);
        return;
    }
    if (dialect == ACP) {
        handle_acp(line, in_turn, interrupted);
        return;
    }
    char method[128] = "", id[64] = "";
    raw_member(line, "method", method, sizeof method);
    if (!raw_member(line, "id", id, sizeof id) || !strcmp(id, "null")) return; /* notification */
    if (!method[0]) return; /* a response to a server request */
    stats->requests_received++;
    if (!strcmp(method, "\"initialize\"")) {
        stats->initialize_ns = mono_ns();
        if (initialized) {
            respond_error(id, "Already initialized");
            return;
        }
        initialized = 1;
        out_len = 0;
        putf("{\"id\":%s,\"result\":{\"userAgent\":\"symphony-orchestrator/0.169.0 (Debian 12.0.0; "
             "x86_64) unknown (symphony-orchestrator; 0.1.0)\",\"codexHome\":\"", id);
        put_escaped(codex_home, -1);
        put("\",\"platformFamily\":\"unix\",\"platformOs\":\"linux\"}}");
        flush_line(0);
        begin_notification("remoteControl/status/changed");
        putf("\"status\":\"disabled\",\"serverName\":\"bench\",\"installationId\":\"%s\","
             "\"environmentId\":null", thread_id[0] ? thread_id : "00000000-0000-7000-8000-000000000000");
        end_notification();
        return;
    }
    if (!initialized) {
        respond_error(id, "Not initialized");
        return;
    }
    if (!strcmp(method, "\"thread/start\"")) {
        on_thread_start(id);
    } else if (!strcmp(method, "\"thread/name/set\"")) {
        on_name_set(id, line);
    } else if (!strcmp(method, "\"turn/start\"")) {
        note_turn_start();
        if (in_turn) {
            respond_error(id, "turn already in progress");
            return;
        }
        run_turn(id, rate, seconds);
    } else if (!strcmp(method, "\"turn/interrupt\"")) {
        respond_raw(id, "{}");
        if (in_turn && interrupted) *interrupted = 1;
    } else {
        respond_raw(id, "{}");
    }
}

static void load_leaks(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    while (n_leaks < 8 && fgets(leaks[n_leaks], sizeof leaks[0], f)) {
        leaks[n_leaks][strcspn(leaks[n_leaks], "\r\n")] = 0;
        if (leaks[n_leaks][0]) n_leaks++;
    }
    fclose(f);
}

int main(int argc, char **argv) {
    const char *stats_path = "fake-app-server.stats", *leak_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--version")) {
            puts("2.1.328 (Claude Code)"); /* what `claude --version` prints; codex is not asked */
            return 0;
        }
    }
    /* Unknown arguments are skipped: a backend appends its own flags (claude's -p, ...). */
    for (int i = 1; i + 1 < argc; i++) {
        const char *value = argv[i + 1];
        if (!strcmp(argv[i], "--rate")) rate = atof(value);
        else if (!strcmp(argv[i], "--turn-seconds")) seconds = atof(value);
        else if (!strcmp(argv[i], "--stats")) stats_path = value;
        else if (!strcmp(argv[i], "--leak-file")) leak_file = value;
        else if (!strcmp(argv[i], "--dialect"))
            dialect = !strcmp(value, "claude") ? CLAUDE : !strcmp(value, "acp") ? ACP : CODEX;
        else continue;
        i++;
    }
    signal(SIGPIPE, SIG_DFL);
    rng_state = (uint64_t)mono_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
    if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, "/");
    const char *home = getenv("CODEX_HOME");
    if (home && *home) {
        snprintf(codex_home, sizeof codex_home, "%s", home);
    } else {
        snprintf(codex_home, sizeof codex_home, "%s/.codex", getenv("HOME") ? getenv("HOME") : "");
    }
    snprintf(prompt_text, sizeof prompt_text, "Work on the issue described below.");
    if (dialect == CLAUDE) uuid7(session_id); /* one session per process, as with --session-id */
    open_stats(stats_path);
    if (leak_file) load_leaks(leak_file);
    char line[1 << 16];
    for (;;) {
        if (read_line(line, sizeof line, -1)) handle(line, 0, NULL);
    }
}
