// SPDX-License-Identifier: GPL-2.0
/* Smallest useful KTAP test: one pass, one skip, facts as diagnostics. */
#include <stdio.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(void)
{
	struct utsname u;

	uname(&u);
	printf("KTAP version 1\n1..2\n");
	printf("# release %s\n", u.release);
	printf("# page size %ld\n", sysconf(_SC_PAGESIZE));
	printf("ok 1 hello_world\n");
	printf("ok 2 needs_feature_x # SKIP feature x is not present\n");
	return 0;
}
