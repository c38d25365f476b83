/*
 * The echo benchmark's C load driver (`./run bench echo --driver c`): the same load, protocol, check,
 * output lines and latency histogram as EchoLoadDriver, without a JVM's user-space work per round trip
 * (its kernel work, the loopback TCP of a send and a receive, is most of a driver's CPU either way).
 *
 * Each active connection has one 64-byte message in flight: bytes 0-7 a sequence number (big-endian,
 * as Java's ByteBuffer.putLong writes it), bytes 8-63 the connection's pattern ((id * 31 + i) & 0xff).
 * A round trip counts once the whole echo is back and matches what was sent byte for byte; a wrong echo
 * or a closed connection fails the run (exit status 1). One connection runs in blocking reads and
 * writes (no epoll in the path); more run on one level-triggered epoll loop, one thread (the driver is
 * pinned to one core). Latencies of round trips completed in the measured period go into the same
 * log-bucketed histogram as io.fiber.load.LatencyHistogram (32 buckets per power of two, a reported
 * percentile at most about 3% above the true value, nearest rank, never above the maximum).
 *
 * Usage: echo_load --port P [--host 127.0.0.1] [--connections 1] [--idle 0] [--warmup 5] [--duration 10]
 *                  [--hold-until-stdin-eof]
 * Prints "connected ...", "measure-start", "measure-end" and "result round_trips=..." as EchoLoadDriver does.
 * Connections close with SO_LINGER 0, so a run leaves no TIME_WAIT sockets.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MESSAGE_SIZE 64
#define SUB_BUCKET_BITS 5
#define SUB_BUCKETS (1 << SUB_BUCKET_BITS)
#define BUCKETS ((64 - SUB_BUCKET_BITS + 1) * SUB_BUCKETS)
#define MAX_EVENTS 256

struct conn {
    int fd;
    int id;
    uint64_t sequence;
    int64_t sent_at;
    int got;
    unsigned char message[MESSAGE_SIZE];
    unsigned char echo[MESSAGE_SIZE];
};

static uint64_t counts[BUCKETS];
static uint64_t total;
static int64_t max_latency;

static void fail(const char *what, int id) {
    fprintf(stderr, "echo driver failed: connection %d: %s\n", id, what);
    exit(1);
}

static int64_t now_nanos(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
}

static int bucket(int64_t value) {
    int highest_bit = value == 0 ? -1 : 63 - __builtin_clzll((uint64_t) value);
    if (highest_bit < SUB_BUCKET_BITS) {
        return (int) value;
    }
    int shift = highest_bit - SUB_BUCKET_BITS;
    return (shift + 1) * SUB_BUCKETS + (int) (((uint64_t) value >> shift) - SUB_BUCKETS);
}

static int64_t highest_value_in(int b) {
    if (b < SUB_BUCKETS) {
        return b;
    }
    int shift = b / SUB_BUCKETS - 1;
    int64_t mantissa = SUB_BUCKETS + b % SUB_BUCKETS;
    return ((mantissa + 1) << shift) - 1;
}

static void record(int64_t nanos) {
    int64_t value = nanos < 0 ? 0 : nanos;
    counts[bucket(value)]++;
    total++;
    if (value > max_latency) {
        max_latency = value;
    }
}

/* Nearest rank at per_thousand / 10 percent, in integers as LatencyHistogram.percentile computes it. */
static int64_t percentile(int64_t per_thousand) {
    if (total == 0) {
        return 0;
    }
    uint64_t rank = (per_thousand * total + 999) / 1000;
    if (rank < 1) {
        rank = 1;
    }
    uint64_t seen = 0;
    for (int i = 0; i < BUCKETS; i++) {
        seen += counts[i];
        if (seen >= rank) {
            int64_t top = highest_value_in(i);
            return top < max_latency ? top : max_latency;
        }
    }
    return max_latency;
}

static void say(const char *line) {
    fputs(line, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

static int open_connection(const struct sockaddr_in *server) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    if (fd < 0 || connect(fd, (const struct sockaddr *) server, sizeof *server) != 0) {
        perror("echo driver: connect");
        exit(1);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void init_conn(struct conn *c, int fd, int id) {
    c->fd = fd;
    c->id = id;
    c->sequence = 0;
    c->got = 0;
    for (int i = 8; i < MESSAGE_SIZE; i++) {
        c->message[i] = (unsigned char) (id * 31 + i);
    }
}

/* One message in flight and the last echo complete, so the send buffer has room: the loop never spins in practice. */
static void send_next(struct conn *c) {
    uint64_t s = ++c->sequence;
    for (int i = 0; i < 8; i++) {
        c->message[i] = (unsigned char) (s >> (56 - 8 * i));
    }
    c->sent_at = now_nanos();
    int off = 0;
    while (off < MESSAGE_SIZE) {
        ssize_t n = write(c->fd, c->message + off, MESSAGE_SIZE - off);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            fail(strerror(errno), c->id);
        }
        off += (int) n;
    }
}

/* Reads what the socket has of the echo; returns 1 once it is complete and checked, filling *latency. */
static int receive(struct conn *c, int64_t *latency) {
    ssize_t n = read(c->fd, c->echo + c->got, MESSAGE_SIZE - c->got);
    if (n == 0) {
        fail("the server closed it", c->id);
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) {
            return 0;
        }
        fail(strerror(errno), c->id);
    }
    c->got += (int) n;
    if (c->got < MESSAGE_SIZE) {
        return 0;
    }
    *latency = now_nanos() - c->sent_at;
    if (memcmp(c->message, c->echo, MESSAGE_SIZE) != 0) {
        char what[96];
        snprintf(what, sizeof what, "the echo of message %llu differs from what was sent", (unsigned long long) c->sequence);
        fail(what, c->id);
    }
    c->got = 0;
    return 1;
}

static void reset_close(int fd) {
    struct linger l = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int port = 0, active = 1, idle = 0, hold = 0;
    double warmup = 5, duration = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--hold-until-stdin-eof") == 0) { hold = 1; continue; }
        if (v == NULL) { fprintf(stderr, "echo driver: %s needs a value\n", a); return 2; }
        if (strcmp(a, "--port") == 0) port = atoi(v);
        else if (strcmp(a, "--host") == 0) host = v;
        else if (strcmp(a, "--connections") == 0) active = atoi(v);
        else if (strcmp(a, "--idle") == 0) idle = atoi(v);
        else if (strcmp(a, "--warmup") == 0) warmup = atof(v);
        else if (strcmp(a, "--duration") == 0) duration = atof(v);
        else if (strcmp(a, "--threads") == 0) { /* one thread always: the driver is pinned to one core */ }
        else { fprintf(stderr, "echo driver: unknown option %s\n", a); return 2; }
        i++;
    }
    if (port <= 0 || active < 1 || idle < 0) {
        fprintf(stderr, "echo driver: need --port > 0, --connections >= 1, --idle >= 0\n");
        return 2;
    }
    struct sockaddr_in server = { .sin_family = AF_INET, .sin_port = htons(port) };
    if (inet_pton(AF_INET, host, &server.sin_addr) != 1) {
        fprintf(stderr, "echo driver: --host must be an IPv4 address, not %s\n", host);
        return 2;
    }
    int64_t connect_start = now_nanos();
    int *idle_fds = calloc((size_t) idle + 1, sizeof *idle_fds);
    struct conn *conns = calloc((size_t) active, sizeof *conns);
    for (int i = 0; i < idle; i++) {
        idle_fds[i] = open_connection(&server); /* never sends: only holds the server's memory */
    }
    for (int i = 0; i < active; i++) {
        init_conn(&conns[i], open_connection(&server), i);
    }
    char line[256];
    snprintf(line, sizeof line, "connected active=%d idle=%d in %lld ms", active, idle,
             (long long) ((now_nanos() - connect_start) / 1000000));
    say(line);

    int64_t start = now_nanos();
    int64_t measure_from = start + (int64_t) (warmup * 1e9);
    int64_t measure_until = measure_from + (int64_t) (duration * 1e9);
    int measuring = 0;
    uint64_t round_trips = 0;
    int64_t latency;
    if (active == 1) {
        struct conn *c = &conns[0];
        for (int64_t t = start; t < measure_until; t = now_nanos()) {
            if (!measuring && t >= measure_from) {
                measuring = 1;
                measure_from = t;
                say("measure-start");
            }
            send_next(c);
            while (!receive(c, &latency)) { }
            if (measuring) {
                round_trips++;
                record(latency);
            }
        }
    } else {
        int ep = epoll_create1(0);
        for (int i = 0; i < active; i++) {
            struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &conns[i] };
            fcntl(conns[i].fd, F_SETFL, fcntl(conns[i].fd, F_GETFL) | O_NONBLOCK);
            epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
        }
        for (int i = 0; i < active; i++) {
            send_next(&conns[i]);
        }
        struct epoll_event events[MAX_EVENTS];
        for (int64_t t = start; t < measure_until; t = now_nanos()) {
            if (!measuring && t >= measure_from) {
                measuring = 1;
                measure_from = t;
                say("measure-start");
            }
            int n = epoll_wait(ep, events, MAX_EVENTS, 100);
            if (n < 0 && errno != EINTR) {
                perror("echo driver: epoll_wait");
                return 1;
            }
            for (int i = 0; i < n; i++) {
                struct conn *c = events[i].data.ptr;
                if (receive(c, &latency)) {
                    if (measuring) {
                        round_trips++;
                        record(latency);
                    }
                    send_next(c);
                }
            }
        }
    }
    int64_t end = now_nanos();
    if (!measuring) { /* a warm-up longer than the whole run: nothing measured */
        measure_from = end;
        say("measure-start");
    }
    say("measure-end");
    double seconds = (double) (end - measure_from) / 1e9;
    snprintf(line, sizeof line, "result round_trips=%llu seconds=%.3f rt_per_s=%.1f p50_ns=%lld p99_ns=%lld p999_ns=%lld max_ns=%lld",
             (unsigned long long) round_trips, seconds, seconds > 0 ? round_trips / seconds : 0.0,
             (long long) percentile(500), (long long) percentile(990), (long long) percentile(999), (long long) max_latency);
    say(line);
    if (hold) {
        char sink[4096];
        while (read(0, sink, sizeof sink) > 0) { }
    }
    for (int i = 0; i < active; i++) {
        reset_close(conns[i].fd);
    }
    for (int i = 0; i < idle; i++) {
        reset_close(idle_fds[i]);
    }
    return 0;
}
