/*
 * limits: what this machine allows, measured with the same libraries the daemon uses,
 * so the benchmark can report its figures as ratios. It prints one JSON object on stdout
 * (progress on stderr) and never touches anything outside the folder it is given.
 *
 *   limits DIR CA.crt SRV.crt SRV.key CLI.crt CLI.key [SECONDS]
 *
 * SECONDS (default 1.0) bounds each measurement; certificates come from
 * pki/rogatory-pki (the driver makes them). sqlite_full_commit_ms is the median commit
 * of one 1 KiB row (the mean is sqlite_full_commit_mean_ms).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sqlite3.h>

#define ROW_BYTES 1024
#define RECORD_BYTES 1024

static double budget_s = 1.0;

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "limits: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* ---- SQLite: WAL, synchronous=FULL, 1 KiB rows; rows_per_txn rows per commit ---- */

static double
sqlite_rows_per_s(const char *dir, int rows_per_txn, double *commit_ms)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/limits-%d.db", dir, rows_per_txn);
	unlink(path);
	sqlite3 *db = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("sqlite3_open");
	char *err = NULL;
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	                     "CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB NOT NULL);",
	        NULL, NULL, &err) != SQLITE_OK)
		die(err);
	sqlite3_stmt *ins = NULL;
	if (sqlite3_prepare_v2(db, "INSERT INTO t(body) VALUES (?)", -1, &ins, NULL) != SQLITE_OK)
		die("prepare");
	static unsigned char row[ROW_BYTES];
	memset(row, 'x', sizeof(row));
	long rows = 0, txns = 0;
	static double lat[1 << 16];
	double t0 = now_s(), t;
	do {
		double c0 = now_s();
		sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		for (int i = 0; i < rows_per_txn; i++) {
			row[i % ROW_BYTES] ^= 1;
			sqlite3_bind_blob(ins, 1, row, sizeof(row), SQLITE_STATIC);
			if (sqlite3_step(ins) != SQLITE_DONE)
				die("insert");
			sqlite3_reset(ins);
		}
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			die("commit");
		rows += rows_per_txn;
		if (txns < (long)(sizeof(lat) / sizeof(lat[0])))
			lat[txns] = now_s() - c0;
		txns++;
		t = now_s() - t0;
	} while (t < budget_s);
	sqlite3_finalize(ins);
	sqlite3_close(db);
	unlink(path);
	char side[4200];
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	if (commit_ms != NULL) {
		/* The median: other tenants' fsync bursts move the mean a lot. */
		long k = txns < (long)(sizeof(lat) / sizeof(lat[0])) ? txns : (long)(sizeof(lat) / sizeof(lat[0]));
		qsort(lat, (size_t)k, sizeof(double), cmp_double);
		commit_ms[0] = lat[k / 2] * 1000.0;
		commit_ms[1] = t * 1000.0 / (double)txns;
	}
	return (double)rows / t;
}

/* ---- sequential write of size_mb MiB in 1 MiB writes, then fsync ---- */

static double
disk_mb_per_s(const char *dir, int size_mb)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/limits-disk.bin", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("cannot create the disk test file");
	static char buf[1 << 20];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 131u);
	double t0 = now_s();
	for (int i = 0; i < size_mb; i++) {
		buf[0] = (char)i;
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			die("disk write");
	}
	if (fsync(fd) != 0)
		die("fsync");
	double t = now_s() - t0;
	close(fd);
	unlink(path);
	return size_mb * 1.048576 / t;
}

/* ---- ECDSA P-256 over SHA-256 of a 1 KiB body, the daemon's signature ---- */

static void
ecdsa_per_s(double *sign_per_s, double *verify_per_s)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	if (key == NULL)
		die("EVP_EC_gen");
	unsigned char msg[ROW_BYTES], sig[128];
	memset(msg, 'm', sizeof(msg));
	size_t siglen = 0;
	long n = 0;
	double t0 = now_s(), t;
	do {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		siglen = sizeof(sig);
		msg[0] = (unsigned char)n;
		if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
		    EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg)) != 1)
			die("sign");
		EVP_MD_CTX_free(md);
		n++;
		t = now_s() - t0;
	} while (t < budget_s);
	*sign_per_s = (double)n / t;
	n = 0;
	t0 = now_s();
	do {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
		    EVP_DigestVerify(md, sig, siglen, msg, sizeof(msg)) != 1)
			die("verify");
		EVP_MD_CTX_free(md);
		n++;
		t = now_s() - t0;
	} while (t < budget_s);
	*verify_per_s = (double)n / t;
	EVP_PKEY_free(key);
}

/* ---- TLS 1.3 over loopback: a server thread, the client in the caller ---- */

struct tls_files {
	const char *ca, *srv_crt, *srv_key, *cli_crt, *cli_key;
};

static SSL_CTX *
tls_ctx(const struct tls_files *f, bool server)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL)
		die("SSL_CTX_new");
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	/* The daemon's policy: no tickets, no resumption, mutual authentication. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION |
	                             SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	if (SSL_CTX_use_certificate_chain_file(ctx, server ? f->srv_crt : f->cli_crt) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, server ? f->srv_key : f->cli_key,
	        SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, f->ca, NULL) != 1)
		die("loading the TLS credentials");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return ctx;
}

struct tls_server {
	SSL_CTX *ctx;
	int lfd;
	bool records;   /* true: one connection, read records; false: handshakes */
	long handshakes;
	long records_read;
};

static void *
tls_server_main(void *arg)
{
	struct tls_server *s = arg;
	static char buf[1 << 16];
	for (;;) {
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			return NULL;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		SSL *ssl = SSL_new(s->ctx);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1) {
			__atomic_add_fetch(&s->handshakes, 1, __ATOMIC_RELAXED);
			if (s->records) {
				int r;
				while ((r = SSL_read(ssl, buf, sizeof(buf))) > 0)
					__atomic_add_fetch(&s->records_read, r, __ATOMIC_RELAXED);
			} else {
				/* Wait for the client's close so the connection is whole. */
				SSL_read(ssl, buf, 1);
			}
		}
		SSL_free(ssl);
		close(fd);
	}
}

static int
tcp_connect_port(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("connect to the loopback TLS server");
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void
tls_measure(const struct tls_files *f, double *records_per_s, double *handshakes_per_s)
{
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 512) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
		die("loopback listener");
	int port = ntohs(sa.sin_port);
	struct tls_server srv = {.ctx = tls_ctx(f, true), .lfd = lfd, .records = true};
	pthread_t th;
	pthread_create(&th, NULL, tls_server_main, &srv);
	SSL_CTX *cctx = tls_ctx(f, false);

	/* 1 KiB application records, one SSL_write each (the daemon writes frames of
	 * about this size), on one connection. */
	int fd = tcp_connect_port(port);
	SSL *ssl = SSL_new(cctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1)
		die("TLS client handshake");
	char rec[RECORD_BYTES];
	memset(rec, 'r', sizeof(rec));
	long n = 0;
	double t0 = now_s(), t;
	do {
		for (int i = 0; i < 64; i++)
			if (SSL_write(ssl, rec, sizeof(rec)) != (int)sizeof(rec))
				die("SSL_write");
		n += 64;
		t = now_s() - t0;
	} while (t < budget_s);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	/* Count what the server decrypted, not what the client queued. */
	while (__atomic_load_n(&srv.records_read, __ATOMIC_RELAXED) < n * RECORD_BYTES &&
	       now_s() - t0 < budget_s * 3)
		usleep(1000);
	t = now_s() - t0;
	*records_per_s = (double)__atomic_load_n(&srv.records_read, __ATOMIC_RELAXED) /
	                 RECORD_BYTES / t;

	/* Full mutual handshakes, one connection after another: no resumption. */
	srv.records = false;
	usleep(20000);
	long before = __atomic_load_n(&srv.handshakes, __ATOMIC_RELAXED);
	t0 = now_s();
	do {
		fd = tcp_connect_port(port);
		ssl = SSL_new(cctx);
		SSL_set_fd(ssl, fd);
		if (SSL_connect(ssl) != 1)
			die("TLS client handshake");
		/* TLS 1.3: the client finishes first; the server thread counts the
		 * handshakes it completed, its verdict on our certificate included. */
		SSL_shutdown(ssl);
		SSL_free(ssl);
		close(fd);
		t = now_s() - t0;
	} while (t < budget_s);
	usleep(20000);
	*handshakes_per_s = (double)(__atomic_load_n(&srv.handshakes, __ATOMIC_RELAXED) - before) /
	                    (now_s() - t0);
	shutdown(lfd, SHUT_RDWR);
	close(lfd);
	pthread_join(th, NULL);
	SSL_CTX_free(srv.ctx);
	SSL_CTX_free(cctx);
}

int
main(int argc, char **argv)
{
	if (argc < 7 || argc > 8) {
		fprintf(stderr, "usage: limits DIR CA.crt SRV.crt SRV.key CLI.crt CLI.key [SECONDS]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (argc == 8)
		budget_s = atof(argv[7]);
	if (budget_s <= 0)
		budget_s = 1.0;
	const char *dir = argv[1];
	struct tls_files f = {argv[2], argv[3], argv[4], argv[5], argv[6]};
	double commit_ms[2] = {0, 0}, rows1, rows100, disk, sign, verify, recs, hs;

	fprintf(stderr, "limits: sqlite WAL synchronous=FULL, 1 row per transaction\n");
	rows1 = sqlite_rows_per_s(dir, 1, commit_ms);
	fprintf(stderr, "limits: sqlite WAL synchronous=FULL, 100 rows per transaction\n");
	rows100 = sqlite_rows_per_s(dir, 100, NULL);
	fprintf(stderr, "limits: sequential write + fsync\n");
	disk = disk_mb_per_s(dir, budget_s >= 1.0 ? 256 : 64);
	fprintf(stderr, "limits: ECDSA P-256 sign, verify\n");
	ecdsa_per_s(&sign, &verify);
	fprintf(stderr, "limits: TLS 1.3 records, mutual handshakes on loopback\n");
	tls_measure(&f, &recs, &hs);

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	/* One message costs a document signature and its verification, a receipt
	 * signature and its verification; both daemons share the machine's cores. */
	double crypto = (double)(ncpu > 0 ? ncpu : 1) / (2.0 / sign + 2.0 / verify);
	printf("{\"sqlite_full_commit_ms\": %.3f, \"sqlite_full_commit_mean_ms\": %.3f, "
	       "\"sqlite_full_rows_per_s_single\": %.0f, "
	       "\"sqlite_full_rows_per_s_batch100\": %.0f, \"disk_seq_write_mb_per_s\": %.1f, "
	       "\"sign_per_s\": %.0f, \"verify_per_s\": %.0f, \"tls_1k_records_per_s\": %.0f, "
	       "\"tls_1k_mb_per_s\": %.1f, \"mtls_handshakes_per_s\": %.0f, "
	       "\"crypto_msgs_per_s\": %.0f, \"cpus\": %ld}\n",
	    commit_ms[0], commit_ms[1], rows1, rows100, disk, sign, verify, recs, recs * RECORD_BYTES / 1e6, hs,
	    crypto, ncpu);
	return 0;
}
