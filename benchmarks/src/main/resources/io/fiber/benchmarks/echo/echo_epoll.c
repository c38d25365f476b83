/*
 * The echo benchmark's server (f): a plain C epoll echo server, the reference ceiling for the JVM
 * servers, measured in the same run as the others. One thread, level-triggered epoll, non-blocking sockets with TCP_NODELAY: each readable
 * connection is read once (up to 64 KiB) and the bytes are written straight back; bytes a full send
 * buffer would not take wait, with EPOLLOUT armed instead of EPOLLIN, until they are written.
 *
 * Usage: echo_epoll PORT (0: any free port). Prints "ready port=P mode=c-epoll" once it listens,
 * the line EchoBenchmark waits for; CPrograms builds it with the machine's C compiler.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 128
#define BUF_SIZE 65536

/* Bytes read but not yet written back, per fd (rare: only when a send buffer is full). */
struct unsent { char *data; size_t len; };

static struct unsent *unsent;
static size_t unsent_slots;

static struct unsent *unsent_for(int fd) {
    if ((size_t) fd >= unsent_slots) {
        size_t n = unsent_slots ? unsent_slots : 1024;
        while (n <= (size_t) fd) {
            n *= 2;
        }
        struct unsent *grown = realloc(unsent, n * sizeof *grown);
        if (grown == NULL) {
            perror("echo_epoll: realloc");
            exit(1);
        }
        memset(grown + unsent_slots, 0, (n - unsent_slots) * sizeof *grown);
        unsent = grown;
        unsent_slots = n;
    }
    return &unsent[fd];
}

static void watch(int ep, int op, int fd, unsigned events) {
    struct epoll_event ev = { .events = events, .data.fd = fd };
    epoll_ctl(ep, op, fd, &ev);
}

static void drop(int ep, int fd) {
    struct unsent *u = unsent_for(fd);
    free(u->data);
    u->data = NULL;
    u->len = 0;
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
}

/* Writes len bytes; returns how many went out before the send buffer filled, or -1 on error. */
static ssize_t write_some(int fd, const char *data, size_t len) {
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno == EAGAIN ? (ssize_t) off : -1;
        }
        off += (size_t) n;
    }
    return (ssize_t) off;
}

/* Keeps what write_some could not send and waits for EPOLLOUT; false on error. */
static int keep_unsent(int ep, int fd, const char *data, size_t len, size_t sent) {
    struct unsent *u = unsent_for(fd);
    size_t rest = len - sent;
    char *kept = malloc(rest);
    if (kept == NULL) {
        return 0;
    }
    memcpy(kept, data + sent, rest);
    free(u->data);
    u->data = kept;
    u->len = rest;
    watch(ep, EPOLL_CTL_MOD, fd, EPOLLOUT);
    return 1;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0;
    int one = 1;
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (listener < 0 || bind(listener, (struct sockaddr *) &addr, sizeof addr) != 0 || listen(listener, 4096) != 0) {
        perror("echo_epoll: listen");
        return 1;
    }
    socklen_t addr_len = sizeof addr;
    getsockname(listener, (struct sockaddr *) &addr, &addr_len);
    int ep = epoll_create1(0);
    watch(ep, EPOLL_CTL_ADD, listener, EPOLLIN);
    printf("ready port=%d mode=c-epoll\n", ntohs(addr.sin_port));
    fflush(stdout);
    static char buf[BUF_SIZE];
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("echo_epoll: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == listener) {
                for (int c; (c = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0; ) {
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    watch(ep, EPOLL_CTL_ADD, c, EPOLLIN);
                }
                continue;
            }
            struct unsent *u = unsent_for(fd);
            if (u->len > 0) { /* EPOLLOUT: finish the earlier echo before reading more */
                ssize_t sent = write_some(fd, u->data, u->len);
                if (sent < 0) {
                    drop(ep, fd);
                } else if ((size_t) sent < u->len) {
                    memmove(u->data, u->data + sent, u->len - (size_t) sent);
                    u->len -= (size_t) sent;
                } else {
                    u->len = 0;
                    watch(ep, EPOLL_CTL_MOD, fd, EPOLLIN);
                }
                continue;
            }
            ssize_t got = read(fd, buf, sizeof buf);
            if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            }
            if (got <= 0) {
                drop(ep, fd);
                continue;
            }
            ssize_t sent = write_some(fd, buf, (size_t) got);
            if (sent < 0 || ((size_t) sent < (size_t) got && !keep_unsent(ep, fd, buf, (size_t) got, (size_t) sent))) {
                drop(ep, fd);
            }
        }
    }
}
