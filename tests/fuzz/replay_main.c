/* SPDX-License-Identifier: MIT */
/*
 * A main() for libFuzzer harnesses built without libFuzzer (the shape of
 * Knot's tests-fuzz/main.c): every argument is a file or a directory, and
 * each file's bytes go once through LLVMFuzzerTestOneInput(). That turns a
 * committed corpus into an ordinary ctest test that runs under gcc with
 * ASan/UBSan: the sanitizers and the harness's own assertions are the
 * checks. LLVMFuzzerInitialize() is called first if the harness defines it
 * (a weak reference, so harnesses without one link too).
 *
 * Each input is copied into a heap buffer of exactly its size, as libFuzzer
 * does, so a read one byte past the end is an ASan report. Directories are
 * walked in name order (recursively; dot files are skipped) so runs are
 * reproducible. Arguments starting with '-' are ignored, which lets a
 * libFuzzer command line (-runs=..., -max_len=...) be replayed unchanged.
 *
 * Exit status: 0 when every input ran, 1 when an argument could not be
 * read or no input was found at all (a missing corpus must not pass as an
 * empty one). A harness failure aborts the process.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned long n_ran;

/* Read the whole file into an exact-size heap buffer and run it. */
static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			uint8_t *nb = realloc(buf, cap);
			if (!nb)
				abort();
			buf = nb;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		fprintf(stderr, "replay: %s: read error\n", path);
		free(buf);
		return -1;
	}
	/* exact size, so ASan sees any overread (malloc(0) may be NULL) */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact)
		abort();
	if (len)
		memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	n_ran++;
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path);

static int
run_dir(const char *path)
{
	DIR *d = opendir(path);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int r = 0;

	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, cap * sizeof(*names));
			if (!nn)
				abort();
			names = nn;
		}
		size_t len = strlen(path) + strlen(e->d_name) + 2;
		names[n] = malloc(len);
		if (!names[n])
			abort();
		snprintf(names[n], len, "%s/%s", path, e->d_name);
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		if (run_path(names[i]) != 0)
			r = -1;
		free(names[i]);
	}
	free(names);
	return r;
}

static int
run_path(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return run_dir(path);
	return run_file(path);
}

int
main(int argc, char **argv)
{
	int r = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue; /* a libFuzzer flag */
		if (run_path(argv[i]) != 0)
			r = 1;
	}
	printf("%s: %lu inputs ran\n", argv[0], n_ran);
	if (n_ran == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		r = 1;
	}
	return r;
}
