// SPDX-License-Identifier: GPL-2.0
/* KTAP v1 with a nested subtest block. */
#include <stdio.h>

int main(void)
{
	printf("KTAP version 1\n1..2\n");
	printf("    KTAP version 1\n");
	printf("    # Subtest: memslots\n");
	printf("    1..2\n");
	printf("    ok 1 memslots.add\n");
	printf("    # removing slot 0\n");
	printf("    ok 2 memslots.remove # SKIP slot 0 busy\n");
	printf("ok 1 memslots\n");
	printf("ok 2 plain\n");
	return 0;
}
