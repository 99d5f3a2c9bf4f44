/*
 * driver: a plain main for the fuzz harnesses, so the same objects built with the normal
 * compiler replay a corpus in `make test`. Arguments are files or folders (one level;
 * a missing folder is skipped, so an absent regress/<target> is no error). Each input
 * runs once; a crash or a sanitizer report fails the run as it would under libFuzzer.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int driver_run_file(const char *path);
static int driver_cmp(const void *a, const void *b);

static size_t driver_count;

static int
driver_run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "driver: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			uint8_t *nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				fprintf(stderr, "driver: out of memory reading %s\n", path);
				return -1;
			}
			buf = nb;
		}
		size_t r = fread(buf + len, 1, cap - len, f);
		if (r == 0)
			break;
		len += r;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		fprintf(stderr, "driver: cannot read %s\n", path);
		return -1;
	}
	/* An exact-size copy, so a read past the input is caught as under libFuzzer. */
	uint8_t *exact = malloc(len ? len : 1);
	if (exact == NULL) {
		free(buf);
		return -1;
	}
	if (len > 0)
		memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	driver_count++;
	return 0;
}

static int
driver_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			if (errno == ENOENT)
				continue;
			fprintf(stderr, "driver: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (driver_run_file(argv[i]) != 0)
				rc = 1;
			continue;
		}
		DIR *d = opendir(argv[i]);
		if (d == NULL) {
			fprintf(stderr, "driver: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
			continue;
		}
		/* Sorted, so a failure names the same input every run. */
		char **names = NULL;
		size_t n = 0;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char **nn = realloc(names, (n + 1) * sizeof(*names));
			if (nn == NULL)
				abort();
			names = nn;
			size_t l = strlen(argv[i]) + strlen(e->d_name) + 2;
			names[n] = malloc(l);
			if (names[n] == NULL)
				abort();
			snprintf(names[n], l, "%s/%s", argv[i], e->d_name);
			n++;
		}
		closedir(d);
		if (n > 0)
			qsort(names, n, sizeof(*names), driver_cmp);
		for (size_t k = 0; k < n; k++) {
			if (stat(names[k], &st) == 0 && S_ISREG(st.st_mode) &&
			    driver_run_file(names[k]) != 0)
				rc = 1;
			free(names[k]);
		}
		free(names);
	}
	printf("%s: %zu inputs replayed\n", argv[0], driver_count);
	return rc;
}
