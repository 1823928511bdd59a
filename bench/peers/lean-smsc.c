/*
 * lean-smsc: the bench's SMSC peer (issue 19). Just enough SMPP 3.4 for a gateway to push
 * traffic through it, at a few microseconds of CPU per message, so that a throughput figure
 * measures the gateway and not its peer.
 *
 *   bind_transceiver / bind_transmitter / bind_receiver  -> *_resp (any credentials)
 *   enquire_link -> enquire_link_resp        unbind -> unbind_resp, then close
 *   submit_sm    -> submit_sm_resp (message_id: a global decimal counter), then, when
 *                   receipts are on, a deliver_sm receipt in the standard layout
 *                   (id:… sub:001 dlvrd:001 submit date:… done date:… stat:DELIVRD err:000
 *                   text:) with receipted_message_id and message_state TLVs
 *   deliver_sm_resp, enquire_link_resp, generic_nack -> counted
 *   any other request -> generic_nack ESME_RINVCMDID
 *
 * One thread, epoll, non-blocking sockets, level-triggered. Every response produced by
 * one epoll round goes out in one write() per connection. With --batch-us N, a busy round
 * lasts at least N µs (it sleeps the rest), so that PDUs pile up and are read and answered
 * many at a time.
 *
 * Usage: lean-smsc [--host 127.0.0.1] [--port 0] [--receipts none|requested|all] [--batch-us N]
 *   Prints {"port":N} on stdout once it listens. On stdin, the line `stats` answers one
 *   JSON line of counters and the process's CPU (getrusage); end of stdin ends the process
 *   (so it never outlives the bench that started it).
 *
 * Build: cc -O2 -o lean-smsc lean-smsc.c (one file on purpose: the bench and its test build
 * it with one compiler call, no build system).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEADER 16
#define MAX_PDU 65536
#define READ_CHUNK 65536
/* Stop reading a connection whose peer does not read its answers past this many octets. */
#define WRITE_HIGH_WATER (8u << 20)

enum { CMD_GENERIC_NACK = 0x80000000u, CMD_BIND_RX = 0x00000001u, CMD_BIND_TX = 0x00000002u,
       CMD_SUBMIT_SM = 0x00000004u, CMD_SUBMIT_SM_RESP = 0x80000004u, CMD_DELIVER_SM = 0x00000005u,
       CMD_DELIVER_SM_RESP = 0x80000005u, CMD_UNBIND = 0x00000006u, CMD_UNBIND_RESP = 0x80000006u,
       CMD_BIND_TRX = 0x00000009u, CMD_ENQUIRE_LINK = 0x00000015u, CMD_ENQUIRE_LINK_RESP = 0x80000015u };
enum { ESME_ROK = 0, ESME_RINVCMDID = 0x03, ESME_RINVBNDSTS = 0x04, ESME_RALYBND = 0x05, ESME_RSYSERR = 0x08 };
enum { RECEIPTS_NONE, RECEIPTS_REQUESTED, RECEIPTS_ALL };

struct conn {
  int fd;
  int bound;        /* 0, or the bind command that succeeded */
  int can_receive;  /* receiver or transceiver: receipts may go to it */
  int closing;      /* unbind answered: close once written */
  int reading;      /* EPOLLIN armed */
  int writing;      /* EPOLLOUT armed */
  int dirty;        /* in the flush list of this round */
  uint32_t seq;     /* our own sequence numbers (deliver_sm) */
  uint8_t *rbuf;
  size_t rlen, rcap;
  uint8_t *wbuf;
  size_t woff, wlen, wcap;
};

static struct conn **conns; /* by fd */
static int conns_cap;
static int *dirty;          /* fds to flush at the end of the round */
static int ndirty, dirty_cap;
static int ep;
static int receipts_mode = RECEIPTS_REQUESTED;
static uint64_t next_id = 1;
static int rr_cursor;
static long batch_us;       /* --batch-us: shortest round while busy (0: answer at once) */
static uint64_t pdus_in;    /* PDUs read so far (a round that read none does not pause) */

static struct {
  uint64_t rounds, reads, writes;
  uint64_t connections, binds, submits, receipts, receipts_dropped, receipt_resps, enquire_links, unbinds, nacks_sent, nacks_received;
} st;

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n);
  if (q == NULL) die("realloc");
  return q;
}

static inline void put32(uint8_t *p, uint32_t v) {
  p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}
static inline uint32_t get32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void arm(struct conn *c) {
  size_t pending = c->wlen - c->woff;
  int want_read = !c->closing && pending < WRITE_HIGH_WATER;
  int want_write = pending > 0;
  if (want_read == c->reading && want_write == c->writing) return;
  struct epoll_event ev = { .events = (want_read ? EPOLLIN : 0) | (want_write ? EPOLLOUT : 0) | EPOLLRDHUP, .data.fd = c->fd };
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl mod");
  c->reading = want_read;
  c->writing = want_write;
}

static void mark_dirty(struct conn *c) {
  if (c->dirty) return;
  c->dirty = 1;
  if (ndirty == dirty_cap) {
    dirty_cap = dirty_cap ? dirty_cap * 2 : 64;
    dirty = xrealloc(dirty, sizeof(int) * dirty_cap);
  }
  dirty[ndirty++] = c->fd;
}

/* Room for n more octets at the end of the write buffer; returns where to write them. */
static uint8_t *wreserve(struct conn *c, size_t n) {
  if (c->woff > 0 && c->woff == c->wlen) c->woff = c->wlen = 0;
  if (c->wlen + n > c->wcap) {
    if (c->woff > 0) {
      memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
      c->wlen -= c->woff;
      c->woff = 0;
    }
    while (c->wlen + n > c->wcap) c->wcap = c->wcap ? c->wcap * 2 : 65536;
    c->wbuf = xrealloc(c->wbuf, c->wcap);
  }
  uint8_t *p = c->wbuf + c->wlen;
  c->wlen += n;
  mark_dirty(c);
  return p;
}

static void put_header(uint8_t *p, uint32_t len, uint32_t cmd, uint32_t status, uint32_t seq) {
  put32(p, len); put32(p + 4, cmd); put32(p + 8, status); put32(p + 12, seq);
}

static void send_header_only(struct conn *c, uint32_t cmd, uint32_t status, uint32_t seq) {
  put_header(wreserve(c, HEADER), HEADER, cmd, status, seq);
}

/* A response whose body is one C-octet string (bind_*_resp, submit_sm_resp), plus raw TLV octets. */
static void send_cstr_resp(struct conn *c, uint32_t cmd, uint32_t status, uint32_t seq, const char *s, size_t slen, const uint8_t *tlv, size_t tlvlen) {
  uint32_t len = HEADER + slen + 1 + tlvlen;
  uint8_t *p = wreserve(c, len);
  put_header(p, len, cmd, status, seq);
  memcpy(p + HEADER, s, slen);
  p[HEADER + slen] = 0;
  if (tlvlen) memcpy(p + HEADER + slen + 1, tlv, tlvlen);
}

/* A C-octet string at *off within [.., end): its start and length, or -1 when unterminated. */
static int cstr(const uint8_t *b, size_t *off, size_t end, const char **s, size_t *len) {
  const uint8_t *nul = memchr(b + *off, 0, end - *off);
  if (nul == NULL) return -1;
  *s = (const char *)(b + *off);
  *len = (size_t)(nul - (b + *off));
  *off += *len + 1;
  return 0;
}

/* YYMMDDhhmm in UTC, recomputed once a second. */
static const char *receipt_date(void) {
  static time_t last = -1;
  static char buf[64];
  time_t now = time(NULL);
  if (now != last) {
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(buf, sizeof buf, "%02d%02d%02d%02d%02d", tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
    last = now;
  }
  return buf;
}

static struct conn *receipt_target(struct conn *from) {
  if (from->can_receive && !from->closing) return from;
  /* A transmitter's receipts go to a receiver (or transceiver) bind, round robin. */
  for (int i = 0; i < conns_cap; i++) {
    int fd = (rr_cursor + i) % conns_cap;
    struct conn *c = conns[fd];
    if (c != NULL && c->can_receive && !c->closing) {
      rr_cursor = fd + 1;
      return c;
    }
  }
  return NULL;
}

static void send_receipt(struct conn *from, const char *id, size_t idlen, uint8_t src_ton, uint8_t src_npi, const char *src, size_t srclen,
                         uint8_t dst_ton, uint8_t dst_npi, const char *dst, size_t dstlen) {
  struct conn *to = receipt_target(from);
  if (to == NULL) {
    st.receipts_dropped++;
    return;
  }
  char text[200];
  const char *date = receipt_date();
  int tlen = snprintf(text, sizeof text, "id:%.*s sub:001 dlvrd:001 submit date:%s done date:%s stat:DELIVRD err:000 text:", (int)idlen, id, date, date);
  /* The receipt goes from the handset (the submit's destination) to the sender. */
  uint32_t body = 1 + 2 + dstlen + 1 + 2 + srclen + 1 + 3 + 1 + 1 + 4 + 1 + tlen + (4 + idlen + 1) + (4 + 1);
  uint32_t len = HEADER + body;
  uint8_t *p = wreserve(to, len);
  put_header(p, len, CMD_DELIVER_SM, 0, ++to->seq);
  uint8_t *q = p + HEADER;
  *q++ = 0;                                    /* service_type */
  *q++ = dst_ton; *q++ = dst_npi;
  memcpy(q, dst, dstlen); q += dstlen; *q++ = 0; /* source_addr */
  *q++ = src_ton; *q++ = src_npi;
  memcpy(q, src, srclen); q += srclen; *q++ = 0; /* destination_addr */
  *q++ = 0x04;                                 /* esm_class: SMSC delivery receipt */
  *q++ = 0; *q++ = 0;                          /* protocol_id, priority_flag */
  *q++ = 0; *q++ = 0;                          /* schedule_delivery_time, validity_period */
  *q++ = 0; *q++ = 0; *q++ = 0; *q++ = 0;      /* registered_delivery, replace_if_present, data_coding, sm_default_msg_id */
  *q++ = (uint8_t)tlen;
  memcpy(q, text, tlen); q += tlen;
  *q++ = 0x00; *q++ = 0x1E; *q++ = 0; *q++ = (uint8_t)(idlen + 1); /* receipted_message_id */
  memcpy(q, id, idlen); q += idlen; *q++ = 0;
  *q++ = 0x04; *q++ = 0x27; *q++ = 0; *q++ = 1; *q++ = 2;             /* message_state: DELIVERED */
  st.receipts++;
}

static void on_submit(struct conn *c, const uint8_t *b, uint32_t len, uint32_t seq) {
  if (!c->bound || c->bound == CMD_BIND_RX) {
    send_cstr_resp(c, CMD_SUBMIT_SM_RESP, ESME_RINVBNDSTS, seq, "", 0, NULL, 0);
    return;
  }
  size_t off = HEADER;
  const char *service, *src, *dst;
  size_t service_len, srclen, dstlen;
  uint8_t src_ton, src_npi, dst_ton, dst_npi, registered;
  if (cstr(b, &off, len, &service, &service_len) < 0 || off + 2 > len) goto bad;
  src_ton = b[off++]; src_npi = b[off++];
  if (cstr(b, &off, len, &src, &srclen) < 0 || off + 2 > len) goto bad;
  dst_ton = b[off++]; dst_npi = b[off++];
  if (cstr(b, &off, len, &dst, &dstlen) < 0 || off + 3 > len) goto bad;
  off += 3; /* esm_class, protocol_id, priority_flag */
  const char *ignored;
  size_t ignored_len;
  if (cstr(b, &off, len, &ignored, &ignored_len) < 0) goto bad; /* schedule_delivery_time */
  if (cstr(b, &off, len, &ignored, &ignored_len) < 0) goto bad; /* validity_period */
  if (off + 5 > len) goto bad;
  registered = b[off];
  if (off + 5 + b[off + 4] > len) goto bad; /* sm_length runs past the PDU */

  char id[24];
  uint64_t n = next_id++;
  char tmp[24];
  int k = 0;
  do { tmp[k++] = (char)('0' + n % 10); n /= 10; } while (n);
  for (int i = 0; i < k; i++) id[i] = tmp[k - 1 - i];
  send_cstr_resp(c, CMD_SUBMIT_SM_RESP, ESME_ROK, seq, id, k, NULL, 0);
  st.submits++;
  if (receipts_mode == RECEIPTS_ALL || (receipts_mode == RECEIPTS_REQUESTED && (registered & 0x03) != 0))
    send_receipt(c, id, k, src_ton, src_npi, src, srclen, dst_ton, dst_npi, dst, dstlen);
  return;
bad:
  send_cstr_resp(c, CMD_SUBMIT_SM_RESP, ESME_RSYSERR, seq, "", 0, NULL, 0);
}

static void on_pdu(struct conn *c, const uint8_t *b, uint32_t len) {
  pdus_in++;
  uint32_t cmd = get32(b + 4), seq = get32(b + 12);
  static const uint8_t sc_interface_version[] = { 0x02, 0x10, 0x00, 0x01, 0x34 };
  switch (cmd) {
  case CMD_SUBMIT_SM:
    on_submit(c, b, len, seq);
    break;
  case CMD_DELIVER_SM_RESP:
    st.receipt_resps++;
    break;
  case CMD_ENQUIRE_LINK:
    st.enquire_links++;
    send_header_only(c, CMD_ENQUIRE_LINK_RESP, ESME_ROK, seq);
    break;
  case CMD_BIND_RX:
  case CMD_BIND_TX:
  case CMD_BIND_TRX:
    if (c->bound) {
      send_cstr_resp(c, cmd | 0x80000000u, ESME_RALYBND, seq, "", 0, NULL, 0);
      break;
    }
    c->bound = (int)cmd;
    c->can_receive = cmd != CMD_BIND_TX;
    st.binds++;
    send_cstr_resp(c, cmd | 0x80000000u, ESME_ROK, seq, "lean", 4, sc_interface_version, sizeof sc_interface_version);
    break;
  case CMD_UNBIND:
    st.unbinds++;
    send_header_only(c, CMD_UNBIND_RESP, ESME_ROK, seq);
    c->closing = 1;
    break;
  case CMD_ENQUIRE_LINK_RESP:
  case CMD_UNBIND_RESP:
    break;
  case CMD_GENERIC_NACK:
    st.nacks_received++;
    break;
  default:
    if ((cmd & 0x80000000u) == 0) {
      st.nacks_sent++;
      send_header_only(c, CMD_GENERIC_NACK, ESME_RINVCMDID, seq);
    }
  }
}

static void close_conn(struct conn *c) {
  conns[c->fd] = NULL;
  close(c->fd); /* also leaves the epoll set */
  free(c->rbuf);
  free(c->wbuf);
  free(c);
}

/* Read what is there; returns -1 when the connection is gone (closed here). */
static int on_readable(struct conn *c) {
  for (;;) {
    if (c->rcap - c->rlen < READ_CHUNK) {
      c->rcap = c->rlen + READ_CHUNK;
      c->rbuf = xrealloc(c->rbuf, c->rcap);
    }
    size_t room = c->rcap - c->rlen;
    ssize_t n = read(c->fd, c->rbuf + c->rlen, room);
    st.reads++;
    if (n == 0) return close_conn(c), -1;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      if (errno == EINTR) continue;
      return close_conn(c), -1;
    }
    c->rlen += (size_t)n;
    size_t off = 0;
    while (c->rlen - off >= 4) {
      uint32_t len = get32(c->rbuf + off);
      if (len < HEADER || len > MAX_PDU) return close_conn(c), -1; /* the stream lost sync */
      if (c->rlen - off < len) break;
      on_pdu(c, c->rbuf + off, len);
      off += len;
    }
    if (off > 0) {
      memmove(c->rbuf, c->rbuf + off, c->rlen - off);
      c->rlen -= off;
    }
    if (c->closing || c->wlen - c->woff >= WRITE_HIGH_WATER) return 0;
    /* A short read drained the socket: skip the read that would only say EAGAIN (epoll is
       level-triggered, so anything that arrives meanwhile wakes the next round). */
    if ((size_t)n < room) return 0;
  }
}

/* Write what is pending; returns -1 when the connection is gone (closed here). */
static int flush(struct conn *c) {
  while (c->woff < c->wlen) {
    ssize_t n = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
    st.writes++;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      return close_conn(c), -1;
    }
    c->woff += (size_t)n;
  }
  if (c->woff == c->wlen) {
    c->woff = c->wlen = 0;
    if (c->closing) return close_conn(c), -1;
  }
  arm(c);
  return 0;
}

static void on_accept(int lfd) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return; /* EAGAIN, or out of descriptors: try again on the next event */
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd >= conns_cap) {
      int cap = conns_cap ? conns_cap : 64;
      while (cap <= fd) cap *= 2;
      conns = xrealloc(conns, sizeof(*conns) * cap);
      memset(conns + conns_cap, 0, sizeof(*conns) * (cap - conns_cap));
      conns_cap = cap;
    }
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) die("calloc");
    c->fd = fd;
    c->reading = 1;
    conns[fd] = c;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = fd };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
    st.connections++;
  }
}

static double cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* Commands on stdin, one a line. Returns -1 at end of input. */
static int on_stdin(void) {
  static char line[256];
  static size_t have;
  ssize_t n = read(0, line + have, sizeof line - 1 - have);
  if (n == 0) return -1;
  if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
  have += (size_t)n;
  char *nl;
  while ((nl = memchr(line, '\n', have)) != NULL) {
    *nl = 0;
    if (strcmp(line, "stats") == 0) {
      printf("{\"rounds\":%llu,\"reads\":%llu,\"writes\":%llu,\"pdus_in\":%llu,\"connections\":%llu,\"binds\":%llu,\"submits\":%llu,\"receipts\":%llu,\"receipts_dropped\":%llu,\"receipt_resps\":%llu,"
             "\"enquire_links\":%llu,\"unbinds\":%llu,\"nacks_sent\":%llu,\"nacks_received\":%llu,\"cpu_us\":%.0f}\n",
             (unsigned long long)st.rounds, (unsigned long long)st.reads, (unsigned long long)st.writes, (unsigned long long)pdus_in,
             (unsigned long long)st.connections, (unsigned long long)st.binds, (unsigned long long)st.submits, (unsigned long long)st.receipts,
             (unsigned long long)st.receipts_dropped, (unsigned long long)st.receipt_resps, (unsigned long long)st.enquire_links,
             (unsigned long long)st.unbinds, (unsigned long long)st.nacks_sent, (unsigned long long)st.nacks_received, cpu_us());
      fflush(stdout);
    }
    size_t used = (size_t)(nl - line) + 1;
    memmove(line, nl + 1, have - used);
    have -= used;
  }
  if (have == sizeof line - 1) have = 0; /* an absurd line: drop it */
  return 0;
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) host = argv[++i];
    else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = atoi(argv[++i]);
    else if (strcmp(argv[i], "--batch-us") == 0 && i + 1 < argc) {
      batch_us = atol(argv[++i]);
      if (batch_us < 0 || batch_us > 100000) { fprintf(stderr, "lean-smsc: --batch-us takes 0 to 100000\n"); return 2; }
    }
    else if (strcmp(argv[i], "--receipts") == 0 && i + 1 < argc) {
      const char *m = argv[++i];
      if (strcmp(m, "none") == 0) receipts_mode = RECEIPTS_NONE;
      else if (strcmp(m, "requested") == 0) receipts_mode = RECEIPTS_REQUESTED;
      else if (strcmp(m, "all") == 0) receipts_mode = RECEIPTS_ALL;
      else { fprintf(stderr, "lean-smsc: --receipts takes none, requested or all\n"); return 2; }
    } else {
      fprintf(stderr, "usage: lean-smsc [--host 127.0.0.1] [--port 0] [--receipts none|requested|all] [--batch-us 0]\n");
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) die("socket");
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) { fprintf(stderr, "lean-smsc: bad --host\n"); return 2; }
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
  if (listen(lfd, 128) < 0) die("listen");
  socklen_t alen = sizeof addr;
  getsockname(lfd, (struct sockaddr *)&addr, &alen);

  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
  if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) die("epoll_ctl listen");
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  ev.data.fd = 0;
  /* stdin may be /dev/null (a regular file: epoll refuses it); then run until killed. */
  int watch_stdin = epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) == 0;

  printf("{\"port\":%d}\n", ntohs(addr.sin_port));
  fflush(stdout);

  struct epoll_event evs[256];
  for (;;) {
    struct timespec round_start = { 0, 0 };
    uint64_t pdus_before = pdus_in;
    int n = epoll_wait(ep, evs, 256, -1);
    st.rounds++;
    if (batch_us > 0) clock_gettime(CLOCK_MONOTONIC, &round_start);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == lfd) { on_accept(lfd); continue; }
      if (fd == 0 && watch_stdin) {
        if (on_stdin() < 0) return 0;
        continue;
      }
      struct conn *c = fd < conns_cap ? conns[fd] : NULL;
      if (c == NULL) continue; /* closed earlier in this round */
      if (evs[i].events & EPOLLIN) {
        if (on_readable(c) < 0) continue;
      } else if (evs[i].events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
        close_conn(c);
        continue;
      }
      if (evs[i].events & EPOLLOUT) mark_dirty(c);
    }
    /* One write per connection for everything this round produced. */
    for (int i = 0; i < ndirty; i++) {
      struct conn *c = dirty[i] < conns_cap ? conns[dirty[i]] : NULL;
      if (c == NULL) continue;
      c->dirty = 0;
      flush(c);
    }
    ndirty = 0;
    /* --batch-us: while traffic flows, let what arrives pile up in the socket buffers for
       the rest of the period, so that one read and one write carry many PDUs (a peer that
       sends one PDU per write would otherwise cost a wake-up per PDU). Adds at most that
       much latency; idle, the next PDU is answered at once. */
    if (batch_us > 0 && pdus_in != pdus_before) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long spent = (now.tv_sec - round_start.tv_sec) * 1000000L + (now.tv_nsec - round_start.tv_nsec) / 1000;
      if (spent < batch_us) {
        struct timespec pause = { .tv_sec = 0, .tv_nsec = (batch_us - spent) * 1000L };
        nanosleep(&pause, NULL);
      }
    }
  }
}
