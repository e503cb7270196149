/* On-disk upload spool: order, persistence across reopen, the byte bound, malformed files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleet/spool.h"
#include "t.h"
#include "agent_fixtures.h"

static char dir[64];

static void fresh_dir(void)
{
	fixture_tmpdir(dir, sizeof(dir), "fp-spool-");
}

T_TEST(fifo_and_reopen)
{
	fresh_dir();
	struct spool *sp = spool_open(dir, 1 << 20);
	struct spool_item it;
	T_REQUIRE(sp != NULL);
	T_CHECK(spool_oldest(sp, &it) == -ENOENT);
	T_CHECK(spool_put(sp, "service=a&n=1", "one", 3, NULL) == 0);
	T_CHECK(spool_put(sp, "service=a&n=2", "two\0bin", 7, NULL) == 0);
	T_CHECK(spool_count(sp) == 2);
	T_CHECK(spool_bytes(sp) == (14 + 3) + (14 + 7));
	spool_free(sp);

	sp = spool_open(dir, 1 << 20);
	T_REQUIRE(sp != NULL && spool_count(sp) == 2);
	T_CHECK(spool_oldest(sp, &it) == 0);
	T_CHECK(strcmp(it.meta, "service=a&n=1") == 0 && it.len == 3 && memcmp(it.data, "one", 3) == 0);
	T_CHECK(spool_remove(sp, it.seq) == 0);
	spool_item_release(&it);
	T_CHECK(spool_oldest(sp, &it) == 0);
	T_CHECK(strcmp(it.meta, "service=a&n=2") == 0 && it.len == 7 && memcmp(it.data, "two\0bin", 7) == 0);
	/* a new put after reopen gets a later sequence than what is there */
	T_CHECK(spool_put(sp, "n=3", "3", 1, NULL) == 0);
	T_CHECK(spool_remove(sp, it.seq) == 0);
	spool_item_release(&it);
	T_CHECK(spool_oldest(sp, &it) == 0 && strcmp(it.meta, "n=3") == 0);
	spool_item_release(&it);
	spool_free(sp);
}

T_TEST(bound_drops_oldest)
{
	fresh_dir();
	struct spool *sp = spool_open(dir, 100);   /* each item below is 4 + 1 + 36 = 41 bytes */
	struct spool_item it;
	char body[36], meta[8];
	size_t dropped = 99;
	T_REQUIRE(sp != NULL);
	memset(body, 'b', sizeof(body));
	for (int i = 0; i < 5; i++) {
		snprintf(meta, sizeof(meta), "m=%d", i);
		T_CHECK(spool_put(sp, meta, body, sizeof(body), &dropped) == 0);
		T_CHECKF(dropped == (i >= 2 ? 1u : 0u), "put %d dropped %zu", i, dropped);
	}
	T_CHECK(spool_count(sp) == 2);
	T_CHECK(spool_bytes(sp) <= 100);
	T_CHECK(spool_oldest(sp, &it) == 0 && strcmp(it.meta, "m=3") == 0);
	spool_item_release(&it);
	char big[200] = {0};
	T_CHECK(spool_put(sp, "x", big, sizeof(big), NULL) == -EFBIG);
	T_CHECK(spool_put(sp, "bad\nmeta", "x", 1, NULL) == -EINVAL);
	T_CHECK(spool_count(sp) == 2);
	spool_free(sp);
}

T_TEST(malformed_and_partial_files)
{
	fresh_dir();
	char path[128];
	FILE *f;
	snprintf(path, sizeof(path), "%s/00000000000000000001.spool", dir);
	f = fopen(path, "w");
	if (f) { fputs("no newline here", f); fclose(f); }
	snprintf(path, sizeof(path), "%s/00000000000000000002.spool", dir);
	f = fopen(path, "w");
	if (f) { fputs("meta=2\nbody", f); fclose(f); }
	snprintf(path, sizeof(path), "%s/00000000000000000003.spool.tmp", dir);
	f = fopen(path, "w");
	if (f) { fputs("half", f); fclose(f); }
	snprintf(path, sizeof(path), "%s/.00000000000000000004.spool.4242.0.tmp", dir);
	f = fopen(path, "w");
	if (f) { fputs("half", f); fclose(f); }
	snprintf(path, sizeof(path), "%s/unrelated.txt", dir);
	f = fopen(path, "w");
	if (f) { fputs("x", f); fclose(f); }

	struct spool *sp = spool_open(dir, 1 << 20);
	struct spool_item it;
	T_REQUIRE(sp != NULL);
	T_CHECK(spool_count(sp) == 2);
	snprintf(path, sizeof(path), "%s/00000000000000000003.spool.tmp", dir);
	T_CHECK(access(path, F_OK) != 0);           /* unfinished write removed */
	snprintf(path, sizeof(path), "%s/.00000000000000000004.spool.4242.0.tmp", dir);
	T_CHECK(access(path, F_OK) != 0);           /* and one of the atomic writer's */
	T_CHECK(spool_oldest(sp, &it) == 0);         /* the malformed first one is skipped */
	T_CHECK(it.seq == 2 && strcmp(it.meta, "meta=2") == 0 && it.len == 4);
	spool_item_release(&it);
	T_CHECK(spool_count(sp) == 1);
	T_CHECK(spool_put(sp, "m", "x", 1, NULL) == 0);
	T_CHECK(spool_oldest(sp, &it) == 0 && it.seq == 2);
	spool_item_release(&it);
	spool_free(sp);
}

/* Item files are read with a bound (the spool's own) and never through a link: a file planted
 * in the spool directory cannot make the uploader read without end or read another file. */
T_TEST(oversized_or_linked_items_are_dropped_unread)
{
	char path[128], big[2048];
	struct spool_item it;
	struct spool *sp;
	FILE *f;

	fresh_dir();
	memset(big, 'x', sizeof(big));
	big[10] = '\n';
	snprintf(path, sizeof(path), "%s/00000000000000000001.spool", dir);
	f = fopen(path, "w");
	T_REQUIRE(f != NULL);
	fwrite(big, 1, sizeof(big), f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/00000000000000000002.spool", dir);
	T_REQUIRE(symlink("/etc/hostname", path) == 0);
	sp = spool_open(dir, 1024);
	T_REQUIRE(sp != NULL);
	T_CHECK(spool_oldest(sp, &it) == -ENOENT);
	T_CHECK(spool_count(sp) == 0);
	T_CHECK(access(path, F_OK) != 0 && access("/etc/hostname", F_OK) == 0);
	spool_free(sp);
}

int main(void)
{
	T_RUN(fifo_and_reopen);
	T_RUN(bound_drops_oldest);
	T_RUN(malformed_and_partial_files);
	T_RUN(oversized_or_linked_items_are_dropped_unread);
	fixture_rmtree(dir);
	return t_done();
}
